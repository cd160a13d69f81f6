"""Numeric growth classes: the fit recognises known functions, and confirms symbolic claims."""

from __future__ import annotations

import math

import pytest
from aalp.explainer.growth import classify, confirm, ladder, slope, theta


@pytest.mark.parametrize(
    ("fn", "cls"),
    [
        (lambda n: 7 * n + 100, "n"),
        (lambda n: 3 * n * math.log(n) + n, "n log n"),
        (lambda n: 0.5 * n * n + 40 * n, "n^2"),
        (lambda n: 5 * math.log(n) + 1, "log n"),
        (lambda n: 2 * n**3, "n^3"),
    ],
)
def test_classify_known_functions(fn, cls):
    sizes = ladder(2**20)
    g = classify(sizes, [fn(n) for n in sizes], "s", "cost")
    assert g.cls == cls and g.confirmed


def test_ladder_spans_orders_of_magnitude_and_slope_is_exact_on_powers():
    sizes = ladder(2**20)
    assert sizes[0] <= 2**10 and sizes[-1] >= 2**31
    assert slope(sizes, [n**2.5 for n in sizes]) == pytest.approx(2.5)


def test_confirm_against_a_claim():
    sizes = ladder(10**6)
    values = [n * math.log(n) for n in sizes]
    g = classify(sizes, values, "s", "cost")
    assert confirm(g, "Θ(s·log s)").confirmed
    assert not confirm(g, "Θ(s^2)").confirmed
    assert theta("n log n", "s") == "Θ(s·log s)"

"""Closed forms agree with evaluate() at several points; growth classes match the papers."""

from __future__ import annotations

import pytest
import sympy
from aalp.model import reliability as rel
from aalp.model.cost import evaluate
from aalp.model.symbolic import closed_form, growth_class, k_min_expr, numeric_growth, value_at
from test_cost_fixtures import debugging, evolution, hanoi, routing, sorting

METRICS = ("calls", "cost", "tokens", "dollars", "latency", "success")


def S(name: str) -> sympy.Symbol:
    return sympy.Symbol(name, positive=True, integer=True)


def check_points(make, decisions, points, symbols=None, metrics=METRICS):
    forms = {m: closed_form(make(**points[0]), None, decisions, m, symbols) for m in metrics}
    for point in points:
        ev = evaluate(make(**point), None, decisions)
        for m in metrics:
            values = dict(point)
            if "disks" in point:
                values = {"s": 2 ** point["disks"] - 1}
            if "n" in point:
                values = {"items": point["n"]}
            got = value_at(forms[m], values)
            assert got == pytest.approx(ev.value(m), rel=1e-9), (m, point)


def test_hanoi_closed_form_in_s():
    d = {"move.x": 1, "move.vote": "ahead_by", "move.votes": 3}
    check_points(hanoi, d, [{"disks": 4}, {"disks": 9}, {"disks": 13}])
    d2 = {"move.x": 2, "move.vote": "majority", "move.votes": 5}
    check_points(hanoi, d2, [{"disks": 4}, {"disks": 9}, {"disks": 13}])


def test_hanoi_grows_as_s_log_s_with_votes_at_k_min():
    d = {"move.x": 1, "move.vote": "ahead_by", "move.votes": 3}
    cost = closed_form(hanoi(10), None, d, asymptotic=True)
    assert growth_class(cost, S("s")) == "Θ(s·log s)"
    # with k fixed the cost is linear, and the single agent (x = s) is quadratic
    assert growth_class(closed_form(hanoi(10), None, d), S("s")) == "Θ(s)"
    single = closed_form(hanoi(10), None, {"move.x": "s", "move.vote": "none"})
    assert growth_class(single, S("s")) == "Θ(s^2)"


def test_debugging_closed_form_and_growth():
    points = [{"b": 2, "k": 3, "l": 10}, {"b": 5, "k": 7, "l": 40}, {"b": 9, "k": 4, "l": 25}]
    check_points(debugging, {}, points, symbols=["b", "k", "l"])
    full = closed_form(debugging(), None, {}, symbols=["b", "k", "l"])
    assert growth_class(full, [S("b"), S("k"), S("l")]) == "Θ(b^2·k^2·l^2)"
    stateless = closed_form(debugging(history="stateless"), None, {}, symbols=["b", "k", "l"])
    assert growth_class(stateless, [S("b"), S("k"), S("l")]) == "Θ(b·k^2·l^2)"


def test_reduce_tree_closed_form_and_growth():
    d = {"sort.x": 7, "sort.vote": "majority", "sort.votes": 3, "merge.retries": 2}
    points = [{"n": 100}, {"n": 1000}, {"n": 4321}]
    check_points(lambda n: sorting(n, 4), d, points, metrics=("cost", "success"))
    cost = closed_form(sorting(100, 4), None, d, asymptotic=True)
    # the root merges all n items: reads and writes Θ(n) tokens, so Θ(n^2)
    assert growth_class(cost, S("items")) == "Θ(items^2)"


def test_routing_generalist_grows_with_k_and_the_router_does_not():
    big = closed_form(
        routing(), None, {"solve.model": "big", "solve.vote": "none"}, symbols=["k", "n"]
    )
    small = {"solve.model": "small", "solve.vote": "none", "classify.vote": "none"}
    small_cost = closed_form(routing(), None, small, symbols=["k", "n"])
    assert growth_class(big, [S("k")]) == "Θ(k)"
    assert growth_class(small_cost, [S("k")]) == "Θ(1)"
    for k in (3, 8):
        assert value_at(big, {"k": k, "n": 2000}) == pytest.approx(
            evaluate(routing(k=k), None, {"solve.model": "big", "solve.vote": "none"}).metrics.cost
        )


def test_evolution_global_mutation_is_exponential():
    d = {"mutate.retries": "inf"}
    glob = closed_form(evolution(), None, d, symbols=["k", "l"])
    local = closed_form(evolution(local=True), None, d, symbols=["k", "l"])
    assert growth_class(glob, [S("k")]) == "Θ(2^k·k^2)"
    assert growth_class(local, [S("k")]) == "Θ(k)"
    for k in (3, 6):
        assert value_at(glob, {"k": k, "l": 30}) == pytest.approx(
            evaluate(evolution(k), None, d).metrics.cost
        )


def test_k_min_expression_matches_the_float_function():
    for s in (10, 1000, 2**20 - 1):
        expr = k_min_expr(
            sympy.Rational(998, 1000), sympy.Rational(2, 1000), s, sympy.Rational(95, 100)
        )
        assert int(expr) == rel.k_min(0.998, s, 1, 0.95)


def test_growth_class_forms():
    s, k = S("s"), S("k")
    assert growth_class(3 * s * sympy.log(2 * s) + 7 * s, s) == "Θ(s·log s)"
    assert growth_class(5 * 2**k * k**2 + k**3, k) == "Θ(2^k·k^2)"
    assert growth_class(sympy.ceiling(s / 3) + 4, s) == "Θ(s)"
    assert numeric_growth(s**2 * sympy.log(s) + s, s) == "Θ(s^2·log s)"

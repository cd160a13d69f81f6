"""The known result on chunk size (Chen et al., arXiv 2407.14788), with samples/long_context.aalp.

A map over n records of t tokens, each call reading a prompt of p tokens and x records and
writing w tokens, under quadratic attention costs (model.md §1)

    total(x) = ceil(n/x) · m · (A + t·x)·(A + t·x − 1)/2,   A = p + w.

Dropping the ceiling, with y = t·x: total = n·t·m/2 · (y + (2A − 1) + A·(A − 1)/y), smallest at
y* = sqrt(A·(A − 1)) (≈ A − 1/2). For the pure quadratic term (n/x)·(p + t·x)², y* = p. The
optimizer's x must equal the best x found by trying every x, and be within one record of y*/t.
The ceiling makes the discrete optimum follow the divisors of n (a chunk count rounded up costs
a whole call), so the sizes tried are n = 360360 = 2³·3²·5·7·11·13, which most chunk sizes near
the optimum divide, and the sample's n = 4000.
Under linear attention the same map is cheapest with the largest chunk the context allows.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from aalp.checks.loader import load, load_text
from aalp.model.cost import evaluate
from aalp.optimizer.driver import optimize

SAMPLE = Path(__file__).parent.parent / "samples" / "long_context.aalp"


def total(n: int, p: int, t: int, w: int, x: int) -> float:
    """The map's cost written out: ceil(n/x) calls of m = 1 reading p + t·x, writing w."""
    a = p + w
    return -(-n // x) * (a + t * x) * (a + t * x - 1) / 2


def chosen_x(overrides: dict[str, object]) -> int:
    checked = load(SAMPLE, overrides)
    result = optimize(checked, frontier=False, baselines=False)
    assert result.feasible
    return int(result.plan.decisions["count.x"])


def test_the_sample_finds_the_chunk_set_by_the_prompt():
    checked = load(SAMPLE, {})
    result = optimize(checked, frontier=False, baselines=False)
    x = int(result.plan.decisions["count.x"])
    n, p, t, w = 4000, 400, 20, 10
    y_star = math.sqrt((p + w) * (p + w - 1))
    assert y_star == pytest.approx(409.4997, abs=1e-4)
    assert x == 20 and abs(x * t - y_star) <= t
    assert abs(x * t - p) <= t  # the pure quadratic term's optimum, x·t = p
    assert result.plan.value("cost") == total(n, p, t, w, x) == 65_529_000
    one_call = evaluate(checked, None, {"count.x": n}).metrics.cost
    assert one_call == total(n, p, t, w, n) == 3_232_843_845
    assert one_call / result.plan.value("cost") == pytest.approx(49.334, abs=1e-3)


@pytest.mark.parametrize(
    ("n", "p", "t", "w"),
    [(4000, 400, 20, 10), (360360, 1000, 7, 3), (360360, 250, 40, 20), (360360, 3000, 50, 1)],
)
def test_the_optimizer_is_within_one_record_of_the_analytic_optimum(n, p, t, w):
    x = chosen_x({"n": n, "prompt": p, "per_record": t, "answer": w})
    y_star = math.sqrt((p + w) * (p + w - 1))
    best = min(range(1, 5001), key=lambda k: (total(n, p, t, w, k), k))
    assert total(n, p, t, w, x) == total(n, p, t, w, best)
    assert abs(x - y_star / t) <= 1, (x, y_star / t)


def test_under_linear_attention_the_largest_chunk_wins():
    text = SAMPLE.read_text(encoding="utf-8").replace("attention quadratic", "attention linear")
    checked = load_text(text, "long_context.aalp", prompt_dir=SAMPLE.parent)
    result = optimize(checked, frontier=False, baselines=False)
    assert int(result.plan.decisions["count.x"]) == 4000

"""The Monte Carlo simulator agrees with the closed-form cost model on every kind of plan
(fixed seeds; 5σ tolerances from the binomial and the empirical standard errors)."""

from __future__ import annotations

import math

import pytest
from aalp.model.cost import evaluate
from aalp.model.montecarlo import SimulationError, simulate, wilson
from test_cost_fixtures import debugging, hanoi, routing, sorting, verified

PLANS = {
    "hanoi voted, red flags": (
        lambda: hanoi(8, keep="0.9"),
        {"move.x": 1, "move.vote": "ahead_by", "move.votes": 2},
    ),
    "hanoi two steps per call": (
        lambda: hanoi(8),
        {"move.x": 2, "move.vote": "ahead_by", "move.votes": 3},
    ),
    "debugging, history full": (lambda: debugging(6, 5, 40, "full"), {}),
    "sort + merge tree, majority and retry": (
        lambda: sorting(100, 4),
        {"sort.x": 7, "sort.vote": "majority", "sort.votes": 3, "merge.retries": 2},
    ),
    "overlapping windows, workers": (
        lambda: sorting(100, None, 0.5, 3),
        {"sort.x": 10, "sort.vote": "none", "merge.vote": "none", "merge.fanin": 3},
    ),
    "routed specialist": (
        lambda: routing(),
        {
            "solve.model": "small",
            "solve.vote": "majority",
            "solve.votes": 3,
            "classify.vote": "majority",
            "classify.votes": 3,
        },
    ),
    "retry until an LLM judge": (lambda: verified(), {"gen.retries": 3}),
    "unbounded exact retry, mixture": (
        lambda: verified("exact", [("0.5", "0.9"), ("0.5", "0.2")]),
        {"gen.retries": "inf"},
    ),
}


def binomial_plausible(k: int, n: int, p: float, alpha: float = 1e-7) -> bool:
    """k successes in n trials is not in either exact tail of Bin(n, p) beyond alpha."""

    def pmf(i: int) -> float:
        if p in (0.0, 1.0):
            return float(i == n * p)
        lg = math.lgamma
        return math.exp(
            lg(n + 1) - lg(i + 1) - lg(n - i + 1) + i * math.log(p) + (n - i) * math.log1p(-p)
        )

    below = math.fsum(pmf(i) for i in range(0, k + 1))
    above = math.fsum(pmf(i) for i in range(k, n + 1))
    return below > alpha and above > alpha


def agree(sim, ev, metrics=("calls", "cost", "tokens", "dollars", "latency", "latency_calls")):
    assert binomial_plausible(sim.successes, sim.runs, ev.success), (sim.success, ev.success)
    for name in metrics:
        d, expect = sim.metrics[name], getattr(ev.metrics, name)
        if d.std == 0:
            assert d.mean == pytest.approx(expect, rel=1e-9), name
        else:
            tolerance = 5 * d.stderr + 1e-9 * abs(expect)  # the second term: float summation
            assert abs(d.mean - expect) <= tolerance, (name, d.mean, expect, d.stderr)


@pytest.mark.parametrize("name", sorted(PLANS))
def test_simulation_agrees_with_the_cost_model(name):
    make, decisions = PLANS[name]
    c = make()
    ev = evaluate(c, None, decisions)
    assert ev.feasible, ev.problems
    agree(simulate(c, None, decisions, runs=3000, seed=17), ev)


def random_plans(count: int, seed: int):
    """Small random plans over the fixtures: random probabilities, red flags and boosters."""
    import random

    rng = random.Random(seed)
    for _ in range(count):
        kind = rng.choice(["chain", "verified", "tree"])
        if kind == "chain":
            p = rng.uniform(0.6, 0.999)
            keep = rng.choice([None, "0.8", "0.95"])
            c = hanoi(rng.randint(2, 6), p=f"{p:.4f}^x", keep=keep)
            vote = rng.choice(["none", "ahead_by"])
            d = {"move.x": rng.randint(1, 3), "move.vote": vote}
            if vote == "ahead_by":  # one step per call, so the right answer is the likeliest
                d.update({"move.x": 1, "move.votes": rng.randint(1, 5)})
        elif kind == "verified":
            w = rng.uniform(0.1, 0.9)
            mix = [(f"{w:.3f}", f"{rng.uniform(0.2, 0.95):.3f}"), (f"{1 - w:.3f}", "0.5")]
            c = verified(rng.choice(["exact", "judge"]), mix)
            d = {"gen.retries": rng.choice([1, 2, 5, "inf"])}
        else:
            c = sorting(rng.randint(10, 200), rng.randint(2, 5))
            d = {"sort.x": rng.randint(1, 20), "sort.vote": "majority", "sort.votes": 3}
            d["merge.retries"] = rng.randint(1, 4)
        yield c, d


def test_random_plans_agree():
    for i, (c, d) in enumerate(random_plans(24, seed=99)):
        ev = evaluate(c, None, d)
        assert ev.feasible, ev.problems
        agree(simulate(c, None, d, runs=1500, seed=i), ev)


def test_same_seed_same_result_and_different_seed_differs():
    make, d = PLANS["hanoi voted, red flags"]
    a = simulate(make(), None, d, runs=200, seed=3)
    b = simulate(make(), None, d, runs=200, seed=3)
    c = simulate(make(), None, d, runs=200, seed=4)
    assert a == b and a.metrics["calls"].mean != c.metrics["calls"].mean


def test_long_chain_in_blocks():
    # 2^17 − 1 steps per run, more than one block of decisions
    c = hanoi(17)
    d = {"move.x": 1, "move.vote": "ahead_by", "move.votes": 3}
    ev = evaluate(c, None, d)
    agree(simulate(c, None, d, runs=40, seed=1), ev, metrics=("calls", "cost", "latency"))


def test_wilson_interval_hand_value():
    lo, hi = wilson(80, 100)
    assert lo == pytest.approx(0.7111708, abs=1e-6) and hi == pytest.approx(0.8666331, abs=1e-6)
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == 1.0


def test_refuses_astronomical_simulations_clearly():
    c = hanoi(64)
    with pytest.raises(SimulationError, match="more than the limit"):
        simulate(c, None, {"move.x": 1, "move.vote": "none"}, runs=10)

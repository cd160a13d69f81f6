"""On every sample, the Monte Carlo simulation of the optimizer's plan agrees with the cost
model's predicted success and expected calls, cost and latency (fixed seed; exact binomial
tails for success, 5 standard errors for the means)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from aalp.model.cost import evaluate
from aalp.model.montecarlo import simulate
from test_simulate import agree

SAMPLES = sorted((Path(__file__).parent.parent / "samples").glob("*.aalp"))


@pytest.mark.parametrize("path", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_simulate_agrees_with_the_prediction_on_each_sample(path):
    from aalp.checks.loader import load
    from aalp.optimizer.driver import optimize

    checked = load(path, {})
    result = optimize(checked, frontier=False, baselines=False)
    assert result.plan is not None, result.why
    decisions = dict(result.plan.decisions)
    ev = evaluate(checked, None, decisions)
    # the optimizer reports the cost model's own numbers
    assert ev.success == pytest.approx(result.plan.success, rel=1e-12)
    decisions_per_run = sum(s.chunks for s in ev.stages) or 1
    runs = max(200, min(4000, 2_000_000 // decisions_per_run))
    sim = simulate(checked, None, decisions, runs=runs, seed=20261124)
    agree(sim, ev)
    assert math.isfinite(sim.metrics["cost"].mean)

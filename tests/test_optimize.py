"""The optimizer on hand-made specs: optimality against brute force, infeasibility explanations,
pins, objectives, determinism and astronomically large sizes."""

from __future__ import annotations

import math

import pytest
from aalp.checks.loader import load_text
from aalp.diagnostics import SpecError
from aalp.model import reliability as rel
from aalp.optimizer.driver import optimize
from oracles.exhaustive import search

CHAIN = """\
param s = 1000
param p = 0.99
model small {{ size 1 context 100k price in 1 out 2 per Mtok can step }}
model big {{ size 4 context 100k price in 4 out 8 per Mtok can step }}
task walk {{
  steps n = s
  op step(x of n) on small, big {{
    reads 100 + 10*x tokens
    writes 20*x tokens
    success p^x
    success on big 0.999^x
  }}
  chain step over n
  allow vote ahead_by max {kmax}
  require success >= {target}
  minimize cost
  baseline plain {{ step.x = 1  step.vote = none  step.model = small }}
}}
"""


def chain(kmax=20, target=0.9, **defines):
    return load_text(CHAIN.format(kmax=kmax, target=target), "walk.aalp", defines)


def test_chain_optimum_equals_brute_force():
    checked = chain(s="40")
    r = optimize(checked)
    brute = search(checked)
    assert r.feasible and brute.feasible
    assert r.plan.metrics["cost"] == pytest.approx(brute.value, rel=1e-12)


def test_chain_at_2_to_64_steps_uses_maker_k():
    checked = chain(kmax=50, s="2^64 - 1", p="0.999")
    r = optimize(checked, frontier=False, baselines=False)
    d = r.plan.decisions
    assert r.feasible and d["step.x"] == 1 and d["step.vote"] == "ahead_by"
    # both models are right w.p. 0.999 per step: the cheaper one, with MAKER's k_min
    assert d["step.model"] == "small"
    assert d["step.votes"] == rel.k_min(0.999, 2**64 - 1, 1, 0.9)
    assert r.plan.success >= 0.9


def test_voting_cannot_help_below_one_half():
    text = CHAIN.format(kmax=20, target=0.9).replace("success on big 0.999^x", "")
    checked = load_text(text, "walk.aalp", {"s": "100", "p": "0.48"})
    r = optimize(checked)
    assert not r.feasible
    assert any("voting cannot help 'step'" in w and "0.48" in w for w in r.why)
    assert r.plan is not None and r.plan.success < 0.9


def test_vote_limit_too_small_is_explained_with_the_needed_k():
    text = CHAIN.format(kmax=2, target=0.999999).replace("success on big 0.999^x", "")
    checked = load_text(text, "walk.aalp", {"s": "2^40", "p": "0.9"})
    r = optimize(checked, frontier=False)
    assert not r.feasible
    need = rel.k_min(0.9, 2**40, 1, 0.999999)
    assert any(f"needs k = {need} > max 2" in w for w in r.why)
    assert r.plan.decisions["step.votes"] == 2  # the most reliable plan uses every vote allowed


def test_pins_are_honoured_and_validated():
    checked = chain(s="50")
    r = optimize(checked, extra_pins=["step.x=2", "step.model=big"])
    assert r.plan.decisions["step.x"] == 2 and r.plan.decisions["step.model"] == "big"
    brute = search(checked, pins={"step.x": 2, "step.model": "big"})
    assert r.plan.metrics["cost"] == pytest.approx(brute.value, rel=1e-12)
    with pytest.raises(SpecError, match="no op named 'stpe'"):
        optimize(checked, extra_pins=["stpe.x=2"])
    with pytest.raises(SpecError, match="unknown objective"):
        optimize(checked, objective="speed")


@pytest.mark.parametrize("metric", ["dollars", "calls", "latency", "tokens", "success"])
def test_every_objective_equals_brute_force(metric):
    checked = chain(kmax=4, s="12")
    sense = "maximize" if metric == "success" else "minimize"
    r = optimize(checked, objective=metric, frontier=False, baselines=False)
    brute = search(checked, objective=(sense, metric))
    assert r.feasible == brute.feasible
    assert r.plan.value(metric) == pytest.approx(brute.value, rel=1e-9)


def test_baseline_ratio_and_frontier():
    checked = chain(s="200")
    r = optimize(checked)
    (b,) = r.baselines
    assert b.plan.decisions["step.vote"] == "none"
    assert b.ratio == pytest.approx(b.plan.metrics["cost"] / r.plan.metrics["cost"])
    # the frontier is Pareto: cost rises while success rises
    costs = [p.metrics["cost"] for p in r.frontier_success]
    succ = [p.success for p in r.frontier_success]
    assert costs == sorted(costs) and succ == sorted(succ)
    assert any(p.decisions == dict(r.plan.decisions) for p in r.frontier_success)


def test_deterministic():
    a = optimize(chain(s="300"))
    b = optimize(chain(s="300"))
    assert a.plan.decisions == b.plan.decisions
    assert [p.decisions for p in a.frontier_success] == [p.decisions for p in b.frontier_success]


def test_huge_sizes_take_no_longer_than_small_ones_in_evaluations():
    small = optimize(chain(s="1000"), frontier=False, baselines=False)
    huge = optimize(chain(s="2^64 - 1"), frontier=False, baselines=False)
    # reasoning over candidates, not units: the work does not grow with s
    assert huge.evaluations < 3 * small.evaluations
    assert math.isfinite(huge.plan.metrics["cost"])


def test_a_target_of_one_is_not_met_by_a_success_that_rounds_to_one():
    # With 20 votes on the big model the failure is about 1000·(0.001/0.999)^20 ≈ 1e-57: the
    # float success is 1.0, but the plan does not meet "success >= 1". The most reliable plan
    # uses every vote allowed (no cut-off at 1 − 1e-15), and the report says how far it is.
    r = optimize(chain(kmax=20, target=1), frontier=False, baselines=False)
    assert not r.feasible
    best = r.plan
    assert best.decisions["step.votes"] == 20 and best.decisions["step.model"] == "big"
    expected = 1000 * math.log1p(-rel.ahead_by_failure(0.999, 0.001, 20))
    assert best.evaluation.log_success == pytest.approx(expected, rel=1e-9)
    assert any("the best achievable success is 1 − " in w for w in r.why), r.why

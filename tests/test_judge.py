"""Best of n picked by a judge (``allow vote judge J``): the formula against exact enumeration
and an independent Monte Carlo, its interval bounds against point values, the optimizer against
exhaustive enumeration, the plan's simulation against its closed forms, and the checks."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest
from aalp.checks.loader import load_text
from aalp.diagnostics import SpecError
from aalp.front.parser import parse
from aalp.front.printer import format_spec
from aalp.model import cost, montecarlo
from aalp.model.judge import judge, judge_outcome
from aalp.optimizer.bounds_judge import judge as judge_bounds
from aalp.optimizer.driver import optimize
from aalp.optimizer.interval import Interval
from oracles.exhaustive import search

SPEC = """
model small {{ size 1  context 16k  price in 0.5 out 1.5 per Mtok  can write, pick }}
model big {{ size 8  context 16k  price in 5 out 15 per Mtok  can write, pick }}
task summaries {{
  items docs = {docs} of 200 tokens
  op write on small, big {{
    reads 250 tokens  writes 40 tokens
    success on small {a_small}
    success on big {a_big}
    success {a_small}
    answer text
  }}
  op pick on small, big {{
    reads 300 tokens  writes 2 tokens
    success on small {c_small}
    success on big {c_big}
    success {c_small}
    answer number
  }}
  map write over docs
  allow vote judge pick max {nmax} on write
  {goal}
}}
"""


def spec(docs=8, a_small=0.55, a_big=0.8, c_small=0.7, c_big=0.95, nmax=6, goal=""):
    goal = goal or "require accuracy of docs >= 0.9\n  minimize cost"
    text = SPEC.format(
        docs=docs,
        a_small=a_small,
        a_big=a_big,
        c_small=c_small,
        c_big=c_big,
        nmax=nmax,
        goal=goal,
    )
    return load_text(text, "summaries.aalp")


def exact_judge(a: Fraction, c: Fraction, n: int) -> Fraction:
    """Σ_G P[Bin(n, a) = G]·P(the judge's pick is right | G), in rationals: none right fails,
    all right wins, otherwise the judge is right with c."""
    total = Fraction(0)
    for g in range(n + 1):
        weight = math.comb(n, g) * a**g * (1 - a) ** (n - g)
        total += weight * (0 if g == 0 else 1 if g == n else c)
    return total


@pytest.mark.parametrize("n", [1, 2, 3, 5, 9, 40])
@pytest.mark.parametrize(("a", "c"), [("0.6", "0.9"), ("0.3", "0.75"), ("0.95", "0.5")])
def test_success_equals_exact_enumeration(a, c, n):
    fa, fc = Fraction(a), Fraction(c)
    success, failure = judge_outcome(float(fa), float(fc), n)
    truth = exact_judge(fa, fc, n)
    assert success == pytest.approx(float(truth), rel=1e-12)
    assert failure == pytest.approx(float(1 - truth), rel=1e-12, abs=1e-300)


def test_success_against_sample_by_sample_simulation():
    rng = random.Random(7)
    a, c, n, runs = 0.45, 0.8, 4, 60_000
    wins = 0
    for _ in range(runs):
        right = [rng.random() < a for _ in range(n)]
        if all(right):
            wins += 1
        elif any(right):
            wins += rng.random() < c
    expected = judge_outcome(a, c, n)[0]
    stderr = math.sqrt(expected * (1 - expected) / runs)
    assert abs(wins / runs - expected) <= 5 * stderr


def test_hand_value_and_no_judge_for_one_sample():
    # a = 0.6, c = 0.9, n = 3: 0.6^3 + 0.9·(1 − 0.6^3 − 0.4^3) = 0.216 + 0.9·0.72
    assert judge_outcome(0.6, 0.9, 3)[0] == pytest.approx(0.864, rel=1e-14)
    assert judge_outcome(0.6, 0.2, 1) == (0.6, pytest.approx(0.4))
    boosted = judge(0.6, 0.9, 3, v=0.5)
    assert boosted.samples == pytest.approx(6.0)


def test_the_best_n_is_finite_when_a_sample_is_right_more_often_than_not():
    # all n right beats the judge's pick: a^n falls with n, so success peaks, then falls to c
    values = [judge_outcome(0.9, 0.6, n)[0] for n in range(1, 12)]
    best = max(range(len(values)), key=values.__getitem__)
    assert 0 < best < len(values) - 1
    assert judge_outcome(0.9, 0.6, 400)[0] == pytest.approx(0.6, rel=1e-9)


def test_bounds_enclose_every_point_of_the_box():
    rng = random.Random(3)
    for _ in range(300):
        a_lo, a_hi = sorted(rng.random() for _ in range(2))
        c_lo, c_hi = sorted(rng.random() for _ in range(2))
        v_lo, v_hi = sorted(rng.uniform(0.2, 1.0) for _ in range(2))
        n_lo = rng.randint(1, 6)
        n_hi = n_lo + rng.randint(0, 6)
        bound = judge_bounds(
            Interval(a_lo, a_hi), Interval(c_lo, c_hi), Interval(v_lo, v_hi), (n_lo, n_hi)
        )
        for _ in range(10):
            a, c = rng.uniform(a_lo, a_hi), rng.uniform(c_lo, c_hi)
            v, n = rng.uniform(v_lo, v_hi), rng.randint(n_lo, n_hi)
            point = judge(a, c, n, v)
            assert point.success <= bound.success.hi * (1 + 1e-12) + 1e-15
            assert point.failure >= bound.failure.lo * (1 - 1e-12) - 1e-15
            assert bound.samples.lo <= point.samples * (1 + 1e-12)
            assert bound.rounds.lo <= point.rounds * (1 + 1e-12)


@pytest.mark.parametrize(
    "goal",
    [
        "require accuracy of docs >= 0.9\n  minimize cost",
        "require success >= 0.5\n  minimize dollars",
        "maximize success",
        "require accuracy of docs >= 0.8\n  minimize latency",
    ],
)
def test_optimum_equals_exhaustive_enumeration(goal):
    checked = spec(goal=goal)
    r = optimize(checked, frontier=False, baselines=False)
    brute = search(checked)
    assert r.feasible == brute.feasible
    metric = goal.split()[-1]
    assert r.plan.value(metric) == pytest.approx(brute.value, rel=1e-9)


def test_optimum_uses_the_judge_and_picks_models_for_both():
    checked = spec()
    d = optimize(checked, frontier=False, baselines=False).plan.decisions
    assert d["write.vote"] == "judge" and 2 <= d["write.votes"] <= 6
    assert d["pick.model"] in ("small", "big")


def test_closed_form_against_the_plans_simulation():
    checked = spec(docs=5)
    decisions = {
        "write.model": "small",
        "write.vote": "judge",
        "write.votes": 4,
        "pick.model": "big",
    }
    ev = cost.evaluate(checked, None, decisions)
    assert ev.feasible, ev.problems
    # per decision: 4 samples and one judge call reading its prompt and the 4 candidates
    write = 4 * (250 * 40 + 40 * 39 / 2)
    pick = 8 * ((300 + 4 * 40) * 2 + 1)
    assert ev.metrics.cost == pytest.approx(5 * (write + pick))
    assert ev.metrics.calls == pytest.approx(5 * 5)
    assert ev.metrics.latency == pytest.approx(40 + 2)
    assert ev.success == pytest.approx(judge_outcome(0.55, 0.95, 4)[0] ** 5, rel=1e-12)
    sim = montecarlo.simulate(checked, None, decisions, runs=20_000, seed=1)
    lo, hi = sim.wilson(4.0)
    assert lo <= ev.success <= hi
    assert sim.metrics["cost"].mean == pytest.approx(ev.metrics.cost)
    assert sim.metrics["latency"].mean == pytest.approx(ev.metrics.latency)


def test_format_round_trip():
    text = SPEC.format(
        docs=3, a_small=0.5, a_big=0.8, c_small=0.7, c_big=0.9, nmax=5, goal="maximize success"
    )
    spec_ir = parse(text, "s.aalp")
    printed = format_spec(spec_ir)
    assert "allow vote judge pick max 5 on write" in printed
    assert parse(printed, "s.aalp") == spec_ir


def _codes(text: str) -> list[str]:
    try:
        checked = load_text(text, "t.aalp")
    except SpecError as err:
        return [d.code for d in err.diagnostics]
    return [w.code for w in checked.diagnostics]


def test_a_judge_of_its_own_samples_or_of_text_is_refused():
    base = SPEC.format(
        docs=3, a_small=0.5, a_big=0.8, c_small=0.7, c_big=0.9, nmax=5, goal="maximize success"
    )
    assert "E312" in _codes(base.replace("on write\n", "on write, pick\n"))
    assert "E312" in _codes(base.replace("answer number", "answer text"))
    assert "E103" in _codes(base.replace("judge pick", "judge pik"))


def test_an_exact_match_vote_on_free_text_warns_and_names_the_judge():
    text = SPEC.format(
        docs=3, a_small=0.5, a_big=0.8, c_small=0.7, c_big=0.9, nmax=5, goal="maximize success"
    )
    text = text.replace("allow vote judge pick max 5 on write", "allow vote majority on write")
    checked = load_text(text, "t.aalp")
    (warning,) = [w for w in checked.diagnostics if w.code == "W410"]
    assert "allow vote judge" in warning.hint


def test_explain_graph_and_explorer_show_the_judge():
    import json

    from aalp.explainer.topology import build, to_dot, to_json, to_mermaid
    from aalp.explore.api import check_spec, optimize_spec

    text = SPEC.format(
        docs=3, a_small=0.5, a_big=0.8, c_small=0.7, c_big=0.9, nmax=5, goal="maximize success"
    )
    checked = load_text(text, "s.aalp")
    r = optimize(checked, frontier=False, baselines=False)
    roles = {row.op: row.role for st in r.plan.evaluation.stages for row in st.op_evals}
    assert roles == {"write": "op", "pick": "judge"}
    graph = build(checked, None, r.plan.evaluation)
    assert '"s0:pick:judge[0]"' in to_dot(graph) and "pick" in to_mermaid(graph)
    nodes = json.loads(to_json(graph))["nodes"]
    assert {n["role"] for n in nodes} == {"op", "judge"}
    assert check_spec(text, "s.aalp")["ok"]
    shown = optimize_spec(text, "s.aalp")
    assert shown["ok"], shown
    assert shown["plan"]["decisions"]["write.vote"] == "judge"
    assert "judge" in json.dumps(shown["tree"])


@pytest.mark.parametrize("n", [2, 3, 5])
def test_closed_form_equals_the_evaluation_at_every_size(n):
    from aalp.model.symbolic import closed_form, value_at

    decisions = {
        "write.model": "big",
        "write.vote": "judge",
        "write.votes": n,
        "pick.model": "small",
    }
    metrics = ("calls", "cost", "tokens", "dollars", "latency", "success")
    forms = {m: closed_form(spec(docs=4), None, decisions, m) for m in metrics}
    for docs in (4, 9, 30):
        ev = cost.evaluate(spec(docs=docs), None, decisions)
        for m in metrics:
            got = value_at(forms[m], {"docs": docs})
            assert got == pytest.approx(ev.value(m), rel=1e-9), (m, docs)

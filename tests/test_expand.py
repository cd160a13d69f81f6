"""Beam searches in the language (``expand OP by SCORE width b keep w depth d``): the cost
model's counts by hand, the optimizer against exhaustive enumeration, the plan's Monte Carlo
against its closed forms, the interval bounds against points, the checks, the formatter, the
sample and every target's refusal."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from aalp.api import compile as emit
from aalp.backends.base import write
from aalp.checks.loader import load, load_text
from aalp.diagnostics import AalpError, SpecError
from aalp.front.parser import parse
from aalp.front.printer import format_spec
from aalp.model import beam, cost, montecarlo
from aalp.model.symbolic import closed_form, value_at
from aalp.optimizer.bounds_judge import expand as expand_bounds
from aalp.optimizer.driver import optimize
from aalp.optimizer.interval import Interval
from aalp.sim import Faults, SimCore, SimServer
from aalp.sim.harness import make_input, run_program
from oracles.exhaustive import search

ROOT = Path(__file__).parent.parent
SAMPLE = ROOT / "samples" / "tree_of_thoughts.aalp"

SPEC = """
model small {{ size 1  context 16k  price in 0.5 out 1.5 per Mtok  can step, rate }}
model big {{ size 6  context 16k  price in 3 out 9 per Mtok  can step, rate }}
task puzzles {{
  items games = {games} of 100 tokens
  op step on small, big {{
    reads 300 tokens  writes 50 tokens
    success on big 0.75
    success 0.5
    answer text
  }}
  op rate on small, big {{
    reads 200 tokens  writes 2 tokens
    success on big 0.9
    success 0.7
    answer choice
  }}
  map step over games
  expand step by rate width {width} keep {keep} depth {depth}
  {goal}
}}
"""


def spec(games=6, width="choose", keep=2, depth=3, goal="maximize success"):
    text = SPEC.format(games=games, width=width, keep=keep, depth=depth, goal=goal)
    return load_text(text, "puzzles.aalp")


def test_counts_and_success_by_hand():
    checked = spec(width=3, keep=2, depth=3)
    d = {"step.model": "small", "step.votes": 3, "rate.model": "big"}
    ev = cost.evaluate(checked, None, d)
    assert ev.feasible, ev.problems
    calls = 3 + 6 + 6  # the root's 3 candidates, then 2 kept × 3 at each later level
    assert beam.calls(3, 2, 3) == calls
    assert ev.metrics.calls == pytest.approx(6 * 2 * calls)
    step = calls * (300 * 50 + 50 * 49 / 2)
    # the rater (on big, size 6) reads its prompt and the candidate
    rate = 6 * calls * ((200 + 50) * 2 + 1)
    assert ev.metrics.cost == pytest.approx(6 * step + 6 * rate)
    assert ev.metrics.latency == pytest.approx(3 * (50 + 2))  # a level's calls run at once
    assert ev.success == pytest.approx(beam.success(0.5, 0.9, 3, 2, 3) ** 6, rel=1e-12)


@pytest.mark.parametrize(
    "goal",
    [
        "maximize success",
        "require accuracy of games >= 0.6\n  minimize cost",
        "require accuracy of games >= 0.5\n  minimize dollars",
        "require success >= 0.01\n  minimize latency",
    ],
)
def test_optimum_equals_exhaustive_enumeration(goal):
    checked = spec(goal=goal)
    r = optimize(checked, frontier=False, baselines=False)
    brute = search(checked)
    assert r.feasible == brute.feasible
    if brute.feasible:
        metric = goal.split()[-1]
        assert r.plan.value(metric) == pytest.approx(brute.value, rel=1e-9)


def test_monte_carlo_agrees_with_the_closed_forms():
    checked = spec(games=3, width=3, keep=2, depth=3)
    d = {"step.model": "big", "step.votes": 3, "rate.model": "small"}
    ev = cost.evaluate(checked, None, d)
    sim = montecarlo.simulate(checked, None, d, runs=6000, seed=2)
    lo, hi = sim.wilson(4.0)
    assert lo <= ev.success <= hi
    for metric in ("calls", "cost", "dollars", "latency"):
        assert sim.metrics[metric].mean == pytest.approx(ev.value(metric), rel=1e-9), metric


def test_closed_form_equals_the_evaluation():
    d = {"step.model": "big", "step.votes": 4, "rate.model": "big"}
    forms = {m: closed_form(spec(), None, d, m) for m in ("calls", "cost", "latency", "success")}
    for games in (2, 6, 17):
        ev = cost.evaluate(spec(games=games), None, d)
        for m, form in forms.items():
            assert value_at(form, {"games": games}) == pytest.approx(ev.value(m), rel=1e-9)


def test_success_rises_with_step_and_scorer_and_the_bounds_hold():
    rng = random.Random(5)
    for _ in range(120):
        b, w, d = rng.randint(1, 4), rng.randint(1, 3), rng.randint(1, 3)
        a_lo, a_hi = sorted(rng.random() for _ in range(2))
        c_lo, c_hi = sorted(rng.random() for _ in range(2))
        assert beam.success(a_lo, c_lo, b, w, d) <= beam.success(a_hi, c_lo, b, w, d) + 1e-12
        assert beam.success(a_lo, c_lo, b, w, d) <= beam.success(a_lo, c_hi, b, w, d) + 1e-12
        hi_b = b + rng.randint(0, 2)
        bound = expand_bounds(
            Interval(a_lo, a_hi), Interval(c_lo, c_hi), Interval(1.0, 1.0), (b, hi_b), w, d
        )
        a, c, bb = rng.uniform(a_lo, a_hi), rng.uniform(c_lo, c_hi), rng.randint(b, hi_b)
        assert beam.success(a, c, bb, w, d) <= bound.success.hi + 1e-12
        assert bound.samples.lo <= beam.calls(bb, w, d) <= bound.samples.hi


def test_format_round_trip():
    text = SPEC.format(games=4, width="choose", keep=2, depth="1 + 2", goal="maximize success")
    tree = parse(text, "p.aalp")
    printed = format_spec(tree)
    assert "expand step by rate width choose keep 2 depth 1 + 2" in printed
    assert parse(printed, "p.aalp") == tree


def _codes(text: str) -> list[str]:
    try:
        checked = load_text(text, "p.aalp")
    except SpecError as err:
        return [d.code for d in err.diagnostics]
    return [d.code for d in checked.diagnostics]


def test_bad_beams_are_refused_with_their_code():
    def text(**kw):
        base = {"games": 4, "width": 3, "keep": 2, "depth": 3, "goal": "maximize success"}
        return SPEC.format(**{**base, **kw})

    assert "E313" in _codes(text(width=0))
    assert "E313" in _codes(text(depth="1.5"))
    assert "E313" in _codes(text(width=8, keep=5))  # 40 candidates a level
    assert "E313" in _codes(text().replace("expand step by rate", "expand step by step"))
    assert "E103" in _codes(text().replace("expand step by rate", "expand step by rater"))


def test_the_sample_finds_the_cheapest_width_meeting_its_bound():
    checked = load(SAMPLE)
    r = optimize(checked, frontier=False)
    d = r.plan.decisions
    assert d["propose.vote"] == "expand" and d["propose.votes"] == 4
    assert r.plan.value("accuracy") == pytest.approx(beam.success(0.55, 0.8, 4, 2, 3))
    greedy, widest = r.baselines
    assert greedy.plan.value("accuracy") == pytest.approx(0.55**3)
    # past b = 11 wider beams are less accurate: mislabelled candidates crowd the kept places
    assert beam.success(0.55, 0.8, 11, 2, 3) > beam.success(0.55, 0.8, 16, 2, 3)
    assert widest.plan.value("accuracy") == pytest.approx(beam.success(0.55, 0.8, 11, 2, 3))


@pytest.mark.parametrize(
    "target", ["ray", "langgraph", "dspy", "openai-agents", "autogen", "crewai"]
)
def test_other_targets_refuse_a_beam_search_by_name(target):
    with pytest.raises(AalpError) as err:
        emit(spec(width=2), target=target)
    assert err.value.code == "E604"
    assert f"target {target}" in str(err.value) and "beam search" in str(err.value)


def test_python_program_runs_the_search_with_the_predicted_calls_and_cost(tmp_path: Path):
    checked = spec(games=4, width=3, keep=2, depth=3)
    compiled = emit(checked, pins=("step.model=small", "rate.model=big"))
    write(compiled.files, str(tmp_path))
    server = SimServer(SimCore(checked, seed=6, faults=Faults())).start()
    try:
        run = run_program(
            tmp_path / compiled.files[0].path,
            server.url,
            tmp_path,
            make_input(checked),
            ["--fresh", "--backoff", "0.005"],
        )
        served = server.core.stats()["calls"]
    finally:
        server.stop()
    assert run.returncode == 0, run.stderr
    per_search = beam.calls(3, 2, 3)
    assert run.report["calls_by_op"] == {"step": 4 * per_search, "rate": 4 * per_search}
    assert run.report["calls"] == served == 8 * per_search
    prediction = compiled.view["prediction"]
    for metric in ("cost", "dollars", "tokens", "forward_passes"):
        assert run.report[metric] == pytest.approx(prediction[metric]), metric


def test_explain_graph_and_explorer_show_the_search():
    import json

    from aalp.explainer.topology import build, to_json
    from aalp.explore.api import optimize_spec

    text = SAMPLE.read_text(encoding="utf-8")
    shown = optimize_spec(text, "tree_of_thoughts.aalp")
    assert shown["ok"], shown
    assert shown["plan"]["decisions"]["propose.vote"] == "expand"
    assert "scorer" in json.dumps(shown["tree"])
    checked = load(SAMPLE)
    r = optimize(checked, frontier=False, baselines=False)
    nodes = json.loads(to_json(build(checked, None, r.plan.evaluation)))["nodes"]
    assert {n["op"]: n["role"] for n in nodes} == {"propose": "op", "rate": "scorer"}

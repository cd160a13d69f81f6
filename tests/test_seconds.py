"""Model speeds and seconds (docs/model.md §1, seconds; §3, workers): a call's seconds by hand,
the latency-optimal chunk of a retrieval-style map against its cost-optimal one, the
optimizer against every x, the closed form and the Monte Carlo against the cost model."""

from __future__ import annotations

import math

import pytest
from aalp.checks.loader import load_text
from aalp.diagnostics import SpecError
from aalp.front.parser import parse
from aalp.front.printer import format_spec as print_spec
from aalp.model.cost import evaluate
from aalp.model.montecarlo import simulate
from aalp.model.symbolic import closed_form
from aalp.optimizer.driver import optimize

# A needle search over n tokens in windows of x: reading dominates a call's time, so on four
# workers the fastest plan makes just enough windows to fill the pool, while the cheapest
# reads the whole text in one call (fewer prompts to pay for).
RETRIEVAL = """
param n = 2000
model m {{
  size 1
  context 128k
  price in 0.15 out 0.60 per Mtok
  speed prefill 5000 tok/s decode 80 tok/s overhead 200 ms
  can find
}}
task t {{
  items text = n of 1 tokens
  op find(x of text) on m {{ reads 100 + x tokens  writes 20 tokens  success exp(-x/200k) }}
  map find over text
  combine vote
  require success >= 0.5
  workers 4
  {objective}
}}
"""


def spec(objective: str, n: int = 2000):
    return load_text(RETRIEVAL.format(objective=objective), overrides={"n": n})


def hand_seconds(n: int, x: int, workers: int = 4) -> float:
    """ceil(ceil(n/x)/w) rounds of one call: 0.2 s + (100 + x)/5000 + 20/80."""
    chunks = math.ceil(n / x)
    rounds = math.ceil(chunks / workers)
    return rounds * (0.2 + (100 + x) / 5000 + 20 / 80)


def test_one_call_takes_overhead_prefill_and_decode():
    e = evaluate(spec("minimize seconds"), None, {"find.x": 2000})
    assert e.metrics.seconds == pytest.approx(0.2 + 2100 / 5000 + 20 / 80)


@pytest.mark.parametrize("x", [1, 7, 250, 499, 500, 501, 1000, 2000])
def test_seconds_follow_the_list_schedule(x: int):
    e = evaluate(spec("minimize seconds"), None, {"find.x": x})
    assert e.metrics.seconds == pytest.approx(hand_seconds(2000, x))


def test_latency_optimal_chunk_differs_from_cost_optimal():
    fast = optimize(spec("minimize seconds"), frontier=False, baselines=False)
    cheap = optimize(spec("minimize dollars"), frontier=False, baselines=False)
    # four windows of 500 fill the four workers: 0.45 + 600/5000 = 0.57 s
    assert fast.plan.decisions["find.x"] == 500
    assert fast.plan.metrics["seconds"] == pytest.approx(0.57)
    # one call over the whole text pays one prompt: the cheapest, 4.67 s
    assert cheap.plan.decisions["find.x"] == 2000
    assert cheap.plan.metrics["seconds"] == pytest.approx(hand_seconds(2000, 2000))


@pytest.mark.parametrize("n", [37, 600])
def test_optimizer_matches_every_x(n: int):
    checked = spec("minimize seconds", n)
    best = min(
        (evaluate(checked, None, {"find.x": x}).metrics.seconds, x)
        for x in range(1, n + 1)
        if evaluate(checked, None, {"find.x": x}).feasible
    )
    got = optimize(checked, frontier=False, baselines=False)
    assert got.plan.metrics["seconds"] == pytest.approx(best[0])


def test_closed_form_is_the_cost_model():
    checked = spec("minimize seconds")
    for x in (3, 500, 777):
        form = closed_form(checked, None, {"find.x": x}, "seconds")
        value = float(form.subs({s: 2000 for s in form.free_symbols}))
        assert value == pytest.approx(evaluate(checked, None, {"find.x": x}).metrics.seconds)


VOTED = """
model m { size 1  context 8k  speed prefill 1000 tok/s decode 50 tok/s overhead 0.1 s
          can step }
task t {
  items xs = 30 of 10 tokens
  op step(x of xs) on m { reads 40 + 10*x tokens  writes 5 tokens  success 0.8 }
  map step over xs
  allow vote ahead_by max 5
  workers 4
  minimize seconds
}
"""


def test_monte_carlo_agrees_with_the_expected_seconds():
    checked = load_text(VOTED)
    decisions = {"step.x": 3, "step.vote": "ahead_by", "step.votes": 3}
    expected = evaluate(checked, None, decisions).metrics.seconds
    sim = simulate(checked, None, decisions, runs=4000, seed=1).metrics["seconds"]
    assert abs(sim.mean - expected) < 4 * sim.stderr + 1e-9
    # 10 chunks on 4 workers: 3 rounds of one chunk's expected rounds of calls
    one_call = 0.1 + 70 / 1000 + 5 / 50
    rounds = evaluate(checked, None, decisions).metrics.latency_calls
    assert expected == pytest.approx(rounds * one_call)


def test_speed_round_trips_through_the_printer():
    text = RETRIEVAL.format(objective="minimize seconds").replace("200 ms", "0.25 s")
    first = parse(text)
    printed = print_spec(first)
    assert parse(printed) == first
    assert print_spec(parse(printed)) == printed
    assert "overhead 250 ms" in print_spec(first)
    assert first.models[0].speed is not None


def test_without_speeds_seconds_are_unknown():
    text = RETRIEVAL.format(objective="minimize dollars")
    text = text.replace("  speed prefill 5000 tok/s decode 80 tok/s overhead 200 ms\n", "")
    e = evaluate(load_text(text), None, {"find.x": 500})
    assert math.isnan(e.metrics.seconds)
    assert e.metrics.latency == 20  # forward passes stay known
    with pytest.raises(SpecError) as err:
        load_text(text.replace("minimize dollars", "minimize seconds"))
    assert err.value.diagnostics[0].code == "E330"


def test_the_explorer_shows_seconds_of_a_timed_plan():
    from aalp.explore import api

    text = RETRIEVAL.format(objective="minimize seconds")
    answer = api.optimize_spec(text)
    assert answer["plan"]["metrics"]["seconds"] == pytest.approx(hand_seconds(2000, 500))
    assert answer["plan"]["decisions"]["find.x"] == 500
    untimed = text.replace("  speed prefill 5000 tok/s decode 80 tok/s overhead 200 ms\n", "")
    untimed = untimed.replace("minimize seconds", "minimize dollars")
    assert api.optimize_spec(untimed)["plan"]["metrics"]["seconds"] is None


def test_the_emitted_program_projects_the_models_seconds(tmp_path):
    import subprocess
    import sys

    spec_file = tmp_path / "needle.aalp"
    spec_file.write_text(RETRIEVAL.format(objective="minimize seconds"), encoding="utf-8")
    out = str(tmp_path / "out")
    compile_ = [
        sys.executable,
        "-m",
        "aalp.cli",
        "compile",
        str(spec_file),
        "-t",
        "python",
        "-o",
        out,
    ]
    subprocess.run(compile_, capture_output=True, text=True, check=True)
    program = tmp_path / "out" / "run_t.py"
    assert "seconds (s)               0.57 (the critical path)" in program.read_text()
    run = subprocess.run(
        [sys.executable, str(program), "--dry-run"], capture_output=True, text=True, check=True
    )
    assert "seconds  0.57 (the critical path at the models' speeds)" in run.stdout


def test_optimizer_matches_every_voted_plan():
    # seconds need a vote's rounds: the search must compute them as it does for latency
    checked = load_text(VOTED)
    seen = []
    for x in range(1, 31):
        for k in range(1, 6):
            e = evaluate(checked, None, {"step.x": x, "step.vote": "ahead_by", "step.votes": k})
            if e.feasible:
                seen.append(e.metrics.seconds)
        e = evaluate(checked, None, {"step.x": x, "step.vote": "none"})
        if e.feasible:
            seen.append(e.metrics.seconds)
    got = optimize(checked, frontier=False, baselines=False)
    assert got.plan.metrics["seconds"] == pytest.approx(min(seen))


def test_objective_seconds_from_the_command_line_needs_speeds():
    text = RETRIEVAL.format(objective="minimize dollars")
    text = text.replace("  speed prefill 5000 tok/s decode 80 tok/s overhead 200 ms\n", "")
    with pytest.raises(SpecError) as err:
        optimize(load_text(text), objective="seconds", frontier=False, baselines=False)
    assert err.value.diagnostics[0].code == "E330"


def test_the_graph_carries_seconds_only_when_known():
    from aalp.explainer.topology import build

    checked = spec("minimize seconds")
    e = evaluate(checked, None, {"find.x": 500})
    g = build(checked, None, e, "seconds")
    assert g.graph["seconds"] == pytest.approx(0.57)
    calls = [d for _n, d in g.nodes(data=True) if d["role"] != "combine"]
    assert len(calls) == 4  # each window is a parallel copy: it carries the stage's seconds
    assert all(d["seconds"] == pytest.approx(0.57) for d in calls)
    untimed = RETRIEVAL.format(objective="minimize dollars")
    untimed = untimed.replace("  speed prefill 5000 tok/s decode 80 tok/s overhead 200 ms\n", "")
    checked = load_text(untimed)
    g = build(checked, None, evaluate(checked, None, {"find.x": 500}))
    assert "seconds" not in g.graph
    assert not any("seconds" in d for _n, d in g.nodes(data=True))


def test_a_bound_on_seconds_picks_the_cheapest_fast_enough_plan():
    checked = spec("require seconds <= 1\n  minimize dollars")
    fits = [
        (e.metrics.dollars, x)
        for x in range(1, 2001)
        if (e := evaluate(checked, None, {"find.x": x})).feasible and e.metrics.seconds <= 1
    ]
    got = optimize(checked, frontier=False, baselines=False)
    assert got.plan.metrics["seconds"] <= 1
    assert got.plan.metrics["dollars"] == pytest.approx(min(fits)[0])

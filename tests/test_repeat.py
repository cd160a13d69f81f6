"""``repeat STAGE K then vote`` (docs/model.md §3, repeat): the syntax and its round trip, the
check of K, the cost model's closed form against hand-derived values and against the Monte
Carlo of K independent copies, the optimizer against exhaustive enumeration, and the targets."""

from __future__ import annotations

import json
import math

import pytest
from aalp import api, codes
from aalp.diagnostics import SpecError
from aalp.front.printer import format_spec
from aalp.model.cost import evaluate
from aalp.model.montecarlo import simulate
from aalp.optimizer.driver import optimize

MODEL = """model m {
  size 1
  context 16k
  price in 1 out 2 per Mtok
  can step, part, merge
}
"""

CHAIN = (
    MODEL.replace("step, part, merge", "step")
    + """
task t {
  steps s = 6
  op step on m {
    reads 100 tokens
    writes 10 tokens
    success 0.97
  }
  REPEAT
  WORKERS
  maximize success
}
"""
)

NESTED = (
    MODEL.replace("step, part, merge", "part, merge")
    + """
task t {
  items xs = 4 of 50 tokens
  steps hops = 3
  op part on m {
    reads 80 tokens
    writes 20 tokens
    success 0.95
  }
  op merge on m {
    reads 200 tokens
    writes 20 tokens
    success 0.9
  }
  repeat map part over xs {
    chain merge over hops
  } 3 then vote
  maximize success
}
"""
)


def chain(repeat: str, workers: str = "") -> api.Checked:
    return api.check(api.parse(CHAIN.replace("REPEAT", repeat).replace("WORKERS", workers)))


def majority(s: float, k: int) -> float:
    """P[Bin(k, s) > k/2], summed term by term."""
    return sum(math.comb(k, j) * s**j * (1 - s) ** (k - j) for j in range(k // 2 + 1, k + 1))


@pytest.mark.parametrize(
    "clause",
    [
        "repeat chain step over s 5 then vote",
        "repeat chain step over s choose then vote",
        "repeat chain step over s history full k then vote",
    ],
)
def test_the_formatter_writes_a_repeat_back(clause: str) -> None:
    text = ("param k = 3\n\n" + CHAIN).replace("REPEAT", clause).replace("  WORKERS\n", "")
    spec = api.parse(text)
    assert len(spec.tasks[0].repeats) == 1
    written = format_spec(spec)
    assert f"\n  {clause}\n" in written
    assert api.parse(written) == spec
    assert format_spec(api.parse(written)) == written


def test_a_nested_repeat_round_trips() -> None:
    spec = api.parse(NESTED)
    assert "  } 3 then vote\n" in format_spec(spec)
    assert api.parse(format_spec(spec)) == spec


@pytest.mark.parametrize("k", ["4", "0", "1001", "2.5"])
def test_a_count_that_is_not_odd_and_whole_is_e340(k: str) -> None:
    with pytest.raises(SpecError) as err:
        chain(f"repeat chain step over s {k} then vote")
    assert [d.code for d in err.value.diagnostics] == [codes.BAD_REPEAT]


def test_the_closed_form_is_k_runs_and_the_majority_of_them() -> None:
    one = evaluate(chain("chain step over s"), None, {})
    five = evaluate(chain("repeat chain step over s 5 then vote"), None, {})
    assert five.metrics.calls == 5 * one.metrics.calls == 30
    assert five.metrics.cost == pytest.approx(5 * one.metrics.cost)
    assert five.metrics.latency == one.metrics.latency  # side by side on unbounded workers
    assert five.success == pytest.approx(majority(0.97**6, 5), rel=1e-12)
    bounded = evaluate(chain("repeat chain step over s 5 then vote", "workers 2"), None, {})
    assert bounded.metrics.latency == pytest.approx(5 * one.metrics.latency)


def test_one_run_is_the_stage_alone() -> None:
    one = evaluate(chain("chain step over s"), None, {})
    once = evaluate(chain("repeat chain step over s 1 then vote"), None, {})
    assert once.metrics == one.metrics
    assert once.success == pytest.approx(one.success, rel=1e-12)


@pytest.mark.parametrize("workers", ["", "workers 2"])
def test_the_monte_carlo_of_k_copies_agrees_with_the_closed_form(workers: str) -> None:
    checked = chain("repeat chain step over s 5 then vote", workers)
    model = evaluate(checked, None, {})
    sim = simulate(checked, None, {}, runs=20000, seed=3)
    lo, hi = sim.wilson(z=4.0)
    assert lo <= model.success <= hi
    for metric in ("calls", "cost", "tokens", "latency", "latency_calls"):
        assert sim.metrics[metric].mean == pytest.approx(getattr(model.metrics, metric))


def test_a_repeated_map_with_a_nested_chain_agrees_with_its_monte_carlo() -> None:
    checked = api.check(api.parse(NESTED))
    decisions = {"part.x": 1}
    model = evaluate(checked, None, decisions)
    # one run: 4 parts and 4 x 3 merges, all right
    s = 0.95**4 * 0.9**12
    assert model.success == pytest.approx(majority(s, 3), rel=1e-12)
    assert model.metrics.calls == 3 * (4 + 12)
    sim = simulate(checked, None, decisions, runs=20000, seed=5)
    lo, hi = sim.wilson(z=4.0)
    assert lo <= model.success <= hi
    for metric in ("calls", "cost", "latency", "latency_calls"):
        assert sim.metrics[metric].mean == pytest.approx(getattr(model.metrics, metric))


TWO_MODELS = """model small {
  size 1
  context 16k
  price in 1 out 2 per Mtok
  can step
}

model big {
  size 5
  context 16k
  price in 5 out 10 per Mtok
  can step
}

task t {
  steps s = 6
  op step on small, big {
    reads 100 tokens
    writes 10 tokens
    success 0.9
    success on big 0.99
  }
  repeat chain step over s K then vote
  allow vote majority max 5
  REQUIRE
  OBJECTIVE
}
"""


@pytest.mark.parametrize("k", ["1", "3", "7"])
@pytest.mark.parametrize(
    ("require", "objective"),
    [
        ("require success >= 0.99", "minimize cost"),
        ("require success >= 0.9999", "minimize cost"),
        ("require success >= 0.999999999", "minimize cost"),
        ("require cost <= 400000", "maximize success"),
        ("require latency <= 60", "minimize cost"),
    ],
)
def test_the_optimum_of_a_repeated_pipeline_is_the_exhaustive_one(
    k: str, require: str, objective: str
) -> None:
    from oracles.exhaustive import search

    text = TWO_MODELS.replace(" K then", f" {k} then").replace("REQUIRE", require)
    checked = api.check(api.parse(text.replace("OBJECTIVE", objective)))
    result = optimize(checked)
    brute = search(checked)
    assert result.feasible == brute.feasible
    if brute.feasible:
        metric = result.objective[1]
        assert result.plan.value(metric) == pytest.approx(brute.value, rel=1e-12)
        again = evaluate(checked, None, result.plan.decisions)
        assert again.success == pytest.approx(result.plan.success, rel=1e-12)


@pytest.mark.parametrize(
    "target", ["ray", "langgraph", "dspy", "openai-agents", "autogen", "crewai"]
)
def test_every_other_target_refuses_a_repeat_by_name(target: str) -> None:
    from aalp.backends.view import PlanError

    with pytest.raises(PlanError) as err:
        api.compile(chain("repeat chain step over s 5 then vote"), target, decisions={})
    message = str(err.value)
    assert f"target {target}" in message
    assert "repeated 5 times and voted (repeat ... then vote)" in message


def test_the_item_by_item_simulation_refuses_a_repeat() -> None:
    from aalp.model.montecarlo import SimulationError
    from aalp.model.montecarlo_items import simulate_items

    with pytest.raises(SimulationError, match="repeat"):
        simulate_items(api.check(api.parse(NESTED)), None, {"part.x": 1}, runs=10)


def test_simulate_with_given_decisions_runs_a_repeat(tmp_path) -> None:

    from aalp.cli import cli
    from click.testing import CliRunner

    spec = tmp_path / "r.aalp"
    spec.write_text(NESTED)
    args = ["simulate", str(spec), "--decisions", json.dumps({"part.x": 1}), "--format", "json"]
    out = CliRunner().invoke(cli, [*args, "--runs", "2000"])
    assert out.exit_code == 0, out.output
    again = CliRunner().invoke(cli, [*args, "--runs", "2000"])
    assert again.output == out.output  # deterministic
    result = json.loads(out.output)
    lo, hi = result["success"]["interval"]
    assert lo <= result["success"]["predicted"] <= hi
    calls = result["metrics"]["calls"]
    assert calls["mean"] == calls["predicted"] == 3 * (4 + 12)


def test_explain_and_graph_say_the_stage_is_repeated() -> None:
    from aalp.explainer.topology import build, to_dot, to_mermaid

    text = TWO_MODELS.replace(" K then", " 5 then").replace("REQUIRE", "require success >= 0.99")
    checked = api.check(api.parse(text.replace("OBJECTIVE", "minimize cost")))
    report = api.explain(checked)
    from aalp.explainer.render import render_text

    assert report.stages[0].repeat == 5
    assert "repeated 5 times then voted" in " ".join(render_text(report, width=200).split())
    result = optimize(checked)
    g = build(checked, checked.spec.tasks[0], result.plan.evaluation)
    assert g.graph["repeat"] == {"0": 5}
    assert "stage 1 runs 5 times, then a vote" in to_dot(g)
    assert "%% stage 1 runs 5 times, then a vote" in to_mermaid(g)
    # every node's totals are the 5 runs': they sum to the plan's calls
    assert sum(d["calls"] for _, d in g.nodes(data=True)) == result.plan.metrics["calls"]


def test_the_explorer_loads_a_repeat_and_shows_its_plan() -> None:
    from aalp.explore import api as explore

    text = TWO_MODELS.replace(" K then", " 3 then").replace("REQUIRE", "require success >= 0.99")
    text = text.replace("OBJECTIVE", "minimize cost")
    assert explore.check_spec(text)["ok"]
    shown = explore.optimize_spec(text)
    assert shown["ok"], shown
    checked = api.check(api.parse(text))
    assert shown["plan"]["metrics"]["calls"] == optimize(checked).plan.metrics["calls"]


def test_the_python_program_runs_k_runs_and_makes_the_predicted_calls(tmp_path) -> None:
    from aalp.backends.base import write
    from aalp.sim.harness import make_input, run_program
    from test_e2e import FAST, served

    text = TWO_MODELS.replace(" K then", " 3 then").replace("REQUIRE", "require success >= 0.99")
    text = text.replace("OBJECTIVE", "minimize cost")
    checked = api.check(api.parse(text))
    compiled = api.compile(checked)
    write(compiled.files, str(tmp_path))
    source = (tmp_path / compiled.files[0].path).read_text()
    assert 'f"r{k}/"' in source
    with served(checked, seed=5) as server:
        run = run_program(
            tmp_path / compiled.files[0].path, server.url, tmp_path, make_input(checked), FAST
        )
        stats = server.core.stats()
    assert run.returncode == 0, run.stderr
    assert stats["calls"] == run.report["calls"]
    low, high = compiled.view["prediction"]["calls_interval"]
    assert low <= run.report["calls"] <= high
    # 3 runs of the one-run plan: three times its predicted calls
    one = api.compile(checked_once(text), decisions=compiled.view["decisions"])
    assert run.report["calls"] == 3 * one.view["prediction"]["calls_interval"][0]


def checked_once(text: str) -> api.Checked:
    """The spec of ``text`` with its repeat dropped (the stage run once)."""
    return api.check(
        api.parse(text.replace("repeat chain step over s 3 then vote", "chain step over s"))
    )

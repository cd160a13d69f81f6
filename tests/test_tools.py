"""Tools: ``tool NAME { price P per call  latency L ms  success S }`` and ops that run on one
(docs/language.md §2, tools; docs/model.md §1, tools)."""

from __future__ import annotations

import json

import pytest
from aalp import api, codes
from aalp.diagnostics import SpecError
from aalp.front.parser import parse
from aalp.front.printer import format_spec
from aalp.model import cost

SPEC = """
model small { size 1  context 8k  price in 0.15 out 0.6 per Mtok  can answer }
tool web { price 0.001 per call  latency 300 ms  success 0.98 }
task ask {
  items qs = 4 of 100 tokens
  op search on web { }
  op answer on small { reads 400 tokens  writes 50 tokens  success 0.9 }
  map search, answer over qs
  allow retry max 3 until exact on search
  minimize dollars
}
"""


def test_round_trip_keeps_the_tool_and_its_op_without_tokens():
    spec = parse(SPEC)
    assert [t.name for t in spec.tools] == ["web"]
    search = spec.tasks[0].op("search")
    assert search.io == () and search.success[0].p == spec.tools[0].success
    text = format_spec(spec)
    assert "tool web {" in text and "latency 300 ms" in text
    assert parse(text) == spec and format_spec(parse(text)) == text


def test_seconds_unit_is_milliseconds_inside():
    spec = parse(SPEC.replace("latency 300 ms", "latency 0.3 s"))
    assert "latency 300 ms" in format_spec(spec)


def test_a_tool_call_costs_its_price_and_takes_its_latency():
    checked = api.check(parse(SPEC))
    d = {"search.model": "web", "search.vote": "none", "answer.model": "small"}
    d |= {"answer.vote": "none"}
    e = cost.evaluate(checked, None, d)
    assert e.feasible
    # hand-derived: 4 tool calls (0 tokens, $0.001 each) + 4 calls of 400 + 50 tokens
    assert e.metrics.calls == pytest.approx(8)
    assert e.metrics.tokens == pytest.approx(4 * 450)
    assert e.metrics.forward_passes == pytest.approx(4 * 50)
    llm = 4 * (0.15 * 400 + 0.6 * 50) / 1e6
    assert e.metrics.dollars == pytest.approx(4 * 0.001 + llm)
    assert e.success == pytest.approx((0.98 * 0.9) ** 4)


def test_retries_of_a_tool_op_are_priced_per_try():
    checked = api.check(parse(SPEC))
    d = {"search.model": "web", "search.vote": "none", "search.retries": 2}
    d |= {"answer.model": "small", "answer.vote": "none"}
    e = cost.evaluate(checked, None, d)
    # r = 2 tries, an exact check: the second runs when the first fails (q = 0.02)
    q = 0.02
    tries = 1 + q
    llm = 4 * (0.15 * 400 + 0.6 * 50) / 1e6
    assert e.metrics.dollars == pytest.approx(4 * 0.001 * tries + llm)
    assert e.success == pytest.approx(((1 - q**2) * 0.9) ** 4)


@pytest.mark.parametrize(
    "edit, code",
    [
        (("op search on web { }", "op search on web, small { }"), codes.TOOL_AND_MODEL),
        (("op search on web { }", "op search on web { reads 5 tokens }"), codes.TOOL_TOKENS),
        (
            ("allow retry max 3 until exact on search", "allow vote majority on search"),
            codes.TOOL_VOTE,
        ),
        (("price 0.001 per call", "price -1 per call"), codes.BAD_TOOL),
        (("op search on web { }", "op search on webb { }"), codes.UNKNOWN_MODEL),
    ],
)
def test_diagnostics(edit, code):
    with pytest.raises(SpecError) as err:
        api.check(parse(SPEC.replace(*edit)))
    assert code in {d.code for d in err.value.diagnostics}


def test_an_op_on_a_model_still_needs_its_tokens():
    with pytest.raises(SpecError) as err:
        parse(SPEC.replace("reads 400 tokens  ", ""))
    assert codes.MISSING_CLAUSE in {d.code for d in err.value.diagnostics}


GOALS = [
    "require success >= 0.6\n  minimize dollars",
    "require success >= 0.5\n  minimize seconds",
    "maximize success",
    "require success >= 0.7\n  minimize latency_calls",
]


def _timed(goal: str):
    text = SPEC.replace("can answer }", "can answer  speed decode 100 tok/s overhead 50 ms }")
    text = text.replace("minimize dollars", goal)
    text = text.replace(
        "allow retry max 3 until exact on search",
        "allow retry max 3 until exact on search\n  allow vote majority max 5",
    )
    return api.check(parse(text))


@pytest.mark.parametrize("goal", GOALS)
def test_optimum_equals_exhaustive_enumeration(goal):
    from aalp.optimizer.driver import optimize
    from oracles.exhaustive import search

    checked = _timed(goal)
    r = optimize(checked, frontier=False, baselines=False)
    brute = search(checked)
    assert r.feasible == brute.feasible
    if brute.feasible:
        metric = goal.split()[-1]
        assert r.plan.value(metric) == pytest.approx(brute.value, rel=1e-9)
        # a vote allowed on every op is never given to the tool's op
        assert r.plan.decisions.get("search.vote", "none") == "none"


def test_monte_carlo_agrees_with_the_closed_forms():
    from aalp.model import montecarlo

    checked = _timed("maximize success")
    d = {"search.model": "web", "search.vote": "none", "search.retries": 3}
    d |= {"answer.model": "small", "answer.vote": "majority", "answer.votes": 3}
    ev = cost.evaluate(checked, None, d)
    sim = montecarlo.simulate(checked, None, d, runs=20_000, seed=3)
    lo, hi = sim.wilson(4.0)
    assert lo <= ev.success <= hi
    for metric in ("calls", "tokens", "cost", "dollars", "latency_calls", "seconds"):
        got, want = sim.metrics[metric].mean, ev.value(metric)
        assert got == pytest.approx(want, rel=0.02), metric


def test_symbolic_closed_form_equals_the_evaluation():
    from aalp.model.symbolic import closed_form, value_at

    d = {"search.model": "web", "search.vote": "none", "search.retries": 2}
    d |= {"answer.model": "small", "answer.vote": "none"}
    checked = _timed("maximize success")
    ev = cost.evaluate(checked, None, d)
    for metric in ("calls", "dollars", "seconds", "success"):
        form = closed_form(checked, None, d, metric)
        assert value_at(form, {"qs": 4}) == pytest.approx(ev.value(metric), rel=1e-9), metric


def _spec_file(tmp_path):
    path = tmp_path / "tools.aalp"
    path.write_text(SPEC)
    return path


def test_explain_and_graph_say_tool(tmp_path):
    import json

    from aalp.cli import cli as main
    from click.testing import CliRunner

    path = str(_spec_file(tmp_path))
    run = CliRunner().invoke(main, ["explain", path])
    assert run.exit_code == 0, run.output
    assert "search on tool web" in run.output
    rep = json.loads(CliRunner().invoke(main, ["explain", "--format", "json", path]).output)
    calls = [c for s in rep["stages"] for c in s["calls"]]
    assert [c["op"] for c in calls if c.get("tool")] == ["search"]
    for fmt in ("dot", "mermaid"):
        out = CliRunner().invoke(main, ["graph", "--format", fmt, path]).output
        assert "tool web" in out, fmt
    nodes = json.loads(CliRunner().invoke(main, ["graph", "--json", path]).output)
    assert "tool" in json.dumps(nodes)


REFUSING = ["ray", "langgraph", "dspy", "autogen", "crewai"]
#: the targets running tool ops, and the program each writes beside tools.py
RUNNING = {"python": "run_ask.py", "openai-agents": "ask_agents.py"}


@pytest.mark.parametrize("target", sorted(RUNNING))
def test_the_targets_running_tools_compile_a_tool_op(tmp_path, target):
    from aalp.cli import cli as main
    from click.testing import CliRunner

    out = tmp_path / "out"
    argv = ["compile", str(_spec_file(tmp_path)), "--target", target, "-o", str(out)]
    run = CliRunner().invoke(main, argv)
    assert run.exit_code == 0, run.output
    assert (out / "tools.py").exists() and (out / RUNNING[target]).exists()


@pytest.mark.parametrize("target", REFUSING)
def test_every_other_target_refuses_a_tool_op_by_name(tmp_path, target):
    from aalp.cli import cli as main
    from click.testing import CliRunner

    out = tmp_path / "out"
    run = CliRunner().invoke(
        main, ["compile", str(_spec_file(tmp_path)), "--target", target, "-o", str(out)]
    )
    assert run.exit_code != 0
    assert "E604" in run.output and "tool 'web'" in run.output and target in run.output
    assert "op 'search'" in run.output
    assert "(use the openai-agents or python target)" in run.output


def test_aalp_simulate_runs_a_tool_op(tmp_path):
    from aalp.cli import cli as main
    from click.testing import CliRunner

    run = CliRunner().invoke(main, ["simulate", str(_spec_file(tmp_path))])
    assert run.exit_code == 0, run.output
    assert "dollars" in run.output


def test_the_explorer_loads_a_spec_with_a_tool_and_shows_its_plan():
    from aalp.explore import api as explore

    assert explore.check_spec(SPEC)["ok"]
    shown = explore.optimize_spec(SPEC)
    assert shown["ok"] and shown["feasible"]
    decisions = shown["plan"]["decisions"]
    assert decisions["search.model"] == "web" and decisions["search.vote"] == "none"
    assert "web" in json.dumps(shown["tree"])

"""Nested stages (``map OP over DATA { stage* }``): the cost model against hand-derived values,
the Monte Carlo simulation (whole-task and item by item), the closed forms, and the optimizer
against exhaustive search (docs/model.md §3, nested stages)."""

from __future__ import annotations

import pytest
from aalp.checks.loader import load_text
from aalp.model.cost import evaluate
from aalp.model.montecarlo import simulate
from aalp.model.montecarlo_items import simulate_items
from aalp.model.symbolic import closed_form_metrics, value_at
from aalp.optimizer.driver import optimize
from oracles.exhaustive import search
from test_simulate import agree

HEAD = """\
param q = 3
model small { size 1  context 100k  price in 1 out 2 per Mtok
              can plan, hop, answer, merge, classify }
model big { size 3  context 100k  price in 3 out 6 per Mtok  can plan, hop, merge }
model expert { size 2  context 100k  price in 2 out 4 per Mtok  can answer if routed }
"""

OPS = """\
  op plan(x of questions) on small, big {
    reads 50 + 40*x tokens  writes 10*x tokens  success 0.99^x  success on big 0.999^x
  }
  op hop on small, big { reads 200 tokens  writes 20 tokens  success 0.93  success on big 0.99 }
  op answer on small, expert { reads 300 tokens  writes 30 tokens  success 0.9
                               success on expert 0.99 }
  op merge on small, big { reads 40*fanin tokens  writes 20 tokens  success 0.98 }
  op classify on small { reads 10 tokens  writes 2 tokens  success 0.995 }
"""


def nested(stages: str, extra: str = "", data: str = "", q: int = 3):
    ops, head = OPS, HEAD
    if "route" not in stages:  # the expert can answer only behind a router
        head = "\n".join(line for line in HEAD.split("\n") if "expert" not in line)
        ops = ops.replace("on small, expert", "on small").replace(
            "\n                               success on expert 0.99", ""
        )
    if "reduce" not in stages:
        ops = ops.replace("40*fanin", "80")  # fanin is a name of reduce ops only
    text = (
        head.replace("param q = 3", f"param q = {q}")
        + "task research {\n  items questions = q of 40 tokens\n  items hops = 3\n"
        + "  items drafts = 2\n"
        + data
        + ops
        + stages
        + "\n"
        + extra
        + "\n}\n"
    )
    return load_text(text, "research.aalp")


MAP_CHAIN = """\
  map plan over questions {
    chain hop over hops history choose
    map answer over drafts
    route answer by classify
  }
"""
CHAIN_TREE = """\
  chain plan over questions {
    map hop over hops
    reduce merge fanin choose
  }
"""
TWO_LEVELS = """\
  map plan over questions {
    map hop over hops {
      chain answer over drafts
    }
  }
"""

CASES = {
    "map-chain": (MAP_CHAIN, "allow vote ahead_by max 2 on hop\n  require success >= 0.5"),
    "map-chain-accuracy": (
        MAP_CHAIN,
        "allow vote majority max 3 on hop, answer\n  require accuracy >= 0.9",
    ),
    "map-chain-workers": (
        MAP_CHAIN,
        "allow vote ahead_by max 2 on hop\n  require success >= 0.5\n  workers 2",
    ),
    "chain-tree": (
        CHAIN_TREE,
        "allow vote ahead_by max 2 on hop\n  require accuracy of questions >= 0.8",
    ),
    "two-levels": (TWO_LEVELS, "require success >= 0.05\n  workers 4"),
    "latency": (MAP_CHAIN, "allow vote ahead_by max 2 on hop\n  minimize latency"),
}


def checked_case(name: str, q: int = 3):
    stages, extra = CASES[name]
    if "minimize" not in extra:
        extra += "\n  minimize cost"
    return nested(stages, extra, q=q)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_optimum_is_the_exhaustive_one(name):
    checked = checked_case(name)
    result = optimize(checked, frontier=False, baselines=False)
    brute = search(checked)
    assert result.feasible == brute.feasible
    assert brute.feasible
    metric = result.objective[1]
    assert result.plan.value(metric) == pytest.approx(brute.value, rel=1e-9)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_simulation_agrees_with_the_cost_model(name):
    checked = checked_case(name)
    decisions = dict(optimize(checked, frontier=False, baselines=False).plan.decisions)
    ev = evaluate(checked, None, decisions)
    assert ev.feasible, ev.problems
    agree(simulate(checked, None, decisions, runs=4000, seed=7), ev)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_closed_forms_agree_with_the_numbers(name):
    checked = checked_case(name)
    decisions = dict(optimize(checked, frontier=False, baselines=False).plan.decisions)
    ev = evaluate(checked, None, decisions)
    metrics, success = closed_form_metrics(checked, None, decisions)
    env = {k: float(v) for k, v in checked.env.items()}
    for field in ("calls", "cost", "tokens", "dollars", "latency", "latency_calls"):
        value = value_at(getattr(metrics, field), env)
        assert value == pytest.approx(getattr(ev.metrics, field), rel=1e-9), field
    assert value_at(success, env) == pytest.approx(ev.success, rel=1e-9)


@pytest.mark.parametrize("name", ["map-chain-accuracy", "chain-tree", "map-chain", "two-levels"])
def test_per_item_accuracy_is_the_mean_of_simulated_items(name):
    checked = checked_case(name)
    decisions = dict(optimize(checked, frontier=False, baselines=False).plan.decisions)
    ev = evaluate(checked, None, decisions)
    sim = simulate_items(checked, None, decisions, runs=6000, seed=11)
    slack = 4.5 * max(sim.stderr, 1e-4)
    assert ev.accuracy <= sim.accuracy + slack
    if name != "chain-tree":  # a chain over the items is a bound (docs/model.md §3, items)
        assert abs(ev.accuracy - sim.accuracy) <= slack, (ev.accuracy, sim)


def test_hand_derived_values_of_a_map_with_a_nested_chain_and_map():
    """q questions, each: one plan call, 3 hops in a chain, 2 answers in parallel."""
    checked = nested(
        "  map plan over questions {\n    chain hop over hops\n    map answer over drafts\n  }",
        "minimize cost",
        q=5,
    )
    d = {"plan.x": 1, "plan.model": "small", "hop.model": "small", "answer.model": "small"}
    ev = evaluate(checked, None, d)
    q, hops, drafts = 5, 3, 2
    assert ev.metrics.calls == q * (1 + hops + drafts)
    # m·(R·W + W·(W − 1)/2) per call (docs/model.md §1), size 1
    plan, hop, answer = 90 * 10 + 45, 200 * 20 + 190, 300 * 30 + 435
    assert ev.metrics.cost == q * (plan + hops * hop + drafts * answer)
    # one question's critical path: its plan, the 3 hops one after another, one answer
    assert ev.metrics.latency == 10 + hops * 20 + 30
    per_question = 0.99 * 0.93**hops * 0.9**drafts
    assert ev.success == pytest.approx(per_question**q, rel=1e-12)
    assert ev.accuracy == pytest.approx(per_question, rel=1e-12)


def test_workers_are_shared_by_the_running_chunks():
    """5 questions on 2 workers: ceil(5/2) = 3 rounds of questions (the list schedule of equal
    chunks), each question's two answers on one worker, one after the other."""
    checked = nested(
        "  map plan over questions {\n    map answer over drafts\n  }",
        "minimize cost\n  workers 2",
        q=5,
    )
    d = {"plan.x": 1, "plan.model": "small", "answer.model": "small"}
    ev = evaluate(checked, None, d)
    assert ev.metrics.latency == pytest.approx(3 * (10 + 2 * 30))
    few = nested(
        "  map plan over questions {\n    map answer over drafts\n  }",
        "minimize cost\n  workers 4",
        q=2,
    )
    # 2 questions on 4 workers: each has 2 workers, its two answers run side by side
    assert evaluate(few, None, d).metrics.latency == pytest.approx(10 + 30)


def test_a_nested_stage_costs_as_many_runs_as_the_enclosing_chunks():
    flat = nested("  map plan over questions\n  chain hop over hops", "minimize cost", q=4)
    stages = "  map plan over questions {\n    chain hop over hops\n  }"
    inner = nested(stages, "minimize cost", q=4)
    d = {"plan.x": 2, "plan.model": "small", "hop.model": "small"}
    a, b = evaluate(flat, None, d), evaluate(inner, None, d)
    # plan.x = 2: 2 chunks of questions, each with its own 3 hops; flat: 3 hops in all
    assert a.metrics.calls == 2 + 3
    assert b.metrics.calls == 2 + 2 * 3


def test_the_formatter_round_trips_nested_stages():
    from aalp.front.parser import parse
    from aalp.front.printer import format_spec

    text = (
        HEAD
        + "task t {\n  items questions = q of 40 tokens\n  items hops = 3\n"
        + OPS
        + "  chain plan over questions {\n    map hop over hops {\n      combine concat\n    }\n"
        + "    reduce merge fanin 2\n  }\n}\n"
    )
    spec = parse(text, "t.aalp")
    out = format_spec(spec)
    assert parse(out, "t.aalp") == spec
    assert format_spec(parse(out, "t.aalp")) == out
    assert "  chain plan over questions {\n    map hop over hops {\n      combine concat\n" in out


def test_explain_and_graph_show_the_nesting():
    import json

    from aalp.explainer import topology
    from aalp.explainer.report import report
    from aalp.explainer.schema import to_json

    checked = checked_case("map-chain")
    result = optimize(checked, frontier=False, baselines=False)
    stages = json.loads(to_json(report(checked, result)))["stages"]
    assert "within" not in stages[0] and "runs" not in stages[0]
    ev = evaluate(checked, None, dict(result.plan.decisions))
    runs = ev.stages[0].chunks
    assert [(s.get("within"), s.get("runs", 1)) for s in stages[1:]] == [(0, runs)] * 2
    g = topology.build(checked, None, ev)
    # each node of a nested stage stands for its call in every run: the calls add up
    assert sum(d["calls"] for _, d in g.nodes(data=True)) == pytest.approx(ev.metrics.calls)
    assert g.graph["critical_latency"] == pytest.approx(ev.metrics.latency)
    pinned = evaluate(checked, None, {**result.plan.decisions, "plan.x": 1})
    g = topology.build(checked, None, pinned)
    assert sum(d["calls"] for _, d in g.nodes(data=True)) == pytest.approx(pinned.metrics.calls)
    assert any(d.get("runs") == 3 for _, d in g.nodes(data=True))


def test_the_explorer_loads_a_nested_spec_and_shows_its_plan():
    from pathlib import Path

    from aalp.explore import api

    path = Path(__file__).parent.parent / "samples" / "research_agent.aalp"
    text = path.read_text(encoding="utf-8")
    assert api.check_spec(text, path.name)["ok"]
    answer = api.optimize_spec(text, path.name)
    assert answer["ok"] and answer["feasible"]
    (outer,) = answer["tree"]["children"]  # the nested stages are under the enclosing one
    assert outer["label"] == "stage 1: map plan over questions"
    inner = [c["label"] for c in outer["children"] if c["kind"] == "stage"]
    assert inner[:2] == ["stage 2: map search over queries", "stage 3: reduce answer"]
    assert "40 runs" in outer["children"][1]["decisions"][0]


def test_generated_nested_specs_optimize_to_the_exhaustive_optimum():
    """The generated specs of the ``nested`` shape (``specgen``), small enough to enumerate."""
    from hypothesis import assume, given, settings
    from specgen import Drawn, specs
    from test_generated_specs import SETTINGS, _exhaustive_agrees

    @settings(max_examples=60, **SETTINGS)
    @given(specs(small=True))
    def one(drawn: Drawn) -> None:
        assume(drawn.shape == "nested")
        for solver in ("dp", "cpsat"):
            problem = _exhaustive_agrees(drawn.text, solver)
            assert problem is None, f"{solver}: {problem}\n--- spec ---\n{drawn.text}"

    one()


def test_every_command_is_total_on_generated_nested_specs():
    from hypothesis import assume, given, settings
    from specgen import Drawn, specs
    from test_generated_specs import SETTINGS, _total

    @settings(max_examples=25, **SETTINGS)
    @given(specs())
    def one(drawn: Drawn) -> None:
        assume(drawn.shape == "nested")
        _total(drawn)

    one()

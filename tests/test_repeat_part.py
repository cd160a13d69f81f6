"""A repeat of one top-level stage beside other stages (docs/model.md §3, repeat): the closed
form against a hand-derived value and the Monte Carlo of the plan, the optimizer against
exhaustive enumeration, its refusals (E609), and the python program against the simulated
server with the predicted calls."""

from __future__ import annotations

import math

import pytest
from aalp import api, codes
from aalp.diagnostics import SpecError
from aalp.model.cost import evaluate
from aalp.model.montecarlo import simulate
from aalp.optimizer.driver import optimize

SPEC = """model small {
  size 1
  context 16k
  price in 1 out 2 per Mtok
  can step, check, merge
}

model big {
  size 5
  context 16k
  price in 5 out 10 per Mtok
  can step, check, merge
}

task t {
  items xs = 3 of 50 tokens
  steps s = 4
  op check on small, big {
    reads 60 tokens
    writes 10 tokens
    success 0.93
    success on big 0.995
  }
  op step on small, big {
    reads 100 tokens
    writes 10 tokens
    success 0.9
    success on big 0.99
  }
  op merge on small {
    reads 40 tokens
    writes 10 tokens
    success 0.97
  }
  FIRST
  SECOND
  allow vote majority max 3
  REQUIRE
  OBJECTIVE
}
"""

AFTER = ("map check over xs", "repeat chain step over s 3 then vote")
BEFORE = ("repeat chain step over s 5 then vote", "map check over xs")


def spec(
    order: tuple[str, str],
    require: str = "require success >= 0.99",
    objective: str = "minimize cost",
) -> api.Checked:
    text = SPEC.replace("FIRST", order[0]).replace("SECOND", order[1])
    text = text.replace("REQUIRE", require).replace("OBJECTIVE", objective)
    return api.check(api.parse(text))


def majority(s: float, k: int) -> float:
    """P[Bin(k, s) > k/2], summed term by term."""
    return sum(math.comb(k, j) * s**j * (1 - s) ** (k - j) for j in range(k // 2 + 1, k + 1))


ONE_BY_ONE = {
    "check.x": 1,
    "check.model": "small",
    "step.x": 1,
    "step.model": "small",
    "check.vote": "none",
    "step.vote": "none",
}


@pytest.mark.parametrize("workers", ["", "\n  workers 2"])
def test_the_closed_form_is_k_runs_of_the_stage_then_the_rest(workers: str) -> None:
    checked = spec(AFTER, "require success >= 0.5" + workers)
    plan = evaluate(checked, None, ONE_BY_ONE)
    # 3 checks once, then 3 runs of 4 steps; the chain's success voted, the map's as it is
    assert plan.metrics.calls == 3 + 3 * 4
    assert plan.success == pytest.approx(0.93**3 * majority(0.9**4, 3), rel=1e-12)
    alone = spec(("map check over xs", "chain step over s"), "require success >= 0.5" + workers)
    once = evaluate(alone, None, ONE_BY_ONE)
    first, second = (st.metrics for st in once.stages)
    assert plan.metrics.cost == pytest.approx(first.cost + 3 * second.cost, rel=1e-12)
    # the K runs side by side (one run's path), or one after another on the pool
    factor = 1 if not workers else 3
    assert plan.metrics.latency == pytest.approx(first.latency + factor * second.latency)


@pytest.mark.parametrize("order", [AFTER, BEFORE])
@pytest.mark.parametrize("workers", ["", "\n  workers 2"])
def test_the_closed_form_agrees_with_the_monte_carlo_of_the_plan(order, workers) -> None:
    checked = spec(order, "require success >= 0.5" + workers)
    decisions = {**ONE_BY_ONE, "step.vote": "majority", "step.votes": 3}
    model = evaluate(checked, None, decisions)
    sim = simulate(checked, None, decisions, runs=20000, seed=3)
    lo, hi = sim.wilson(z=4.0)
    assert lo <= model.success <= hi
    for metric in ("calls", "cost", "latency", "latency_calls"):
        m = sim.metrics[metric]
        assert abs(m.mean - getattr(model.metrics, metric)) <= 4 * m.stderr + 1e-9, metric


@pytest.mark.parametrize("order", [AFTER, BEFORE])
@pytest.mark.parametrize(
    ("require", "objective"),
    [
        ("require success >= 0.99", "minimize cost"),
        ("require success >= 0.9999", "minimize cost"),
        ("require cost <= 40000", "maximize success"),
        ("require latency <= 60", "minimize cost"),
        ("require success >= 0.9\n  workers 2", "minimize latency"),
        ("require success >= 0.999\n  workers 2", "minimize cost"),
    ],
)
@pytest.mark.parametrize("solver", ["dp", "cpsat"])
def test_the_optimum_of_a_partial_repeat_is_the_exhaustive_one(order, require, objective, solver):
    from oracles.exhaustive import search

    checked = spec(order, require, objective)
    result = optimize(checked, solver=solver)
    brute = search(checked)
    assert result.feasible == brute.feasible
    if brute.feasible:
        metric = result.objective[1]
        assert result.plan.value(metric) == pytest.approx(brute.value, rel=1e-12)
        again = evaluate(checked, None, result.plan.decisions)
        assert again.success == pytest.approx(result.plan.success, rel=1e-12)
    assert any("beside the other stages" in n for n in result.notes)


@pytest.mark.parametrize(
    ("order", "require"),
    [
        # a reduce reads the repeated map's chunks: one block holds both stages
        (("repeat map check over xs 3 then vote", "reduce merge"), "require success >= 0.9"),
        # an item's accuracy under the vote is only bounded
        (AFTER, "require accuracy of xs >= 0.9"),
    ],
)
def test_what_the_optimizer_cannot_plan_is_e609(order, require) -> None:
    with pytest.raises(SpecError) as err:
        optimize(spec(order, require))
    assert [d.code for d in err.value.diagnostics] == [codes.REPEAT_NOT_PLANNED]


@pytest.mark.parametrize(("order", "k"), [(AFTER, 3), (BEFORE, 5)])
@pytest.mark.parametrize("workers", ["", "\n  workers 2"])
def test_the_python_program_runs_the_stage_k_times_and_the_rest(tmp_path, order, k, workers):
    from aalp.backends.base import write
    from aalp.sim.harness import make_input, run_program
    from test_e2e import FAST, served

    checked = spec(order, "require success >= 0.99" + workers)
    compiled = api.compile(checked)
    write(compiled.files, str(tmp_path))
    program = tmp_path / compiled.files[0].path
    source = program.read_text()
    stage = next(i for i, o in enumerate(order) if o.startswith("repeat"))
    assert f"async def repeated_{stage}(" in source and 'f"r{k}/"' in source
    with served(checked, seed=7) as server:
        run = run_program(program, server.url, tmp_path, make_input(checked), FAST)
        stats = server.core.stats()
    assert run.returncode == 0, run.stderr
    assert stats["calls"] == run.report["calls"]
    low, high = compiled.view["prediction"]["calls_interval"]
    assert low <= run.report["calls"] <= high
    # per op as predicted: the map's checks once, the chain's steps in each of the k runs
    predicted = compiled.view["prediction"]["calls_by_op"]
    assert stats["by_op"] == {op: round(n) for op, n in predicted.items() if n}
    alone = spec(
        tuple(o.replace("repeat ", "").replace(f" {k} then vote", "") for o in order),
        "require success >= 0.99" + workers,
    )
    once = api.compile(alone, decisions=compiled.view["decisions"])
    assert stats["by_op"]["step"] == k * once.view["prediction"]["calls_by_op"]["step"]
    assert stats["by_op"]["check"] == once.view["prediction"]["calls_by_op"]["check"]


def nested_then_chain(bound: str) -> api.Checked:
    """A repeated map with a chain nested in it, then a chain over other data."""
    from test_repeat import NESTED

    text = NESTED.replace("can part, merge", "can part, merge, fin")
    text = text.replace("  steps hops = 3\n", "  steps hops = 3\n  steps ends = 2\n")
    text = text.replace(
        "  op merge on m {",
        "  op fin on m {\n    reads 30 tokens\n    writes 10 tokens\n    success 0.96\n  }\n"
        "  op merge on m {",
    )
    text = text.replace(
        "  } 3 then vote\n  maximize success",
        f"  }} 3 then vote\n  chain fin over ends\n  require cost <= {bound}\n  maximize success",
    )
    return api.check(api.parse(text))


@pytest.mark.parametrize("bound", ["100000", "400000", "2000000"])
def test_a_repeated_block_then_a_chain_is_the_exhaustive_optimum(bound: str) -> None:
    from oracles.exhaustive import search

    checked = nested_then_chain(bound)
    result = optimize(checked)
    brute = search(checked)
    assert result.feasible == brute.feasible
    if brute.feasible:
        assert result.plan.success == pytest.approx(brute.value, rel=1e-12)


def test_the_python_program_runs_a_repeated_block_then_the_rest(tmp_path) -> None:
    from aalp.backends.base import write
    from aalp.sim.harness import make_input, run_program
    from test_e2e import FAST, served

    checked = nested_then_chain("2000000")
    compiled = api.compile(checked)
    write(compiled.files, str(tmp_path))
    with served(checked, seed=3) as server:
        program = tmp_path / compiled.files[0].path
        run = run_program(program, server.url, tmp_path, make_input(checked), FAST)
        stats = server.core.stats()
    assert run.returncode == 0, run.stderr
    predicted = compiled.view["prediction"]["calls_by_op"]
    assert stats["by_op"] == {op: round(n) for op, n in predicted.items() if n}
    # the map and its nested chain run under the 3 runs' prefixes, the final chain once after
    repeated = {key.split("/")[0] for key in stats["keys"] if "/fin" not in key}
    assert repeated == {"r0", "r1", "r2"}
    assert all(not key.startswith("r") for key in stats["keys"] if "/fin" in key)

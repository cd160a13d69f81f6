"""The LangGraph target seen through LangGraph's own tools.

The graph ``get_graph()`` draws is the plan's shape (every node and edge, none orphaned);
``max_concurrency`` bounds the calls in flight; a killed run resumes from the checkpoints
``langgraph-checkpoint-sqlite`` kept, without making the finished steps' calls again.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aalp.backends import registry
from aalp.backends.base import write
from conftest import TELEMETRY_OFF
from targets import world
from targets_env import venv_python
from test_target_frameworks import plan
from test_target_verifier import compiled

HERE = Path(__file__).resolve().parent


def _drive(mode: str, view: dict, data: dict, tmp_path: Path, *extra: str, **env: str):
    program = write(registry.get("langgraph").emit(view), str(tmp_path))[0]
    (tmp_path / "view.json").write_text(json.dumps(view))
    (tmp_path / "input.json").write_text(json.dumps(data))
    paths = [str(tmp_path / "view.json"), str(tmp_path / "input.json")]
    return subprocess.run(
        [
            venv_python("langgraph"),
            str(HERE / "targets" / "langgraph_graph.py"),
            mode,
            program,
            *paths,
            *extra,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **TELEMETRY_OFF, **env},
        timeout=300,
        check=False,
    )


def _json(run: subprocess.CompletedProcess) -> Any:
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def expected_edges(view: dict) -> set[tuple[str, str]]:
    """The plan's topology as graph edges: a stage's start sends its first op's calls; each
    op's calls feed its tally, which sends the next round, its verifier's calls (whose tally
    sends them again, the op's next tries or moves on), the next op, the chain's next step
    or the reduce tree's next level, or the next stage."""
    stages = [s for s in view["stages"] if s["kind"] != "route"]
    names = [f"s{s['index']}" for s in stages] + ["__end__"]
    edges = {("__start__", names[0])}
    for position, stage in enumerate(stages):
        node, after = names[position], names[position + 1]
        if stage["kind"] == "combine":
            edges.add((node, after))
            continue
        ops = [stage["op"]] if stage["kind"] == "reduce" else list(stage["ops"])
        phases = []
        for op in ops:
            router = view["ops"][op]["routed_by"]
            phases += [router, op] if router else [op]
        nodes = [f"{node}_{op}" for op in phases]
        edges.add((node, nodes[0] + "_call"))
        if stage["kind"] != "chain":
            edges.add((node, after))  # no chunks, or a tree of one value
        for i, (op, tally) in enumerate(zip(phases, nodes, strict=True)):
            if i + 1 < len(nodes):
                done = {nodes[i + 1] + "_call"}
            elif stage["kind"] == "map":
                done = {after}
            else:
                done = {nodes[0] + "_call", after}
            edges |= {(tally + "_call", tally), (tally, tally + "_call")}
            booster = view["ops"][op]["booster"]
            if booster["kind"] == "retry" and booster["check"] != "exact":
                judge = tally + "_verify"
                edges |= {(tally, judge + "_call"), (judge + "_call", judge)}
                edges |= {(judge, judge + "_call"), (judge, tally + "_call")}
                edges |= {(judge, target) for target in done}
            edges |= {(tally, target) for target in done}
    return edges


CASES = {
    "hanoi": lambda: plan("hanoi"),
    "counting": lambda: plan("counting"),
    "routing": lambda: plan("routing"),
    "verified": lambda: compiled("langgraph").view,
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_drawn_graph_is_the_plans_shape(case: str, tmp_path: Path) -> None:
    view = CASES[case]()
    got = _json(_drive("shape", view, {}, tmp_path))
    edges = {(source, target) for source, target, _ in got["edges"]}
    assert edges == expected_edges(view)
    nodes = set(got["nodes"])
    assert nodes == {name for edge in edges for name in edge}  # no orphan node
    # a call node always returns to its tally; every other edge out of a node is conditional
    # but the start's, a combine's and the entry's
    plain = {(s, t) for s, t, conditional in got["edges"] if not conditional}
    assert {(s, t) for s, t in plain if s.endswith("_call")} == {
        (s, t) for s, t in edges if s.endswith("_call")
    }
    assert "__end__" in got["mermaid"]


def test_max_concurrency_bounds_the_calls_in_flight(tmp_path: Path) -> None:
    """20 chunks × 3 votes ready at once, at most ``MAX_CONCURRENCY`` (16) in flight."""
    view = plan("counting")
    view["stages"][0].update(x=2, stride=2, chunks=20)
    got = _json(_drive("concurrency", view, world.make_input("counting", 40), tmp_path))
    assert got["calls"] == {"count": 60}
    assert got["peak"] == got["bound"] == 16


def test_a_killed_run_resumes_from_its_checkpoints(tmp_path: Path) -> None:
    """Hanoi, 15 moves × 3 votes: the process dies at the 20th call; the second run goes on
    from the checkpoints and makes only the calls the first had not finished."""
    view = plan("hanoi")
    data = world.make_input("hanoi", 4)
    checkpoints = str(tmp_path / "runs.sqlite")
    killed = _drive("resume", view, data, tmp_path, checkpoints, AALP_KILL_AT="20")
    assert killed.returncode == 17, killed.stderr[-3000:]
    got = _json(_drive("resume", view, data, tmp_path, checkpoints))
    assert got["result"]["state"] == [[], [], [4, 3, 2, 1]]
    assert got["calls"] == {"move": 45}  # the run's count: each call once, over both runs
    assert 45 - 19 <= got["made"] <= 45 - 18  # the killed call, maybe a finished one too
    again = _json(_drive("resume", view, data, tmp_path, checkpoints))
    assert again["made"] == 0 and again["result"] == got["result"]  # a finished thread

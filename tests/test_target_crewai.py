"""The CrewAI target seen through CrewAI's own tools, and run offline.

The flow ``build_flow_structure`` (what ``Flow.plot`` draws) sees is the plan's chain of
stages, one method each; every op's call is a crew of one agent and one task with the op's
answer model as ``output_pydantic`` and a converter that never asks the LLM again. The program
run against the simulated LLM, with none of CrewAI's telemetry switches set and a guard
refusing any connect beyond loopback, reaches nothing but the endpoint.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aalp.api import compile as emit
from aalp.backends import registry
from aalp.backends.base import write
from aalp.backends.frameworks import ANSWERS
from aalp.backends.view import float_env
from aalp.checks.loader import load
from aalp.sim.core import SimCore
from aalp.sim.oracles import family_of, oracle
from aalp.sim.server import SimServer
from conftest import TELEMETRY_OFF
from targets import world
from targets_env import venv_python
from test_target_frameworks import plan
from test_target_verifier import compiled

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GUARD = HERE / "targets" / "ray_guard"


def _sorting() -> dict:
    decisions = {"sort.x": 250, "sort.model": "gpt4omini", "merge.model": "gpt4omini"}
    return emit(load(ROOT / "samples" / "sorting.aalp", {}), "crewai", decisions=decisions).view


CASES = {
    "hanoi": lambda: plan("hanoi"),
    "counting": lambda: plan("counting"),
    "routing": lambda: plan("routing"),
    "sorting": _sorting,
    "verified": lambda: compiled("crewai").view,
}


def _shape(view: dict, tmp_path: Path) -> dict[str, Any]:
    program = write(registry.get("crewai").emit(view), str(tmp_path))[0]
    (tmp_path / "view.json").write_text(json.dumps(view))
    (tmp_path / "input.json").write_text("{}")
    run = subprocess.run(
        [
            venv_python("crewai"),
            str(HERE / "targets" / "crewai_flow.py"),
            program,
            str(tmp_path / "view.json"),
            str(tmp_path / "input.json"),
            str(tmp_path / "flow.html"),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **TELEMETRY_OFF},
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("case", list(CASES))
def test_the_flow_is_the_plans_stages_and_every_op_a_crew(case: str, tmp_path: Path) -> None:
    view = CASES[case]()
    got = _shape(view, tmp_path)
    # a route stage runs inside the stage it routes: every other stage is one flow method,
    # listening to the one before
    stages = [f"s{s['index']}" for s in view["stages"] if s["kind"] != "route"]
    assert got["nodes"] == sorted(stages)
    assert got["start"] == stages[:1]
    assert got["edges"] == sorted([a, b] for a, b in itertools.pairwise(stages))
    assert got["plotted"]
    assert sorted(got["crews"]) == sorted(view["ops"])  # verifiers and routers too
    for op, crew in got["crews"].items():
        spec = view["ops"][op]
        assert crew["agents"] == [op] and crew["goals"] == [spec["system"]]
        (schema,) = crew["schemas"]
        assert schema["required"] == ["answer"]
        assert schema["properties"]["answer"]["type"] == "string"
        assert schema["properties"]["answer"]["description"] == ANSWERS[spec["answer"]]
        assert crew["converters"] == ["AnswerConverter"]
        assert crew["max_iter"] == [1] and crew["max_retry_limit"] == [0]  # no hidden calls


#: what a test run sets that the program must not need to stay offline
CREWAI_SWITCHES = (
    "CREWAI_DISABLE_TELEMETRY",
    "CREWAI_DISABLE_TRACKING",
    "CREWAI_TRACING_ENABLED",
    "CREWAI_DISABLE_VERSION_CHECK",
    "OTEL_SDK_DISABLED",
)


#: the same switches, set by a user who wants CrewAI's telemetry and traces
OPTED_IN = {
    "CREWAI_DISABLE_TELEMETRY": "false",
    "CREWAI_DISABLE_TRACKING": "false",
    "CREWAI_TRACING_ENABLED": "true",
    "CREWAI_DISABLE_VERSION_CHECK": "false",
    "OTEL_SDK_DISABLED": "false",
}


def _offline_env(log: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CREWAI_SWITCHES}
    env = {k: v for k, v in env.items() if "PROXY" not in k.upper()}  # nothing to hide behind
    env.update(
        PYTHONPATH=str(GUARD),
        AALP_NET_GUARD_LOG=str(log),
        OPENAI_API_KEY="dummy",
        CREWAI_STORAGE_DIR=TELEMETRY_OFF["CREWAI_STORAGE_DIR"],
    )
    return env


@pytest.mark.parametrize("opt_in", [False, True], ids=["defaults", "telemetry-on"])
def test_the_program_reaches_only_its_endpoint(opt_in: bool, tmp_path: Path) -> None:
    """With no switch set the program's own defaults keep CrewAI offline; a user who opts
    back in (the switches set the other way) sends CrewAI's telemetry, which the guard sees."""
    python = venv_python("crewai")
    log = tmp_path / "network.log"
    log.write_text("")
    checked = load(ROOT / "samples" / "counting.aalp", {"n": "400"})
    decisions = {"count.x": 100, "count.model": "gpt4omini", "count.vote": "none"}
    result = emit(checked, "crewai", decisions=decisions)
    program = write(result.files, str(tmp_path))[0]
    task = result.resolved.task
    env = float_env(checked.env)
    family = oracle(family_of(task))
    data = family.make_input(task, env, 3)
    (tmp_path / "input.json").write_text(json.dumps(data))
    core = SimCore(checked, seed=1)
    with SimServer(core) as server:
        run = subprocess.run(
            [python, program, "--input", str(tmp_path / "input.json"), "--base-url", server.url],
            capture_output=True,
            text=True,
            env={**_offline_env(log), **(OPTED_IN if opt_in else {})},
            cwd=tmp_path,  # its run-report.json goes to the working directory
            timeout=300,
            check=False,
        )
    assert run.returncode == 0, run.stderr[-3000:]
    assert json.loads((tmp_path / "run-report.json").read_text())["status"] == "done"
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["result"] == family.expected(task, env, data)
    assert out["calls"] == core.stats()["by_op"]
    if opt_in:
        assert "telemetry.crewai.com" in log.read_text()
    else:
        assert log.read_text() == ""  # no telemetry, no trace, no version check went out


def test_the_guard_sees_a_connect_beyond_loopback(tmp_path: Path) -> None:
    """The guard above is live in the CrewAI venv: a connect to a private address is refused
    and written down, so an empty log means nothing tried."""
    log = tmp_path / "network.log"
    log.write_text("")
    probe = (
        "import socket\ntry:\n    socket.create_connection(('10.255.255.1', 80), 1)\n"
        "except OSError:\n    pass\n"
    )
    subprocess.run(
        [venv_python("crewai"), "-c", probe], env=_offline_env(log), timeout=60, check=True
    )
    assert "10.255.255.1" in log.read_text()


def _resume(view: dict, data: dict, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    program = write(registry.get("crewai").emit(view), str(tmp_path))[0]
    (tmp_path / "view.json").write_text(json.dumps(view))
    (tmp_path / "input.json").write_text(json.dumps(data))
    paths = [str(tmp_path / "view.json"), str(tmp_path / "input.json")]
    return subprocess.run(
        [
            venv_python("crewai"),
            str(HERE / "targets" / "crewai_resume.py"),
            program,
            *paths,
            str(tmp_path / "states.sqlite"),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **TELEMETRY_OFF, **env},
        timeout=300,
        check=False,
    )


def test_a_killed_run_resumes_from_the_flows_persistence(tmp_path: Path) -> None:
    """Hanoi, 15 moves x 3 votes: the process dies at its 20th call, in the 7th round of
    samples; the second run restores the flow's state from ``SQLiteFlowPersistence`` (saved
    after every round), replays the 18 answers of the six rounds done and makes the rest."""
    view = plan("hanoi")
    data = world.make_input("hanoi", 4)
    killed = _resume(view, data, tmp_path, AALP_KILL_AT="20")
    assert killed.returncode == 17, killed.stderr[-3000:]
    again = _resume(view, data, tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    got = json.loads(again.stdout.strip().splitlines()[-1])
    assert got["result"]["state"] == [[], [], [4, 3, 2, 1]]
    assert got["calls"] == {"move": 45}  # the run's count: each call once, over both runs
    assert got["made"] == 45 - 18  # the round in flight is asked again, nothing before it
    done = json.loads(_resume(view, data, tmp_path).stdout.strip().splitlines()[-1])
    assert done["made"] == 0 and done["result"] == got["result"]  # every answer replayed

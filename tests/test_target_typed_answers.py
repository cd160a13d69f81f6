"""LangGraph and DSPy programs ask for typed answers in their frameworks' own ways, and the
answers still count as in every other target.

LangGraph: an op whose answer is a number, a list or a choice asks ``ChatOpenAI`` for it
through ``with_structured_output`` (a JSON schema of one typed field); the simulated server
answers in that field. DSPy: the op's signature types its output field (``float`` for a
number), which DSPy's ``ChatAdapter`` states in the prompt. Both run counting against the
simulated LLM, with garbled answers among the right ones: the sum stays exact and the calls
the server answered are the program's.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from pathlib import Path
from typing import Any

from aalp.api import compile as emit
from aalp.backends.base import write
from aalp.backends.view import float_env
from aalp.checks.loader import load
from aalp.sim.core import Faults, SimCore
from aalp.sim.oracles import family_of, oracle
from aalp.sim.server import SimServer
from conftest import TELEMETRY_OFF
from targets_env import venv_python

ROOT = Path(__file__).resolve().parent.parent


class Recording(SimCore):
    """The simulated LLM, keeping every request body it answers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bodies: list[dict[str, Any]] = []
        self.guard = threading.Lock()

    def complete(self, body: dict[str, Any], key: str | None = None) -> dict[str, Any]:
        response = super().complete(body, key)
        with self.guard:
            self.bodies.append(body)
        return response


def _run(target: str, tmp_path: Path) -> tuple[Recording, dict[str, Any], Any]:
    python = venv_python(target)
    checked = load(ROOT / "samples" / "counting.aalp", {"n": "1000"})
    decisions = {"count.x": 100, "count.model": "gpt4omini", "count.vote": "none"}
    compiled = emit(checked, target, decisions=decisions)
    program = write(compiled.files, str(tmp_path))[0]
    task = compiled.resolved.task
    env = float_env(checked.env)
    family = oracle(family_of(task))
    data = family.make_input(task, env, 5)
    (tmp_path / "input.json").write_text(json.dumps(data))
    core = Recording(checked, seed=3, faults=Faults(malformed_rate=0.3))
    with SimServer(core) as server:
        run = subprocess.run(
            [
                python,
                program,
                *("--input", str(tmp_path / "input.json"), "--base-url", server.url),
                *("--report", str(tmp_path / "report.json")),
            ],
            capture_output=True,
            text=True,
            env={**os.environ, **TELEMETRY_OFF},
            cwd=tmp_path,
            timeout=600,
            check=False,
        )
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["result"] == family.expected(task, env, data)
    stats = core.stats()
    assert out["calls"] == stats["by_op"]
    assert stats["faults"]["malformed"] > 0  # garbled answers were drawn, and not counted
    # the report's tokens are the server's: LangGraph's from the structured reply's raw
    # message, DSPy's from its own usage tracking
    report = json.loads((tmp_path / "report.json").read_text())
    served = core.stats()["tokens"]
    assert [report["prompt_tokens"], report["completion_tokens"]] == [
        served["prompt"],
        served["completion"],
    ]
    assert served["prompt"] > 0 and served["completion"] > 0
    return core, out, data


def test_langgraph_asks_for_a_number_through_structured_output(tmp_path: Path) -> None:
    core, _, _ = _run("langgraph", tmp_path)
    assert core.bodies
    for body in core.bodies:
        schema = body["response_format"]["json_schema"]["schema"]
        assert schema["properties"]["answer"]["type"] == "number"
        assert schema["required"] == ["answer"]


def test_dspy_types_the_answer_field(tmp_path: Path) -> None:
    core, _, _ = _run("dspy", tmp_path)
    assert core.bodies
    for body in core.bodies:
        system = body["messages"][0]["content"]
        assert "`answer` (float)" in system, system
        assert "must be formatted as a valid Python float" in body["messages"][-1]["content"]


def test_dspy_usage_tracking_sees_every_call_of_the_plan(tmp_path: Path) -> None:
    """Under ``dspy.configure(track_usage=True)`` the plan's prediction carries the usage of
    every call its ``dspy.Parallel`` threads made: the server's tokens, to the token."""
    checked = load(ROOT / "samples" / "counting.aalp", {"n": "1000"})
    decisions = {"count.x": 100, "count.model": "gpt4omini", "count.vote": "majority"}
    compiled = emit(checked, "dspy", decisions={**decisions, "count.votes": 3})
    program = write(compiled.files, str(tmp_path))[0]
    task = compiled.resolved.task
    family = oracle(family_of(task))
    data = family.make_input(task, float_env(checked.env), 5)
    (tmp_path / "input.json").write_text(json.dumps(data))
    core = Recording(checked, seed=3)
    driver = str(Path(__file__).resolve().parent / "targets" / "dspy_usage.py")
    with SimServer(core) as server:
        run = subprocess.run(
            [venv_python("dspy"), driver, program, server.url, str(tmp_path / "input.json")],
            capture_output=True,
            text=True,
            env={**os.environ, **TELEMETRY_OFF},
            cwd=tmp_path,
            timeout=600,
            check=False,
        )
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["calls"] == core.stats()["by_op"] == {"count": 30}  # 10 chunks, 3 votes each
    (usage,) = out["usage"].values()
    served = core.stats()["tokens"]
    assert [usage["prompt_tokens"], usage["completion_tokens"]] == [
        served["prompt"],
        served["completion"],
    ]

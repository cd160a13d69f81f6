"""The framework targets' programs run through their frameworks' real OpenAI clients against
the simulated LLM (``aalp serve-sim``'s server, in-process on 127.0.0.1).

Each program's ``main`` (``ChatOpenAI``; ``dspy.LM`` in DSPy's field format; the Agents SDK's
``OpenAIChatCompletionsModel``) runs hanoi with 4 disks, counting, sorting (a reduce tree) and
routing in its framework's venv. The result must be the oracle's right answer, the server must
have answered exactly the calls the program reports, and that count must lie in the header's
predicted interval.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
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

#: sample -> (-D overrides, the plan's decisions: reliable plans, so the answer must be right)
PLANS = {
    "hanoi": (
        {"disks": "4"},
        {"move.x": 1, "move.model": "gpt41mini", "move.vote": "ahead_by", "move.votes": 2},
    ),
    # chunks small enough that every count is right w.p. > 0.999, so the sum is exact
    "counting": ({"n": "400"}, {"count.x": 100, "count.model": "gpt4omini", "count.vote": "none"}),
    # a reduce tree (fan-in 2) merging sorted chunks, every call voted
    "sorting": (
        {},
        {
            "sort.x": 250,
            "sort.model": "gpt4omini",
            "sort.vote": "ahead_by",
            "sort.votes": 2,
            "merge.model": "gpt4omini",
            "merge.vote": "ahead_by",
            "merge.votes": 2,
        },
    ),
    # the classifier routes every query; votes on the routed solver make every answer right
    "routing": (
        {"queries": "12"},
        {
            "classify.model": "delegator",
            "classify.vote": "none",
            "solve.model": "specialist",
            "solve.vote": "ahead_by",
            "solve.votes": 2,
        },
    ),
}


#: targets whose calls' tokens are the framework's usage of each call (the Agents SDK's run
#: result, AutoGen's ``models_usage``), so the report's totals are the server's exactly
USAGE_READ = ("openai-agents", "autogen")


@pytest.mark.parametrize("sample", list(PLANS))
@pytest.mark.parametrize("target", ["langgraph", "dspy", "openai-agents", "autogen", "crewai"])
def test_program_against_simulated_llm(target: str, sample: str, tmp_path: Path) -> None:
    python = venv_python(target)
    overrides, decisions = PLANS[sample]
    checked = load(ROOT / "samples" / f"{sample}.aalp", overrides)
    compiled = emit(checked, target, decisions=decisions)
    program = write(compiled.files, str(tmp_path))[0]
    task = compiled.resolved.task
    env = float_env(checked.env)
    family = oracle(family_of(task))
    data = family.make_input(task, env, 7)
    (tmp_path / "input.json").write_text(json.dumps(data))
    core = SimCore(checked, seed=7)
    with SimServer(core) as server:
        run = subprocess.run(
            [python, program, "--input", str(tmp_path / "input.json"), "--base-url", server.url],
            capture_output=True,
            text=True,
            env={**os.environ, **TELEMETRY_OFF},
            cwd=tmp_path,  # its journal and run report go there
            timeout=600,
            check=False,
        )
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    result = out["result"]
    if sample == "hanoi":
        result = family.final_state(result)  # the pegs, in whichever shape the answer took
    assert result == family.expected(task, env, data)
    served = core.stats()["by_op"]
    assert out["calls"] == served  # every call the server answered is one the program counted
    low, high = compiled.view["prediction"]["calls_interval"]
    assert low <= sum(served.values()) <= high
    if target in USAGE_READ:  # the report's tokens are the usage the server sent
        report = json.loads((tmp_path / "run-report.json").read_text(encoding="utf-8"))
        tokens = core.stats()["tokens"]
        assert (report["prompt_tokens"], report["completion_tokens"]) == (
            tokens["prompt"],
            tokens["completion"],
        )


HOSTILE_SEEDS = {"autogen": 4}


@pytest.mark.parametrize("target", ["langgraph", "dspy", "openai-agents", "autogen", "crewai"])
def test_hostile_endpoint_changes_no_answer(target: str, tmp_path: Path) -> None:
    """HTTP 500s and 200s without an answer (every kind) are retried and are not calls; garbled
    answers (counting declares no red flag) are red flags, never votes: the sum stays exact."""
    python = venv_python(target)
    checked = load(ROOT / "samples" / "counting.aalp", {"n": "2000"})
    decisions = {"count.x": 100, "count.model": "gpt4omini", "count.vote": "none"}
    compiled = emit(checked, target, decisions=decisions)
    program = write(compiled.files, str(tmp_path))[0]
    task = compiled.resolved.task
    env = float_env(checked.env)
    family = oracle(family_of(task))
    data = family.make_input(task, env, 3)
    (tmp_path / "input.json").write_text(json.dumps(data))
    faults = Faults(fail_rate=0.1, malformed_rate=0.15, broken_rate=0.25)
    # faults are drawn from a hash of each request body, which differs by client: a seed
    # that gives this target's requests every kind of fault
    core = SimCore(checked, seed=HOSTILE_SEEDS.get(target, 3), faults=faults)
    with SimServer(core) as server:
        args = [program, "--input", str(tmp_path / "input.json"), "--base-url", server.url]
        run = subprocess.run(
            [python, *args, "--backoff", "0.001"],
            capture_output=True,
            text=True,
            env={**os.environ, **TELEMETRY_OFF},
            cwd=tmp_path,  # its journal and run report go there
            timeout=600,
            check=False,
        )
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["result"] == family.expected(task, env, data)
    stats = core.stats()
    assert out["calls"] == stats["by_op"]  # a garbled answer is a call; a broken 200 is not
    faulty = stats["faults"]
    assert faulty["malformed"] > 0 and faulty["broken_response"] > 0 and faulty["http_500"] > 0
    retried = faulty["broken_response"] + faulty["http_500"]
    assert f"(retried, not calls of the plan): {retried}" in run.stderr

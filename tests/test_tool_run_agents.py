"""Tool ops run end to end in the OpenAI Agents SDK program (docs/targets.md, "OpenAI Agents
SDK"): each spec tool is an SDK ``FunctionTool`` over its function in the emitted tools.py, the
plan invokes it for every call of a tool op, and the run holds against the cost model as the
python target's does (tests/test_tool_run.py): tool calls per decision under ``allow retry max
3 until V``, dollars at the tool's price per call, budget stops whose resume calls no tool
twice. The programs run in the Agents SDK's venv against the simulated server; the tool calls
carry the plan's call keys (``X-Aalp-Call``), the model calls do not (the server keys those by
a hash of the request and how often it was seen).
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aalp import api
from aalp.backends.base import write
from aalp.front import ir
from aalp.front.parser import parse
from aalp.sim import Faults, SimCore, SimServer
from aalp.sim.harness import make_input, run_program
from conftest import TELEMETRY_OFF
from targets_env import venv_python
from test_backend import ruff_clean
from test_tool_run import PINS, PRICE, SPEC, _dollars, _tries

TARGET = "openai-agents"
N = 100  # decisions of the tool op in the Monte Carlo run
#: a key the server made up for a request that came without one
UNKEYED = re.compile(r"[0-9a-f]{16}:[0-9]+")


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    report: dict[str, Any]
    served: list[str]  # the call keys the server answered during this run


def _checked(n: int):
    return api.check(parse(f"param n = {n}\n" + SPEC))


def _compiled(n: int, folder: Path, target: str = TARGET) -> tuple[Any, Path]:
    checked = _checked(n)
    done = api.compile(checked, target, pins=PINS)
    write(done.files, str(folder))
    return done, folder / done.files[0].path


def _server(n: int, seed: int, **options: Any) -> SimServer:
    success = {op: ir.Num(p) for op, p in options.pop("success", {}).items()}
    core = SimCore(_checked(n), seed=seed, success=success, faults=Faults(**options))
    return SimServer(core)


def _run(program: Path, server: SimServer, data: Any, *flags: str) -> Outcome:
    """The Agents SDK program once, in its venv, on ``data``; what the server answered."""
    folder = program.parent
    (folder / "input.json").write_text(json.dumps(data), encoding="utf-8")
    report = folder / "run-report.json"
    report.unlink(missing_ok=True)
    before = len(server.core.stats()["keys"])
    argv = [venv_python(TARGET), str(program), "--base-url", server.url, "--progress", "off"]
    argv += ["--input", str(folder / "input.json"), "--backoff", "0.005"]
    done = subprocess.run(
        [*argv, *flags],
        capture_output=True,
        text=True,
        env={**os.environ, **TELEMETRY_OFF},
        cwd=folder,
        timeout=600,
        check=False,
    )
    got = json.loads(report.read_text(encoding="utf-8")) if report.exists() else {}
    served = server.core.stats()["keys"][before:]
    return Outcome(done.returncode, done.stdout, done.stderr, got, served)


def _result(got: Outcome) -> Any:
    return json.loads(got.stdout.strip().splitlines()[-1])["result"]


def test_compile_writes_the_python_targets_tools_py_beside_the_program(tmp_path: Path) -> None:
    done, _ = _compiled(4, tmp_path / "agents")
    _compiled(4, tmp_path / "python", "python")
    names = sorted(f.path for f in done.files)
    assert names == ["aalp_runtime.py", "ask_agents.py", "tools.py"]
    tools = (tmp_path / "python" / "tools.py").read_text(encoding="utf-8")
    assert (tmp_path / "agents" / "tools.py").read_text(encoding="utf-8") == tools
    program = (tmp_path / "agents" / "ask_agents.py").read_text(encoding="utf-8")
    assert "'tool': {'name': 'web', 'latency': 0.3, 'function': 'web'}" in program
    assert f"'price_call': {PRICE}" in program and "function_tool(" in program
    ruff_clean(tmp_path / "agents")


def test_tool_calls_per_decision_match_the_retry_model(tmp_path: Path) -> None:
    done, program = _compiled(N, tmp_path)
    mean, var = _tries()
    assert done.view["prediction"]["calls_by_op"]["search"] == pytest.approx(N * mean)
    with _server(N, seed=7) as server:
        got = _run(program, server, make_input(_checked(N), seed=6), "--journal", "-")
        stats = server.core.stats()
    # a decision whose 3 tries were all rejected is reported (exhausted_retries), and the
    # run is done all the same, as the python target's
    assert got.report["status"] == "done", got.stderr[-3000:]
    assert got.code == 0
    assert got.report["calls_by_op"] == stats["by_op"] == json.loads(got.stdout)["calls"]
    tries = stats["by_op"]["search"] / N
    assert abs(tries - mean) <= 4 * math.sqrt(var / N), (tries, mean)
    # every try is one tool call and one verifier call on it
    assert stats["by_op"]["check"] == stats["by_op"]["search"]
    search = got.report["ops"]["search"]
    assert search["prompt_tokens"] == search["completion_tokens"] == 0
    assert got.report["prompt_tokens"] == stats["tokens"]["prompt"] > 0
    assert got.report["dollars"] == pytest.approx(_dollars(stats), abs=1e-9)
    # every call, tool or model, came with its own key
    assert not any(UNKEYED.fullmatch(key) for key in got.served), got.served
    assert len(set(got.served)) == len(got.served) == sum(stats["by_op"].values())


def test_the_same_result_as_the_python_target_when_every_try_is_right(tmp_path: Path) -> None:
    """With a tool and a verifier that are always right every decision ends at its first try
    on the right answer, in either target: the same result, one tool call per decision."""
    n, data = 8, make_input(_checked(8), seed=3)
    right = {"success": {"search": 1, "check": 1}}
    _, program = _compiled(n, tmp_path / "agents")
    _, reference = _compiled(n, tmp_path / "python", "python")
    with _server(n, seed=2, **right) as server:
        got = _run(program, server, data, "--journal", "-")
        agents = server.core.stats()["by_op"]
    with _server(n, seed=2, **right) as server:
        python = run_program(reference, server.url, tmp_path / "python", data, ["--fresh"])
    assert got.code == 0 and python.returncode == 0, got.stderr + python.stderr
    assert _result(got) == python.result
    assert agents == python.report["calls_by_op"] == {"search": n, "check": n}


def test_a_budget_stop_resumes_without_calling_a_tool_again(tmp_path: Path) -> None:
    _, program = _compiled(8, tmp_path)
    data = make_input(_checked(8), seed=2)
    journal = ["--journal", str(tmp_path / "ask.journal"), "--no-fsync"]
    with _server(8, seed=4) as server:
        reference = _run(program, server, data, "--journal", "-")
        server.core.reset()  # the same answers again, in the same order
        stopped = _run(program, server, data, *journal, "--max-calls", "5")
        resumed = _run(program, server, data, *journal)
        both = server.core.stats()
    assert reference.code == 0, reference.stderr[-3000:]
    assert stopped.code == 4 and stopped.report["status"] == "stopped", stopped.stderr
    assert len(stopped.served) == 5 == stopped.report["budget"]["calls"]
    assert resumed.code == 0, resumed.stderr[-3000:]
    assert resumed.report["replayed"] == 5
    assert _result(resumed) == _result(reference)
    # together the two runs asked the reference's calls, each once
    assert sorted(stopped.served + resumed.served) == sorted(reference.served)
    assert not any(UNKEYED.fullmatch(key) for key in both["keys"]), both["keys"]
    assert len(both["keys"]) == len(set(both["keys"]))
    assert resumed.report["calls_by_op"] == both["by_op"]
    assert resumed.report["dollars"] == pytest.approx(_dollars(both), abs=1e-9)


def test_a_dollar_budget_counts_the_tools_price(tmp_path: Path) -> None:
    _, program = _compiled(8, tmp_path)
    with _server(8, seed=4) as server:
        got = _run(
            program,
            server,
            make_input(_checked(8), seed=2),
            "--journal",
            "-",
            "--max-dollars",
            "0.003",
        )
        stats = server.core.stats()
    assert got.code == 4, got.stderr[-3000:]
    assert "--max-dollars" in got.report["stopped_by"]
    assert got.report["budget"]["dollars"] <= 0.003
    assert stats["by_op"]["search"] <= 3
    assert got.report["budget"]["dollars"] == pytest.approx(_dollars(stats), abs=1e-9)


def test_failed_tool_calls_are_retried_and_change_no_answer(tmp_path: Path) -> None:
    _, program = _compiled(6, tmp_path)
    data = make_input(_checked(6), seed=5)
    runs = []
    for rate in (0.0, 0.3):
        with _server(6, seed=9, fail_rate=rate) as server:
            runs.append((_run(program, server, data, "--journal", "-"), server.core.stats()))
    (clean, clean_stats), (faulty, faulty_stats) = runs
    assert clean.code == faulty.code == 0, faulty.stderr[-3000:]
    assert faulty.report["transport_errors"] == faulty_stats["faults"]["http_500"] > 0
    assert _result(faulty) == _result(clean) and faulty_stats["by_op"] == clean_stats["by_op"]


def test_tool_url_and_a_tools_file_of_ones_own(tmp_path: Path) -> None:
    """A route the server does not have is a 404, not tried again; a ``--tools`` file of
    one's own makes the tool calls instead of tools.py."""
    _, program = _compiled(3, tmp_path)
    data = make_input(_checked(3), seed=1)
    own = tmp_path / "my_tools.py"
    own.write_text("def web(op, request, call):\n    return '{\"hit\": 1}'\n", encoding="utf-8")
    with _server(3, seed=1) as server:
        missing = _run(program, server, data, "--journal", "-", "--tool-url", server.url + "/x")
        mine = _run(program, server, data, "--journal", "-", "--tools", str(own))
        stats = server.core.stats()
    assert missing.code == 1 and "refused" in missing.stderr and "404" in missing.stderr
    assert mine.report["status"] == "done", mine.stderr[-3000:]
    assert _result(mine) == [{"hit": 1}] * 3  # every search answered by the file of one's own
    assert "search" not in stats["by_op"]
    assert mine.report["calls_by_op"]["search"] >= 3


#: hands the program's SDK tool to an agent of one's own, whose model (a fake) asks for one
#: call of it and then answers with what it returned: the SDK's runner makes the tool call
HAND_TO_AN_AGENT = """
import asyncio, importlib.util, json, sys
from agents import Agent, FunctionTool, Model, ModelResponse, RunConfig, Runner, Usage
from openai.types.responses import (
    ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText,
)
spec = importlib.util.spec_from_file_location("ask_agents", sys.argv[1])
program = importlib.util.module_from_spec(spec)
spec.loader.exec_module(program)
program.runtime.use_plan(program.OPS, program.CHECKS)
parser = program.runtime.arguments("x", tools=True)
args = program.runtime.parse_args(["--base-url", sys.argv[2]], parser)
tool = program.sdk_tools(program.runtime.load_tools(args))["web"]
assert isinstance(tool, FunctionTool)
arguments = json.dumps({"op": "search", "request": {"items": [3], "x": 1}})


class Caller(Model):
    async def get_response(self, system_instructions, input, *args, **kwargs):
        done = [item for item in input if item.get("type") == "function_call_output"]
        if not done:
            out = ResponseFunctionToolCall(
                id="fc_1", call_id="call_1", name="web", arguments=arguments,
                type="function_call",
            )
        else:
            text = ResponseOutputText(type="output_text", text=done[0]["output"], annotations=[])
            out = ResponseOutputMessage(
                id="msg", type="message", role="assistant", status="completed", content=[text]
            )
        return ModelResponse(output=[out], usage=Usage(requests=1), response_id=None)

    def stream_response(self, *args, **kwargs):
        raise NotImplementedError


agent = Agent(name="researcher", tools=[tool], model=Caller())
result = asyncio.run(Runner.run(agent, "look it up", run_config=RunConfig(tracing_disabled=True)))
print(json.dumps({"name": tool.name, "schema": tool.params_json_schema,
                  "text": result.final_output}))
"""


def test_the_sdk_tool_is_one_an_agent_can_be_given(tmp_path: Path) -> None:
    _, program = _compiled(3, tmp_path)
    with _server(3, seed=1) as server:
        done = subprocess.run(
            [venv_python(TARGET), "-c", HAND_TO_AN_AGENT, str(program), server.url],
            capture_output=True,
            text=True,
            env={**os.environ, **TELEMETRY_OFF},
            timeout=300,
            check=False,
        )
        stats = server.core.stats()
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["name"] == "web" and sorted(got["schema"]["required"]) == ["op", "request"]
    assert isinstance(json.loads(got["text"]), int)  # the generic oracle's answer
    assert stats["keys"] == ["call_1"] and stats["by_op"] == {"search": 1}


def test_a_dry_run_projects_the_tools_dollars_and_calls_nothing(tmp_path: Path) -> None:
    done, program = _compiled(8, tmp_path)
    with _server(8, seed=1) as server:
        got = _run(program, server, make_input(_checked(8), seed=1), "--dry-run")
    assert got.code == 0 and got.served == [], got.stderr
    lines = dict(line.split(None, 1) for line in got.stdout.splitlines()[1:])
    predicted = done.view["prediction"]
    assert float(lines["dollars"]) == pytest.approx(predicted["dollars"], rel=1e-5)
    # by hand: each tool call at its price, each verifier call 100 tokens read and 2 written
    calls = predicted["calls_by_op"]
    by_hand = PRICE * calls["search"] + calls["check"] * (0.15 * 100 + 0.6 * 2) / 1e6
    assert predicted["dollars"] == pytest.approx(by_hand, rel=1e-9)

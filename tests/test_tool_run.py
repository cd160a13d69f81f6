"""Tool ops run end to end: the python target calls each tool through tools.py, the simulated
server answers ``POST /v1/tools/NAME`` (docs/targets.md, tools), and the run holds against the
cost model: tool calls per decision under ``allow retry max 3 until V``, dollars at the tool's
price per call, budget stops whose resume calls no tool twice."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest
from aalp import api
from aalp.front.parser import parse
from aalp.sim import Faults, SimCore, SimError
from aalp.sim.harness import make_input, run_program
from aalp.sim.tools import tool_call
from test_e2e import FAST, build, program_of, served

N = 300  # decisions of the tool op in the Monte Carlo run
A, C = 0.7, 0.99  # the tool's success, the verifier's
PRICE = 0.001

SPEC = f"""
model small {{ size 1  context 8k  price in 0.15 out 0.6 per Mtok  can check }}
tool web {{ price {PRICE} per call  latency 300 ms  success {A} }}
task ask {{
  items qs = n of 100 tokens
  op search on web {{ answer json }}
  op check on small {{ reads 100 tokens  writes 2 tokens  success {C}  answer choice }}
  map search over qs
  allow retry max 3 until check on search
  minimize dollars
}}
"""
PINS = ("search.retries=3",)


def _checked(n: int):
    return api.check(parse(f"param n = {n}\n" + SPEC))


def _tries() -> tuple[float, float]:
    """Hand-derived: the mean and variance of the tries of one decision. A try is accepted
    w.p. p = a c + (1 - a)(1 - c) (a right answer accepted, a wrong one accepted in error),
    and at most 3 are made: P(1) = p, P(2) = (1 - p) p, P(3) = (1 - p)^2."""
    p = A * C + (1 - A) * (1 - C)
    probs = {1: p, 2: (1 - p) * p, 3: (1 - p) ** 2}
    mean = sum(t * q for t, q in probs.items())
    return mean, sum(t * t * q for t, q in probs.items()) - mean * mean


def _dollars(stats: dict) -> float:
    """What the server's counts cost: each tool call at its price, each model call its
    tokens at the model's prices."""
    tokens = stats["tokens"]
    return (
        stats["by_op"].get("search", 0) * PRICE
        + (0.15 * tokens["prompt"] + 0.6 * tokens["completion"]) / 1e6
    )


def test_compile_writes_tools_py_and_the_program_calls_it(tmp_path: Path) -> None:
    compiled = build(_checked(4), tmp_path, PINS)
    assert sorted(f.path for f in compiled.files) == ["run_ask.py", "tools.py"]
    tools = (tmp_path / "tools.py").read_text()
    assert "def web(op: str, request: dict[str, Any], call: str) -> str:" in tools
    op = compiled.view["ops"]["search"]
    assert op["tool"] == {"name": "web", "latency": 0.3} and op["price_call"] == PRICE
    assert op["reads"] == op["writes"] == 0


def test_tool_calls_per_decision_match_the_retry_model(tmp_path: Path) -> None:
    checked = _checked(N)
    compiled = build(checked, tmp_path, PINS)
    mean, var = _tries()
    predicted = compiled.view["prediction"]["calls_by_op"]
    # the prediction's expected calls are the closed form's: every try one tool call and one
    # verifier call
    assert predicted["search"] == pytest.approx(N * mean, rel=1e-9)
    assert predicted["check"] == pytest.approx(N * mean, rel=1e-9)
    # and the cost model's: N decisions, each try a tool call and a verifier call
    calls = compiled.resolved.evaluation.metrics.calls
    assert calls == pytest.approx(2 * N * mean, rel=1e-9)
    with served(checked, seed=7) as server:
        data = make_input(checked, seed=6)
        run = run_program(program_of(compiled, tmp_path), server.url, tmp_path, data, FAST)
        stats = server.core.stats()
    assert run.returncode == 0, run.stderr
    assert run.report["calls_by_op"] == stats["by_op"]
    got = stats["by_op"]["search"] / N
    error = math.sqrt(var / N)
    assert abs(got - mean) <= 4 * error, (got, mean, error)
    assert run.report["dollars"] == pytest.approx(_dollars(stats), abs=1e-9)
    low, high = compiled.view["prediction"]["calls_interval"]
    assert low <= run.report["calls"] <= high


def test_the_report_prices_a_tool_call_and_counts_no_tokens(tmp_path: Path) -> None:
    checked = _checked(5)
    compiled = build(checked, tmp_path, PINS)
    data = make_input(checked, seed=1)
    with served(checked, seed=3) as server:
        run = run_program(program_of(compiled, tmp_path), server.url, tmp_path, data, FAST)
        stats = server.core.stats()
    assert run.returncode == 0, run.stderr
    search = run.report["ops"]["search"]
    assert search["prompt_tokens"] == search["completion_tokens"] == 0
    assert search["calls"] == stats["by_op"]["search"] >= 5
    assert run.report["dollars"] == pytest.approx(_dollars(stats), abs=1e-9)


def test_a_budget_stop_resumes_without_calling_a_tool_again(tmp_path: Path) -> None:
    checked = _checked(8)
    compiled = build(checked, tmp_path, PINS)
    data = make_input(checked, seed=2)
    program = program_of(compiled, tmp_path)
    journal = ["--journal", str(tmp_path / "ask.journal"), "--backoff", "0.005"]
    with served(checked, seed=4) as server:
        stopped = run_program(program, server.url, tmp_path, data, [*journal, "--max-calls", "5"])
        first = server.core.stats()
        resumed = run_program(program, server.url, tmp_path, data, journal)
        both = server.core.stats()
    assert stopped.returncode == 4, stopped.stderr
    assert stopped.report["status"] == "stopped" and first["calls"] == 5
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.report["replayed"] == 5
    assert len(both["keys"]) == len(set(both["keys"]))  # no call, tool or model, made twice
    assert resumed.report["calls_by_op"] == both["by_op"]
    assert resumed.report["dollars"] == pytest.approx(_dollars(both), abs=1e-9)


def test_a_dollar_budget_counts_the_tools_price(tmp_path: Path) -> None:
    checked = _checked(8)
    compiled = build(checked, tmp_path, PINS)
    data = make_input(checked, seed=2)
    with served(checked, seed=4) as server:
        run = run_program(
            program_of(compiled, tmp_path),
            server.url,
            tmp_path,
            data,
            [*FAST, "--max-dollars", "0.003"],
        )
        stats = server.core.stats()
    assert run.returncode == 4, run.stderr
    assert "--max-dollars" in run.report["stopped_by"]
    assert run.report["budget"]["dollars"] <= 0.003
    assert stats["by_op"]["search"] <= 3


def test_failed_tool_calls_are_retried_and_change_no_answer(tmp_path: Path) -> None:
    checked = _checked(6)
    compiled = build(checked, tmp_path, PINS)
    data = make_input(checked, seed=5)
    runs = []
    for rate in (0.0, 0.3):
        with served(checked, seed=9, fail_rate=rate) as server:
            run = run_program(program_of(compiled, tmp_path), server.url, tmp_path, data, FAST)
            runs.append((run, server.core.stats()))
    (clean, clean_stats), (faulty, faulty_stats) = runs
    assert clean.returncode == faulty.returncode == 0, faulty.stderr
    assert faulty.report["transport_errors"] == faulty_stats["faults"]["http_500"] > 0
    assert faulty.result == clean.result and faulty_stats["by_op"] == clean_stats["by_op"]


def test_the_simulated_tool_answers_by_key_and_refuses_what_it_does_not_serve() -> None:
    core = SimCore(_checked(4), seed=1)
    body = {"op": "search", "request": {"items": [3], "x": 1}}
    first = tool_call(core, "web", body, "k#0")
    assert isinstance(first["result"], str)
    assert tool_call(core, "web", body, "k#0") == first  # the same key, the same answer
    stats = core.stats()
    assert stats["by_op"] == {"search": 2} and stats["tokens"]["prompt"] == 0
    for name, asked, status in [
        ("webb", body, 404),
        ("web", {"op": "check", "request": {}}, 400),
        ("web", {"op": "search"}, 400),
    ]:
        with pytest.raises(SimError) as err:
            tool_call(core, name, asked, "k")
        assert err.value.status == status
    with pytest.raises(SimError, match="no tool 'webb'; the spec's tools: web"):
        tool_call(core, "webb", body, "k")


def test_the_tools_success_is_the_ops_and_an_override_wins() -> None:
    """Over many keys a tool answers right as often as the op's success on it says (the
    tool's when the op has none; ``--success`` overrides it)."""
    checked = _checked(4)
    request = {"items": [3], "x": 1}
    for success, want in [(None, A), ({"search": parse_p("0.2")}, 0.2)]:
        core = SimCore(checked, seed=2, success=success)
        right = core.oracle.answer(_ask(core, request))
        hits = sum(
            json.loads(
                tool_call(core, "web", {"op": "search", "request": request}, f"k{i}")["result"]
            )
            == right
            for i in range(2000)
        )
        error = math.sqrt(want * (1 - want) / 2000)
        assert abs(hits / 2000 - want) <= 4 * error


def parse_p(text: str):
    from aalp.front.parser import parse_expr

    return parse_expr(text, "test")


def _ask(core: SimCore, request: dict):
    from aalp.sim.oracles import Ask

    return Ask("search", core.roles.get("search", "other"), request, core.task, core.env)


def test_the_tools_latency_is_slept_only_when_asked() -> None:
    body = {"op": "search", "request": {"items": [3], "x": 1}}
    for asked, least, most in [(False, 0.0, 0.2), (True, 0.3, 5.0)]:
        core = SimCore(_checked(4), faults=Faults(tool_latency=asked))
        start = time.monotonic()
        tool_call(core, "web", body, "k")
        assert least <= time.monotonic() - start <= most


def test_tool_url_and_a_tools_file_of_ones_own(tmp_path: Path) -> None:
    """``--tool-url`` sends the tool calls elsewhere (a closed port: a connection error, tried
    again then reported; a route the server does not have: a 404, not tried again); a
    ``--tools`` file of one's own replaces the calls; no URL at all stops at start."""
    import os
    import socket
    import subprocess
    import sys

    checked = _checked(3)
    compiled = build(checked, tmp_path, PINS)
    program = program_of(compiled, tmp_path)
    data = make_input(checked, seed=1)
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"
    own = tmp_path / "my_tools.py"
    own.write_text(
        "CALLS = []\nBASE_URL = ''\n\n\ndef web(op, request, call):\n    return '{\"hit\": 1}'\n"
    )
    with served(checked, seed=1) as server:
        lost = run_program(
            program,
            server.url,
            tmp_path,
            data,
            [*FAST, "--tool-url", closed, "--max-transport-retries", "1"],
        )
        missing = run_program(
            program, server.url, tmp_path, data, [*FAST, "--tool-url", server.url + "/nope"]
        )
        mine = run_program(program, server.url, tmp_path, data, [*FAST, "--tools", str(own)])
        stats = server.core.stats()
    assert lost.returncode == 1 and "search: tool web:" in lost.stderr
    assert lost.report["transport_errors"] >= 2  # each decision tried twice, then stopped
    assert missing.returncode == 1 and "refused" in missing.stderr and "404" in missing.stderr
    assert mine.returncode == 0, mine.stderr
    assert "search" not in stats["by_op"]  # every search answered by the file of one's own
    assert mine.report["calls_by_op"]["search"] >= 3
    env = {k: v for k, v in os.environ.items() if k not in ("AALP_BASE_URL", "OPENAI_BASE_URL")}
    (tmp_path / "in.json").write_text(json.dumps(data))
    bare = subprocess.run(
        [sys.executable, str(program), "--input", str(tmp_path / "in.json"), "--journal", "-"],
        capture_output=True,
        text=True,
        env={**env, "AALP_API_KEY": "x"},
        check=False,
        timeout=120,
    )
    assert bare.returncode == 1 and "give --tool-url or --base-url" in bare.stderr

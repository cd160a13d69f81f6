"""The simulated LLM: protocol, error rates against the spec, faults, oracles, the command."""

from __future__ import annotations

import json
import math
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aalp.sim import Faults, SimCore, SimServer
from aalp.sim.core import to_text

ROOT = Path(__file__).resolve().parent.parent


def system_of(core: SimCore, op: str) -> str:
    return next(prompt for prompt, ops in core.by_prompt.items() if op in ops)


def body(core: SimCore, op: str, model: str, request: dict[str, Any], **extra: Any) -> dict:
    messages = [
        {"role": "system", "content": system_of(core, op)},
        {"role": "user", "content": json.dumps(request)},
    ]
    return {"model": model, "messages": messages, **extra}


def content(response: dict[str, Any]) -> str:
    return response["choices"][0]["message"]["content"]


@pytest.fixture
def counting(load_sample) -> Iterator[SimServer]:
    """The counting sample served on a free port; always stopped."""
    server = SimServer(SimCore(load_sample("counting"), seed=1)).start()
    try:
        yield server
    finally:
        server.stop()


def http(url: str, payload: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    data = None if payload is None else json.dumps(payload).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


# --- protocol ---------------------------------------------------------------------------------


def test_models_stats_and_errors_over_http(counting: SimServer) -> None:
    base = counting.url.removesuffix("/v1")
    assert http(counting.url + "/models")[1]["data"][0]["id"] == "gpt4omini"
    ok = body(counting.core, "count", "gpt4omini", {"x": 3, "items": "777"})
    status, answer = http(counting.url + "/chat/completions", ok)
    assert status == 200 and answer["usage"]["completion_tokens"] == 5  # the spec's writes
    assert answer["usage"]["prompt_tokens"] == 150 + 3  # reads: prompt + x
    bad_prompt = {**ok, "messages": [{"role": "system", "content": "?"}, ok["messages"][1]]}
    assert http(counting.url + "/chat/completions", bad_prompt)[0] == 400
    assert http(counting.url + "/chat/completions", {**ok, "model": "gpt5"})[0] == 404
    stats = http(base + "/sim/stats")[1]
    assert stats["calls"] == 1 and stats["by_op"] == {"count": 1}


def test_the_openai_sdk_talks_to_it(counting: SimServer) -> None:
    import openai

    client = openai.OpenAI(base_url=counting.url, api_key="sim", max_retries=0)
    request = body(counting.core, "count", "gpt4omini", {"x": 4, "items": "7a77"})
    reply = client.chat.completions.create(**request)
    assert reply.usage is not None and reply.usage.prompt_tokens == 154
    assert reply.choices[0].message.content in {"3"} | {str(n) for n in range(0, 2000)}


# --- error rates ------------------------------------------------------------------------------


def test_right_with_the_probability_the_spec_states(load_sample) -> None:
    checked = load_sample("counting")
    core = SimCore(checked, seed=3)
    x = 1889  # success exp(-(x/4000)^2) = 0.80
    p = math.exp(-((x / 4000) ** 2))
    items = "7" * 10 + "1" * (x - 10)
    n = 3000
    right = 0
    for i in range(n):
        reply = core.complete(body(core, "count", "gpt4omini", {"x": x, "items": items}), f"k{i}")
        right += content(reply) == "10"
    assert abs(right / n - p) < 4 * math.sqrt(p * (1 - p) / n)


def test_mixture_component_is_shared_by_every_sample_of_an_input(load_sample) -> None:
    core = SimCore(load_sample("voting"), seed=2)  # mixture(0.6: 0.8, 0.4: 0.3)
    rates = []
    for q in range(60):
        request = {"x": 1, "items": [{"question": f"q{q}"}]}
        from aalp.sim.oracles.voting import letter

        truth = letter(f"q{q}")
        hits = sum(
            content(core.complete(body(core, "answer", "gpt35", request), f"{q}/{i}")) == truth
            for i in range(200)
        )
        rates.append(hits / 200)
    easy = [r for r in rates if r > 0.55]
    assert all(abs(r - 0.8) < 0.12 for r in easy)
    assert all(abs(r - 0.3) < 0.12 for r in rates if r <= 0.55)
    assert abs(len(easy) / len(rates) - 0.6) < 4 * math.sqrt(0.24 / len(rates))


@pytest.mark.parametrize("correlated", [False, True])
def test_wrong_answers_distinct_or_correlated(load_sample, correlated: bool) -> None:
    core = SimCore(load_sample("counting"), seed=4, faults=Faults(correlated=correlated))
    request = {"x": 4000, "items": "7" * 5}  # success 1/e
    wrong = [
        content(core.complete(body(core, "count", "gpt4omini", request), f"c{i}"))
        for i in range(300)
    ]
    wrong = [w for w in wrong if w != "5"]
    assert len(wrong) > 100
    assert len(set(wrong)) == (1 if correlated else len(wrong))


def test_the_same_call_key_gets_the_same_answer(load_sample) -> None:
    core = SimCore(load_sample("counting"), seed=9)
    request = body(core, "count", "gpt4omini", {"x": 4000, "items": "77"})
    first = [content(core.complete(request, f"key{i}")) for i in range(50)]
    again = [content(core.complete(request, f"key{i}")) for i in range(50)]
    assert first == again and len(set(first)) > 1


# --- faults and red flags ---------------------------------------------------------------------


def test_fail_rate_gives_http_500s_at_that_rate(load_sample) -> None:
    core = SimCore(load_sample("counting"), faults=Faults(fail_rate=0.2))
    n = 4000
    fails = sum(core.fault(f"k{i}") == "fail" for i in range(n))
    assert abs(fails / n - 0.2) < 4 * math.sqrt(0.16 / n)


def test_malformed_and_overlong_outputs(load_sample) -> None:
    checked = load_sample("hanoi", disks="3")
    core = SimCore(checked, faults=Faults(malformed_rate=0.5, overlong_rate=0.5))
    request = {"x": 1, "step": 0, "steps": 7, "previous": {"state": [[3, 2, 1], [], []]}}
    parsed = overlong = 0
    n = 400
    for i in range(n):
        reply = core.complete(body(core, "move", "gpt41mini", request), f"m{i}")
        try:
            json.loads(content(reply))
            parsed += 1
        except json.JSONDecodeError:
            pass
        overlong += reply["usage"]["completion_tokens"] > 750
    # keep 0.99 adds 1% malformed on top of the requested 50%
    assert abs(parsed / n - 0.5 * 0.99) < 4 * math.sqrt(0.25 / n)
    assert abs(overlong / n - 0.5) < 4 * math.sqrt(0.25 / n)


def test_max_tokens_truncates_with_finish_reason_length(load_sample) -> None:
    core = SimCore(load_sample("hanoi", disks="3"), faults=Faults(overlong_rate=1.0))
    request = {"x": 1, "step": 0, "steps": 7, "previous": {"state": [[3, 2, 1], [], []]}}
    reply = core.complete(body(core, "move", "gpt41mini", request, max_tokens=751), "t")
    assert reply["usage"]["completion_tokens"] == 751
    assert reply["choices"][0]["finish_reason"] == "length"


def test_a_misrouted_specialist_is_always_wrong(load_sample) -> None:
    core = SimCore(load_sample("routing"), seed=5)
    item = {"id": 0, "kind": "math", "text": "math request 1"}
    from aalp.sim.oracles.routing import solution

    for route, rate in (("code", 0.0), ("math", 0.99)):
        request = {"x": 1, "chunk": 0, "items": [item], "route": route}
        hits = sum(
            json.loads(content(core.complete(body(core, "solve", "specialist", request), f"{i}")))
            == {"answer": solution("math request 1")}
            for i in range(300)
        )
        assert abs(hits / 300 - rate) <= 0.05


# --- oracles ----------------------------------------------------------------------------------


def _hanoi(n: int, a: int, b: int, c: int, out: list[list[int]]) -> None:
    if n:
        _hanoi(n - 1, a, c, b, out)
        out.append([n, a, c])
        _hanoi(n - 1, b, a, c, out)


@pytest.mark.parametrize("disks", range(1, 8))
def test_hanoi_oracle_plays_the_optimal_solution(disks: int) -> None:
    from aalp.sim.oracles.hanoi import solve

    moves: list[list[int]] = []
    _hanoi(disks, 0, 1, 2, moves)  # the textbook recursion, peg 0 to peg 2
    state = [list(range(disks, 0, -1)), [], []]
    played = []
    for step in range(0, len(moves), 3):  # three moves per call
        answer = solve(state, step, 3)
        played += answer["moves"]
        state = answer["state"]
    assert played == moves
    assert state == [[], [], list(range(disks, 0, -1))]


@pytest.mark.parametrize("family", ["counting", "sorting", "retrieval", "routing", "voting"])
def test_oracle_answers_agree_with_expected_results(family: str, load_sample) -> None:
    """Answering every unit right gives exactly the oracle's expected result."""
    from aalp.sim.harness import expected, make_input, task_env
    from aalp.sim.oracles import Ask, oracle

    checked = load_sample(family)
    task, env = task_env(checked)
    data = make_input(checked, seed=1)
    units = data[next(iter(data))]
    module = oracle(family)
    role = "map"
    op = task.ops[-1].name if family == "routing" else task.ops[0].name
    answers = [
        module.answer(Ask(op, role, {"x": 1, "items": units[i : i + 1]}, task, env))
        for i in range(len(units))
    ]
    want = expected(checked, data)
    match family:
        case "counting":
            assert sum(answers) == want
        case "sorting":
            assert sorted(a[0] for a in answers) == want
        case "retrieval":
            assert [a for a in answers if a["answer"]] == [want]
        case "routing" | "voting":
            assert answers == want


def test_to_text_writes_each_answer_format() -> None:
    assert json.loads(to_text({"a": [1]}, "json")) == {"a": [1]}
    assert to_text(12, "number") == "12"
    assert to_text("B", "choice") == "B"


# --- the command ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_sim_command_serves_and_stops() -> None:
    port = _free_port()
    cmd = [sys.executable, "-m", "aalp.cli", "serve-sim", str(ROOT / "samples/counting.aalp")]
    proc = subprocess.Popen(
        [*cmd, "--port", str(port), "--seed", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url == f"http://127.0.0.1:{port}/v1"
        for _ in range(50):
            try:
                assert http(url + "/models")[0] == 200
                break
            except urllib.error.URLError:
                time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_sim_rejects_bad_options() -> None:
    from aalp.cli import cli
    from click.testing import CliRunner

    spec = str(ROOT / "samples/counting.aalp")
    result = CliRunner().invoke(cli, ["serve-sim", spec, "--fail-rate", "1.5"])
    assert result.exit_code == 2 and "between 0 and 1" in result.output
    result = CliRunner().invoke(cli, ["serve-sim", spec, "--family", "hanoy"])
    assert result.exit_code == 2 and "unknown family" in result.output


# --- hostile requests -------------------------------------------------------------------------


def _raw(server: SimServer, head: bytes, body: bytes = b"", timeout: float = 5) -> bytes:
    """Send ``head`` (request line and headers) and ``body`` on one connection; the reply."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as conn:
        conn.sendall(head + b"\r\n" + body)
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
            if b"\r\n\r\n" in reply:
                headers, _, rest = reply.partition(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in headers.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                if len(rest) >= length:
                    return reply
    return reply


def _status(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1])


POST = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"


@pytest.mark.parametrize("length", [b"abc", b"-5", b"1e3", b"", b"\xc2\xb2"])
def test_a_bad_content_length_is_a_400_without_a_traceback(
    counting: SimServer, length: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    reply = _raw(counting, POST + b"Content-Length: " + length + b"\r\n")
    assert _status(reply) == 400 and b"Content-Length" in reply
    assert b"Connection: close" in reply  # the unread body cannot be taken for a request
    assert "Traceback" not in capsys.readouterr().err
    assert http(counting.url + "/models")[0] == 200  # and it keeps serving


@pytest.mark.parametrize("length", [b"1048577", b"99999999999999", b"9" * 5000])
def test_a_content_length_over_the_limit_is_a_413_at_once(
    counting: SimServer, length: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    from aalp.sim.server import MAX_BODY

    assert MAX_BODY == 1 << 20
    started = time.monotonic()
    reply = _raw(counting, POST + b"Content-Length: " + length + b"\r\n", timeout=5)
    assert _status(reply) == 413  # answered without waiting for a body that never comes
    assert time.monotonic() - started < 2
    assert "Traceback" not in capsys.readouterr().err


def test_a_body_at_the_limit_is_read_and_one_that_stops_short_is_refused(
    counting: SimServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aalp.sim import server as module

    big = json.dumps({"model": "gpt4omini", "messages": [], "pad": "x" * (module.MAX_BODY - 60)})
    big = big.encode().ljust(module.MAX_BODY)
    reply = _raw(counting, POST + f"Content-Length: {len(big)}\r\n".encode(), big)
    assert _status(reply) == 400 and b"non-empty list" in reply  # read whole, then judged
    monkeypatch.setattr(module, "BODY_TIMEOUT", 0.2)
    reply = _raw(counting, POST + b"Content-Length: 100\r\n", b'{"model":')
    assert _status(reply) == 408 and b"did not arrive within 0.2 s" in reply


@pytest.mark.parametrize(
    "payload",
    [
        {"model": "gpt4omini", "messages": [1, 2]},
        {"model": "gpt4omini", "messages": [{"role": "system", "content": ["list"]}]},
        {"model": ["x"], "messages": [{"role": "user", "content": "{}"}]},
        [1, 2, 3],
    ],
)
def test_hostile_bodies_get_a_clear_error(counting: SimServer, payload: Any) -> None:
    status, answer = http(counting.url + "/chat/completions", payload)
    assert 400 <= status < 500 and answer["error"]["message"]


def test_a_request_with_a_bad_x_is_a_400(counting: SimServer) -> None:
    ok = body(counting.core, "count", "gpt4omini", {"x": "many", "items": "777"})
    assert http(counting.url + "/chat/completions", ok)[0] == 400


@pytest.mark.parametrize("kind", ["truncated", "empty_object", "list", "no_choices", "no_content"])
def test_broken_responses_are_200s_without_an_answer_and_not_calls(load_sample, kind: str) -> None:
    from aalp.sim.core import BROKEN

    faults = Faults(broken_rate=1.0, broken_kinds=(kind,))
    with SimServer(SimCore(load_sample("counting"), faults=faults)) as server:
        ok = body(server.core, "count", "gpt4omini", {"x": 3, "items": "777"})
        request = urllib.request.Request(
            server.url + "/chat/completions",
            data=json.dumps(ok).encode(),
            headers={"Content-Type": "application/json", "X-Aalp-Call": "k"},
        )
        with urllib.request.urlopen(request, timeout=10) as resp:
            assert resp.status == 200 and resp.read() == BROKEN[kind]
        stats = server.core.stats()
    assert stats["calls"] == 0 and stats["faults"] == {"broken_response": 1}

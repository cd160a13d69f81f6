"""The explorer never hangs and never reads what it should not.

Optimizations run in worker processes with a time limit and a bounded queue, and stop when their
client goes away; cheap requests never wait behind them. Request bodies are refused as soon as
they pass the limit, before they are read. Spec text from a request cannot read, or learn of, a
file outside the served spec's folder through a prompt file.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
import tracemalloc
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

import explore_jobs
from aalp.explore import api
from aalp.explore.controls import Settings
from aalp.explore.server import MAX_BODY, Document, Limits, Server, create_app
from conftest import SAMPLES

HANOI = SAMPLES / "hanoi.aalp"
PROMPT = 'prompt file "prompts/hanoi.txt"'
SLOW = {"params": {"disks": "12"}}  # what the stand-ins in explore_jobs never answer


@pytest.fixture
def spec_copy(tmp_path: Path) -> Path:
    """A copy of the hanoi sample and its prompt in a folder of its own."""
    target = tmp_path / "hanoi.aalp"
    target.write_text(HANOI.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "prompts").mkdir()
    for prompt in (SAMPLES / "prompts").iterdir():
        (tmp_path / "prompts" / prompt.name).write_bytes(prompt.read_bytes())
    return target


def serve(spec: Path, limits: Limits | None = None) -> Server:
    return Server(Document(str(spec), spec, spec.read_text(encoding="utf-8")), limits=limits)


@pytest.fixture
def server(spec_copy: Path) -> Iterator[Server]:
    with serve(spec_copy) as running:
        yield running


def request(
    server: Server, path: str, body: object = None, timeout: float = 600
) -> tuple[int, str, bytes]:
    """``(status, content type, body)`` of one request; a POST when a body is given."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"content-type": "application/json"} if data is not None else {}
    req = urllib.request.Request(server.url.rstrip("/") + path, data=data, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, response.headers.get("content-type", ""), response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("content-type", ""), err.read()


def port(server: Server) -> int:
    return int(server.url.rsplit(":", 1)[1].strip("/"))


def post_and_leave(server: Server, path: str, body: object) -> socket.socket:
    """Send a POST and return its socket unread: closing it abandons the request."""
    data = json.dumps(body).encode()
    sock = socket.create_connection(("127.0.0.1", port(server)))
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port(server)}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    sock.sendall(head.encode() + data)
    return sock


def read_answer(sock: socket.socket, seconds: float = 30) -> bytes:
    """One whole HTTP answer from ``sock`` (its head and a body of its content-length), or what
    came before the server closed the connection."""
    sock.settimeout(seconds)
    answer = b""
    while b"\r\n\r\n" not in answer or len(answer.partition(b"\r\n\r\n")[2]) < _length(answer):
        try:
            chunk = sock.recv(1 << 16)
        except ConnectionResetError:
            break
        if not chunk:
            break
        answer += chunk
    return answer


def _length(answer: bytes) -> int:
    for line in answer.partition(b"\r\n\r\n")[0].split(b"\r\n"):
        key, _, value = line.partition(b":")
        if key.strip().lower() == b"content-length":
            return int(value)
    return 0


def wait_until(condition: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def ended(pids: list[int]) -> bool:
    """Whether every process in ``pids`` has ended and been waited for (no zombie left)."""
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        return False
    return True


def slow_requests(server: Server, count: int, path: str = "/api/optimize") -> list[socket.socket]:
    text = HANOI.read_text(encoding="utf-8")
    return [post_and_leave(server, path, {"text": text, "settings": SLOW}) for _ in range(count)]


# ---------------------------------------------------------------------------------------------
# Time limits, the queue, cancellation
# ---------------------------------------------------------------------------------------------


def test_cheap_requests_answer_at_once_while_slow_optimizations_wait(spec_copy, monkeypatch):
    monkeypatch.setattr(api, "optimize_spec", explore_jobs.optimize_hangs_unless_at_start)
    text = spec_copy.read_text(encoding="utf-8")
    with serve(spec_copy) as server:
        assert request(server, "/api/check", {"text": text})[0] == 200  # the parser is built
        waiting = slow_requests(server, 8)
        try:
            wait_until(lambda: server.pool.load() == (2, 6))  # two running, six in the queue
            latencies = []
            cheap = [("/api/check", {"text": text}), ("/api/spec", None), ("/api/targets", None)]
            cheap += [("/static/app.js", None), ("/", None)]
            for path, body in cheap * 3:
                start = time.monotonic()
                status, _, answer = request(server, path, body, timeout=10)
                latencies.append(time.monotonic() - start)
                assert status == 200, answer[:300]
            assert max(latencies) < 1.0, latencies
            print(f"cheap requests under load: max {max(latencies) * 1e3:.0f} ms")
        finally:
            for sock in waiting:
                sock.close()


def test_abandoned_optimizations_are_stopped_and_their_workers_end(spec_copy, monkeypatch):
    monkeypatch.setattr(api, "optimize_spec", explore_jobs.optimize_hangs_unless_at_start)
    with serve(spec_copy) as server:
        waiting = slow_requests(server, 8)
        wait_until(lambda: server.pool.load() == (2, 6) and len(server.pool.pids()) == 2)
        workers = server.pool.pids()
        for sock in waiting:
            sock.close()  # the clients give up
        wait_until(lambda: server.pool.load() == (0, 0) and server.pool.pids() == [], 15)
        assert ended(workers)
        # a new worker takes the next job
        status, _, body = request(server, "/api/optimize", {"text": HANOI.read_text("utf-8")})
        assert status == 200 and json.loads(body)["plan"]["feasible"]


def test_a_full_queue_is_refused_at_once_but_known_answers_are_not(spec_copy, monkeypatch):
    monkeypatch.setattr(api, "optimize_spec", explore_jobs.optimize_hangs_unless_at_start)
    text = spec_copy.read_text(encoding="utf-8")
    with serve(spec_copy, Limits(workers=1, queue=2)) as server:
        status, _, known = request(server, "/api/optimize", {"text": text})
        assert status == 200 and json.loads(known)["ok"]
        waiting = slow_requests(server, 3)
        try:
            wait_until(lambda: server.pool.load() == (1, 2))
            start = time.monotonic()
            status, kind, body = request(server, "/api/optimize", {"text": text, "settings": SLOW})
            assert time.monotonic() - start < 1.0
            assert status == 503 and kind == "application/json"
            message = json.loads(body)["error"]
            assert message == (
                "busy: 1 optimization is running and 2 are waiting; try again in a moment"
            )
            # the answer for settings already optimized needs no worker
            again = request(server, "/api/optimize", {"text": text}, timeout=5)
            assert again[0] == 200 and json.loads(again[2]) == json.loads(known)
        finally:
            for sock in waiting:
                sock.close()


def test_a_slow_optimization_answers_too_slow_with_the_last_plan_for_its_text(
    spec_copy, monkeypatch
):
    monkeypatch.setattr(api, "optimize_spec", explore_jobs.optimize_hangs_unless_at_start)
    text = spec_copy.read_text(encoding="utf-8")
    with serve(spec_copy, Limits(timeout=2)) as server:
        status, _, body = request(server, "/api/optimize", {"text": text})
        first = json.loads(body)
        assert status == 200 and first["ok"]
        workers = server.pool.pids()
        start = time.monotonic()
        status, _, body = request(server, "/api/optimize", {"text": text, "settings": SLOW})
        took = time.monotonic() - start
        assert status == 200 and 2 <= took < 15, took
        answer = json.loads(body)
        assert not answer["ok"] and answer["too_slow"]
        [diagnostic] = answer["diagnostics"]
        assert diagnostic["code"] == "X004"
        assert diagnostic["message"].startswith("too slow: optimizing took more than 2 s")
        assert "--timeout" in diagnostic["message"]
        assert answer["last"]["result"] == first
        assert answer["last"]["settings"]["defines"] == {}
        wait_until(lambda: ended(workers), 15)  # its worker was stopped, not left running
        # another spec text has no plan to fall back on
        other = text + "\n# another text\n"
        status, _, body = request(server, "/api/optimize", {"text": other, "settings": SLOW})
        answer = json.loads(body)
        assert answer["too_slow"] and answer["last"] is None
        assert "last answer" not in answer["diagnostics"][0]["message"]
        # an answer remembered from before (here computed in this process) counts as shown
        known = api.optimize_spec(other, str(spec_copy), Settings())
        assert json.loads(request(server, "/api/optimize", {"text": other})[2]) == known
        answer = json.loads(request(server, "/api/optimize", {"text": other, "settings": SLOW})[2])
        assert answer["too_slow"] and answer["last"]["result"] == known


def test_a_newer_sweep_stops_the_older_one(spec_copy, monkeypatch):
    monkeypatch.setattr(api, "sweep_spec", explore_jobs.sweep_hangs_unless_at_start)
    text = spec_copy.read_text(encoding="utf-8")
    with serve(spec_copy) as server:
        answers: dict[str, object] = {}

        def older() -> None:
            body = {"text": text, "settings": SLOW}
            answers["older"] = json.loads(request(server, "/api/sweep", body)[2])

        thread = threading.Thread(target=older)
        thread.start()
        wait_until(lambda: server.pool.load() == (1, 0))
        status, _, body = request(server, "/api/sweep", {"text": text})
        thread.join(60)
        assert answers["older"] == {"ok": False, "superseded": True, "diagnostics": []}
        newer = json.loads(body)
        assert status == 200 and newer["series"][0]["name"] == "optimal plan"


def test_stop_ends_every_worker_and_answers_every_waiting_request(spec_copy, monkeypatch):
    monkeypatch.setattr(api, "optimize_spec", explore_jobs.optimize_hangs_unless_at_start)
    server = serve(spec_copy, Limits(workers=1, queue=4)).start()
    try:
        waiting = slow_requests(server, 3)
        wait_until(lambda: server.pool.load() == (1, 2) and len(server.pool.pids()) == 1)
        workers = server.pool.pids()
    finally:
        start = time.monotonic()
        server.stop()
    assert time.monotonic() - start < 10
    assert server.pool.pids() == [] and ended(workers)
    for sock in waiting:
        answer = read_answer(sock)
        assert answer == b"" or answer.startswith(b"HTTP/1.1 503"), answer
        assert answer == b"" or b"the explorer is stopping" in answer
        sock.close()


def test_a_worker_ends_with_its_server_even_in_the_middle_of_a_job(spec_copy, monkeypatch):
    monkeypatch.setattr(api, "optimize_spec", explore_jobs.optimize_hangs_unless_at_start)
    with serve(spec_copy) as server:
        waiting = slow_requests(server, 1)
        wait_until(lambda: len(server.pool.pids()) == 1)
        [worker] = server.pool._workers
        # what a server killed without stopping its workers leaves: its ends of their pipes
        # are closed (by the system, there)
        worker.lifeline.close()
        wait_until(lambda: worker.process.exitcode is not None, 10)
        waiting[0].close()


def test_a_bug_in_a_worker_is_one_line_on_the_page(server, monkeypatch):
    monkeypatch.setattr(api, "plan_for", explore_jobs.broken)
    status, kind, body = request(server, "/api/plan", {"decisions": {}})
    assert status == 200 and kind == "application/json"
    [diagnostic] = json.loads(body)["diagnostics"]
    assert diagnostic["code"] == "X003" and diagnostic["message"].endswith(": a bug")
    # the worker survived its job's exception and answers the next one
    status, _, body = request(server, "/api/optimize", {})
    assert status == 200 and json.loads(body)["ok"]


def test_the_command_takes_a_timeout(spec_copy: Path):
    command = [sys.executable, "-m", "aalp.cli", "explore", str(spec_copy), "--no-browser"]
    for bad in ("0", "-1", "nan", "soon"):
        done = subprocess.run(
            [*command, "--timeout", bad], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 2 and "--timeout" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [*command, "--port", "0", "--timeout", "0.001"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        url = line[line.index("http://") :].split()[0]
        req = urllib.request.Request(
            url + "api/optimize", data=b"{}", headers={"content-type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=120) as response:
            answer = json.loads(response.read())
        assert answer["too_slow"]
        assert answer["diagnostics"][0]["message"].startswith(
            "too slow: optimizing took more than 0.001 s"
        )
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# ---------------------------------------------------------------------------------------------
# The body limit
# ---------------------------------------------------------------------------------------------

CHUNK = 1 << 16


def test_a_streamed_body_is_refused_before_it_is_read_in_memory():
    app = create_app(Document("<spec>", None, "x"))
    pulled = 0
    total = 20 << 20

    async def receive() -> dict:
        nonlocal pulled
        if pulled >= total:
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled += CHUNK
        return {"type": "http.request", "body": b" " * CHUNK, "more_body": True}

    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    headers = [(b"host", b"127.0.0.1:1"), (b"content-type", b"application/json")]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/check",
        "raw_path": b"/api/check",
        "root_path": "",
        "query_string": b"",
        "headers": [*headers, (b"transfer-encoding", b"chunked")],
        "client": ("127.0.0.1", 2),
        "server": ("127.0.0.1", 1),
    }
    tracemalloc.start()
    try:
        asyncio.run(app(scope, receive, send))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        app.pool.close()
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["error"].startswith("request too large")
    assert pulled <= MAX_BODY + CHUNK  # it stopped reading at the limit
    assert peak < 4 * MAX_BODY, peak


def test_a_chunked_upload_is_answered_413_before_it_finishes(server: Server):
    total = 20 << 20
    sock = socket.create_connection(("127.0.0.1", port(server)))
    sock.sendall(
        f"POST /api/check HTTP/1.1\r\nHost: 127.0.0.1:{port(server)}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
    )
    chunk = f"{CHUNK:x}\r\n".encode() + b" " * CHUNK + b"\r\n"
    sent, pending, answer = 0, b"", b""  # bytes of body sent or on their way; the rest of a chunk
    deadline = time.monotonic() + 120
    sock.setblocking(False)
    try:
        while not answer and time.monotonic() < deadline:
            writing = [sock] if sent < total or pending else []
            readable, writable, _ = select.select([sock], writing, [], 1)
            if readable:
                answer = sock.recv(1 << 16)
            elif writable:
                if not pending:
                    pending, sent = chunk, sent + CHUNK
                with contextlib.suppress(BlockingIOError):
                    pending = pending[sock.send(pending) :]
    finally:
        sock.close()
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < total  # answered while the upload was still going


def test_a_declared_length_past_the_limit_is_refused_without_reading(server: Server):
    with socket.create_connection(("127.0.0.1", port(server))) as sock:
        sock.sendall(
            f"POST /api/check HTTP/1.1\r\nHost: 127.0.0.1:{port(server)}\r\n"
            "Content-Type: application/json\r\nContent-Length: 500000000\r\n\r\n".encode()
        )
        answer = read_answer(sock)
    assert answer.startswith(b"HTTP/1.1 413")
    assert b"request too large" in answer


# ---------------------------------------------------------------------------------------------
# Prompt files from request text
# ---------------------------------------------------------------------------------------------


def _answers(ask: Callable[[str], dict], spec: Path) -> dict[str, dict]:
    """The answer for a prompt file at a path that exists and one at a path that does not, in
    each form a request could name a file outside the spec's folder."""
    up = os.path.relpath("/etc/passwd", spec.parent)  # ../../../etc/passwd, as deep as needed
    paths = ["/etc/passwd", "/etc/aalp-no-such-file", "../../etc/passwd"]
    paths += ["../../etc/aalp-no-such-file", up, up.replace("passwd", "aalp-no-such-file")]
    paths += ["prompts/../../../etc/passwd", "prompts/aalp-no-such-file"]
    return {path: ask(path) for path in paths}


def _errors(answer: dict) -> list[dict]:
    return [d for d in answer["diagnostics"] if d["severity"] == "error"]


def _shape(answer: dict, path: str) -> list[tuple]:
    """An answer's errors without the path they name."""
    return [
        (d["code"], d["line"], d["col"], d["message"].replace(path, "P"), d["hint"])
        for d in _errors(answer)
    ]


@pytest.mark.parametrize("endpoint", ["/api/check", "/api/optimize", "/api/sweep", "/api/emit"])
def test_prompt_files_outside_the_spec_folder_are_refused_whether_they_exist_or_not(
    server: Server, spec_copy: Path, endpoint: str
):
    text = spec_copy.read_text(encoding="utf-8")
    line = text.splitlines().index(f"    {PROMPT}") + 1

    def ask(path: str) -> dict:
        body = {"text": text.replace(PROMPT, f'prompt file "{path}"'), "target": "python"}
        status, kind, raw = request(server, endpoint, body)
        assert status == 200 and kind == "application/json", raw[:200]  # never a zip
        assert b"root:" not in raw
        return json.loads(raw)

    answers = _answers(ask, spec_copy)
    shapes = {tuple(_shape(answer, path)) for path, answer in answers.items()}
    for path, answer in answers.items():
        assert not answer["ok"]
        [diagnostic] = _errors(answer)
        assert (diagnostic["code"], diagnostic["line"]) == ("E091", line)
        assert diagnostic["message"].startswith(f"prompt file '{path}' of op 'move' ")
    # the answers differ by the form of the path only (outside the folder, or missing in it)
    assert len(shapes) == 2, shapes


def test_a_request_cannot_name_the_file_its_text_is_loaded_as(server: Server, spec_copy: Path):
    text = spec_copy.read_text(encoding="utf-8").replace("chain move over s", "chain move ovr s")
    body = {"text": text, "file": "/etc/x.aalp", "name": "/etc/x.aalp", "path": "/etc/x.aalp"}
    status, _, raw = request(server, "/api/check", body)
    assert status == 200
    assert {d["file"] for d in json.loads(raw)["diagnostics"]} == {str(spec_copy)}


def test_the_api_functions_do_not_tell_whether_a_file_outside_the_folder_exists(
    spec_copy: Path,
):
    text = spec_copy.read_text(encoding="utf-8")

    def ask(path: str) -> dict:
        return api.check_spec(text.replace(PROMPT, f'prompt file "{path}"'), str(spec_copy))

    answers = _answers(ask, spec_copy)
    pairs = list(answers.items())
    for (exists, there), (missing, absent) in zip(pairs[:-2:2], pairs[1:-2:2], strict=True):
        assert _shape(there, exists) == _shape(absent, missing)

"""The explorer's HTTP server: loopback only, its own assets only, JSON in and out, bad input
answered with a diagnostic or a 4xx message (never a 500), and ``aalp explore`` itself."""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from aalp.explore.server import Document, Server
from conftest import SAMPLES

HANOI = SAMPLES / "hanoi.aalp"


@pytest.fixture
def spec_copy(tmp_path: Path) -> Path:
    """A copy of the hanoi sample (and its prompt) that "save" may overwrite."""
    target = tmp_path / "hanoi.aalp"
    target.write_text(HANOI.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "prompts").mkdir()
    for prompt in (SAMPLES / "prompts").iterdir():
        (tmp_path / "prompts" / prompt.name).write_bytes(prompt.read_bytes())
    return target


@pytest.fixture
def server(spec_copy: Path) -> Iterator[Server]:
    """A running explorer on a free port; always stopped, whatever the test does."""
    running = Server(Document(str(spec_copy), spec_copy, spec_copy.read_text(encoding="utf-8")))
    running.start()
    try:
        yield running
    finally:
        running.stop()


def request(
    server: Server,
    path: str,
    body: object = None,
    *,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, str, bytes]:
    """``(status, content type, body)`` of one request; a POST when a body is given."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    all_headers = {"content-type": "application/json"} if data is not None else {}
    all_headers |= headers or {}
    req = urllib.request.Request(server.url.rstrip("/") + path, data=data, headers=all_headers)
    try:
        with urllib.request.urlopen(req, timeout=600) as response:
            return response.status, response.headers.get("content-type", ""), response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("content-type", ""), err.read()


def test_binds_to_loopback_and_serves_the_page_and_its_assets(server: Server):
    assert server.url.startswith("http://127.0.0.1:")
    status, kind, body = request(server, "/")
    assert status == 200 and kind.startswith("text/html")
    page = body.decode()
    # every asset the page loads is served by the explorer itself: no other host is named
    assets = ["/static/style.css", "/static/app.js", "/static/vendor/chart.umd.min.js"]
    assets.append("/static/vendor/d3-hierarchy.min.js")
    for asset in assets:
        assert f'"{asset}"' in page
        assert request(server, asset)[0] == 200
    for served in ("/static/app.js", "/"):
        text = request(server, served)[2].decode()
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
        assert "https://" not in text


@pytest.mark.parametrize(
    "path",
    [
        "/static/../api.py",
        "/static/%2e%2e/api.py",
        "/static/..%2fserver.py",
        "/static/vendor/../../server.py",
        "/api.py",
        "/etc/passwd",
        "/static/",
    ],
)
def test_serves_nothing_outside_its_static_folder(server: Server, path: str):
    status, _, body = request(server, path)
    assert status in (400, 403, 404, 405)
    assert b"def create_app" not in body and b"root:" not in body


def test_a_foreign_host_or_origin_is_refused(server: Server):
    body = {"text": HANOI.read_text(encoding="utf-8")}
    port = server.url.rsplit(":", 1)[1].strip("/")
    # DNS rebinding: a page of another site that resolves to 127.0.0.1
    assert request(server, "/", headers={"host": f"attacker.example:{port}"})[0] == 403
    status, _, _ = request(server, "/api/save", body, headers={"origin": "http://evil.example"})
    assert status == 403
    own = {"origin": f"http://127.0.0.1:{port}"}
    assert request(server, "/api/check", body, headers=own)[0] == 200


def test_check_answers_a_broken_spec_with_diagnostics(server: Server):
    text = HANOI.read_text(encoding="utf-8").replace("chain move over s", "chain move ovr s")
    status, kind, body = request(server, "/api/check", {"text": text})
    assert status == 200 and kind == "application/json"
    result = json.loads(body)
    assert not result["ok"]
    line = text.splitlines().index("  chain move ovr s") + 1
    assert any(d["line"] == line for d in result["diagnostics"])


def test_optimize_plan_and_sweep_answer_json(server: Server):
    text = HANOI.read_text(encoding="utf-8")
    status, _, body = request(server, "/api/optimize", {"text": text})
    result = json.loads(body)
    assert status == 200 and result["ok"] and result["plan"]["feasible"]
    decisions = result["frontier"]["success"][0]["decisions"]
    status, _, body = request(server, "/api/plan", {"text": text, "decisions": decisions})
    assert status == 200 and json.loads(body)["plan"]["decisions"] == decisions
    status, _, body = request(server, "/api/sweep", {"text": text})
    assert status == 200 and json.loads(body)["series"]


def test_emit_downloads_a_zip_and_save_writes_the_file(server: Server, spec_copy: Path):
    text = spec_copy.read_text(encoding="utf-8")
    status, kind, body = request(server, "/api/emit", {"text": text, "target": "python"})
    assert status == 200 and kind == "application/zip"
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert any(name.endswith(".py") for name in archive.namelist())
    edited = text.replace("param disks = 20", "param disks = 12")
    status, _, body = request(server, "/api/save", {"text": edited})
    assert status == 200 and json.loads(body)["ok"]
    assert spec_copy.read_text(encoding="utf-8") == edited


@pytest.mark.parametrize(
    ("path", "raw", "headers", "status"),
    [
        ("/api/check", b"{not json", None, 400),
        ("/api/check", b"[1, 2]", None, 400),
        ("/api/check", b'{"text": 3}', None, 400),
        ("/api/check", b'{"settings": {"params": [1]}}', None, 400),
        ("/api/check", b'{"text": "x"}', {"content-type": "text/plain"}, 415),
        ("/api/plan", b'{"decisions": "all"}', None, 400),
        ("/api/emit", b'{"target": 7}', None, 400),
        ("/api/check", b"\xff\xfe", None, 400),
    ],
)
def test_malformed_requests_get_a_4xx_message(server, path, raw, headers, status):
    got, kind, body = request(server, path, raw=raw, headers=headers)
    assert got == status and kind == "application/json"
    assert json.loads(body)["error"]


def test_random_settings_never_cause_a_server_error(server: Server):
    rng = random.Random(7)
    text = HANOI.read_text(encoding="utf-8")
    junk = [None, 0, -1, 1e308, "", "abc", "1/0", "2^2000", [], {}, True, "auto", "inf"]
    keys = ["disks", "p", "target", "move:0", "move.x", "move.votes", "move.vote", "nope"]
    for _ in range(30):
        settings = {
            field: {rng.choice(keys): rng.choice(junk)}
            for field in ("params", "probabilities", "pins")
            if rng.random() < 0.6
        }
        if rng.random() < 0.3:
            settings["target"] = rng.choice(junk)
        for path in ("/api/check", "/api/optimize"):
            status, _, body = request(server, path, {"text": text, "settings": settings})
            assert status in (200, 400), (settings, body[:300])
            result = json.loads(body)
            assert result.get("ok") is not None or result.get("error"), result


def test_the_command_prints_its_url_and_serves_until_stopped(spec_copy: Path):
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "aalp.cli", "explore", str(spec_copy), "--port", "0"]
    proc = subprocess.Popen(
        [*command, "--no-browser"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        assert "http://127.0.0.1:" in line, line + proc.stderr.read().decode()
        url = line[line.index("http://") :].split()[0]
        with urllib.request.urlopen(url, timeout=30) as response:
            assert response.status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_the_page_starts_from_the_command_lines_overrides(spec_copy: Path):
    document = Document(str(spec_copy), None, spec_copy.read_text(encoding="utf-8"), {"disks": "8"})
    with Server(document) as running:
        status, _, body = request(running, "/api/spec")
        assert status == 200 and json.loads(body)["defines"] == {"disks": "8"}
        assert not json.loads(body)["can_save"]
        status, _, body = request(running, "/api/save", {"text": "x"})
        assert status == 409 and "download" in json.loads(body)["error"]
    folder = spec_copy.parent / "gone"
    folder.mkdir()
    document = Document("gone/hanoi.aalp", folder / "hanoi.aalp", "x")
    with Server(document) as running:
        folder.rmdir()  # the file's folder vanished: saving fails with a message, not a 500
        status, _, body = request(running, "/api/save", {"text": "x"})
        assert status == 409 and "cannot save gone/hanoi.aalp" in json.loads(body)["error"]


def test_the_command_refuses_a_missing_file(tmp_path: Path):
    missing = tmp_path / "nope.aalp"
    done = subprocess.run(
        [sys.executable, "-m", "aalp.cli", "explore", str(missing), "--no-browser"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "nope.aalp" in done.stderr and "Traceback" not in done.stderr


def test_a_bug_in_aalp_is_one_line_on_the_page_not_a_500(server: Server, monkeypatch):
    from aalp.explore import api
    from explore_jobs import broken  # optimizations run in workers: a function they can import

    monkeypatch.setattr(api, "optimize_spec", broken)
    status, kind, body = request(server, "/api/optimize", {"text": "x"})
    assert status == 200 and kind == "application/json"
    result = json.loads(body)
    assert not result["ok"] and result["diagnostics"][0]["code"] == "X003"
    assert result["diagnostics"][0]["message"].endswith(": a bug")
    assert "Traceback" not in body.decode()

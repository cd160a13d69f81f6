"""``serve-sim`` on a task of no sample family: it says so at start, and ``--oracle
MODULE:FUNCTION`` plugs in the user's own right answers."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from aalp.sim import SimCore
from aalp.sim.oracles.custom import OracleError, load

SPEC = """model small { size 1  context 128k  price in 0.40 out 1.60 per Mtok  can summarize }
task digest {
  items docs = 4 of 100 tokens
  op summarize(x of docs) on small {
    reads 100*x tokens  writes 20 tokens  success 0.9
    prompt "Summarize the documents as JSON."  answer json
  }
  map summarize over docs
  combine concat
  require success >= 0.3
  minimize cost
}
"""

ORACLE = """
def answer(ask):
    return {"op": ask.op, "items": len(ask.request.get("items") or [])}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen, str, str]:
    spec = tmp_path / "digest.aalp"
    spec.write_text(SPEC, encoding="utf-8")
    port = _free_port()
    cmd = [sys.executable, "-m", "aalp.cli", "serve-sim", str(spec), "--port", str(port)]
    proc = subprocess.Popen(
        [*cmd, *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline().strip()
    notes = ""
    while "serving" not in notes or ("generic" in notes and "warning" not in notes):
        notes += proc.stderr.readline()
    return proc, first, notes


def _ask(url: str, request: dict) -> str:
    body = {
        "model": "small",
        "messages": [
            {"role": "system", "content": "Summarize the documents as JSON."},
            {"role": "user", "content": json.dumps(request)},
        ],
    }
    req = urllib.request.Request(
        url + "/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "X-Aalp-Call": "c1"},
    )
    for _ in range(50):
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return json.loads(resp.read())["choices"][0]["message"]["content"]
        except urllib.error.URLError:
            time.sleep(0.1)
    raise AssertionError("the server never answered")


def test_the_generic_oracle_is_announced(tmp_path: Path) -> None:
    proc, url, notes = _serve(tmp_path)
    try:
        assert "(generic oracle)" in notes
        assert "matches no sample family" in notes and "--oracle MODULE:FUNCTION" in notes
        assert url.startswith("http://127.0.0.1:")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_user_oracle_answers_and_its_url_comes_as_json(tmp_path: Path) -> None:
    (tmp_path / "my_oracle.py").write_text(ORACLE, encoding="utf-8")
    proc, first, notes = _serve(
        tmp_path, "--oracle", "my_oracle:answer", "--format", "json", "--seed", "3"
    )
    try:
        info = json.loads(first)
        assert info["oracle"] == "my_oracle:answer" and info["task"] == "digest"
        assert "warning" not in notes and "(my_oracle:answer oracle)" in notes
        parsed = json.loads(_ask(info["url"], {"items": ["a", "b"], "x": 2}))
        # success 0.9: the answer is the oracle's, or (wrong) a changed copy of it
        assert parsed.get("op") == "summarize" and parsed.get("items") == 2
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_user_oracle_is_right_as_often_as_the_spec_says(tmp_path: Path) -> None:
    from aalp.checks.loader import load_text

    path = tmp_path / "oracle_file.py"
    path.write_text(ORACLE, encoding="utf-8")
    checked = load_text(SPEC, str(tmp_path / "digest.aalp"))
    core = SimCore(checked, custom=load(f"{path}:answer"))
    right = 0
    for i in range(2000):
        body = {
            "model": "small",
            "messages": [
                {"role": "system", "content": "Summarize the documents as JSON."},
                {"role": "user", "content": json.dumps({"items": ["a"], "x": 1})},
            ],
        }
        text = core.complete(body, f"k{i}")["choices"][0]["message"]["content"]
        right += json.loads(text) == {"op": "summarize", "items": 1}
    assert abs(right / 2000 - 0.9) < 0.03
    assert core.stats()["family"] == "custom"


def test_bad_oracles_are_clear_usage_errors(tmp_path: Path) -> None:
    from aalp.cli import cli
    from click.testing import CliRunner

    spec = tmp_path / "digest.aalp"
    spec.write_text(SPEC, encoding="utf-8")
    (tmp_path / "broken.py").write_text("raise RuntimeError('boom')\n", encoding="utf-8")
    for value, says in [
        ("nocolon", "is not MODULE:FUNCTION"),
        ("no_such_module_here:answer", "cannot import 'no_such_module_here'"),
        (f"{tmp_path / 'broken.py'}:answer", "RuntimeError: boom"),
        ("json:no_such_function", "has no function 'no_such_function'"),
    ]:
        result = CliRunner().invoke(cli, ["serve-sim", str(spec), "--oracle", value])
        assert result.exit_code == 2 and says in result.output, result.output
        assert "Traceback" not in result.output
    for bad in ("x", "a:1"):
        try:
            load(bad)
        except OracleError:
            continue
        raise AssertionError(bad)

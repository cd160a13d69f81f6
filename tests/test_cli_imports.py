"""``aalp check`` stays light (no heavy library is imported), and the test network guard works."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("sympy", "ortools", "networkx", "numpy", "jinja2", "scipy", "openai")

PROBE = """
import json, sys
from aalp.cli import main
try:
    main(sys.argv[1:])
except SystemExit as stop:
    code = stop.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def test_check_imports_no_heavy_library(samples_dir: Path, tmp_path: Path) -> None:
    files = sorted(str(p) for p in samples_dir.glob("*.aalp"))
    if not files:  # still exercise the full parse + check path
        spec = tmp_path / "t.aalp"
        spec.write_text("param n = 3\n")
        files = [str(spec)]
    run = subprocess.run(
        [sys.executable, "-c", PROBE, "check", *files], capture_output=True, text=True
    )
    result = json.loads(run.stdout.splitlines()[-1])
    assert result["code"] == 0, run.stderr
    loaded = {name.split(".")[0] for name in result["modules"]}
    assert "aalp" in loaded and "lark" in loaded  # the probe really ran the check
    assert sorted(loaded.intersection(HEAVY)) == []


def test_guard_blocks_non_loopback(network_violations: list[str]) -> None:
    from conftest import NetworkBlocked

    with pytest.raises(NetworkBlocked):
        socket.create_connection(("192.0.2.1", 80), timeout=0.1)
    sock = socket.socket()
    try:
        with pytest.raises(NetworkBlocked):
            sock.connect(("example.com", 443))
        with pytest.raises(NetworkBlocked):
            sock.connect_ex(("10.0.0.1", 80))
    finally:
        sock.close()
    assert len(network_violations) == 3
    network_violations.clear()  # expected here; any other test would fail


def test_guard_allows_loopback() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    try:
        client = socket.create_connection(("127.0.0.1", port), timeout=2)
        client.close()
    finally:
        server.close()


def test_subprocesses_get_a_dead_proxy() -> None:
    import os

    assert os.environ["HTTPS_PROXY"] == "http://127.0.0.1:9"
    assert "127.0.0.1" in os.environ["NO_PROXY"]
    assert os.environ["OTEL_SDK_DISABLED"] == "true"

"""Shared test setup: telemetry off, no network beyond loopback, sample fixtures.

The environment switches are set at import, before any test imports a framework, so nothing
phones home. A session-wide guard makes any connect to a non-loopback address raise and fail
the test that made it (even if library code swallows the exception); subprocesses get proxy
variables pointing at a closed loopback port, so their HTTP goes nowhere either.
"""

from __future__ import annotations

import atexit
import ipaddress
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# the Ray tests import their helpers, then load them as the plugin of their fixtures
pytest.register_assert_rewrite("ray_support")

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"

_scratch = tempfile.mkdtemp(prefix="aalp-tests-")
atexit.register(shutil.rmtree, _scratch, ignore_errors=True)

TELEMETRY_OFF = {
    "OPENAI_API_KEY": "dummy",
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
    "HTTP_PROXY": "http://127.0.0.1:9",
    "http_proxy": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "https_proxy": "http://127.0.0.1:9",
    "LANGSMITH_TRACING": "false",
    "LANGCHAIN_TRACING_V2": "false",
    "OPENAI_AGENTS_DISABLE_TRACING": "1",
    "DSPY_CACHEDIR": os.path.join(_scratch, "dspy"),
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "CREWAI_DISABLE_TELEMETRY": "true",
    "OTEL_SDK_DISABLED": "true",
    "CREWAI_TRACING_ENABLED": "false",
    "CREWAI_DISABLE_VERSION_CHECK": "true",
    "CREWAI_STORAGE_DIR": os.path.join(_scratch, "crewai"),
    "RAY_USAGE_STATS_ENABLED": "0",
    "HF_HUB_OFFLINE": "1",
    "NO_COLOR": "1",
}
os.environ.update(TELEMETRY_OFF)


class NetworkBlocked(ConnectionError):
    """A test tried to reach an address that is not loopback."""


_violations: list[str] = []


def _is_loopback(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if not isinstance(host, str):
        return False
    if host.lower() in ("localhost", "localhost.", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False  # a host name other than localhost: never resolved, never allowed


def _guard(address: object, family: int | None) -> None:
    if family == getattr(socket, "AF_UNIX", object()) or isinstance(address, str | bytes):
        return  # a Unix socket path
    host = address[0] if isinstance(address, tuple) and address else address
    if not _is_loopback(host):
        message = f"network access to {address!r} blocked: tests may only reach 127.0.0.1"
        _violations.append(message)
        raise NetworkBlocked(message)


@pytest.fixture(scope="session", autouse=True)
def _loopback_only() -> Iterator[None]:
    """Patch every way to open a connection so only loopback addresses work."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_create = socket.create_connection

    def connect(self: socket.socket, address: object) -> None:
        _guard(address, self.family)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: object) -> int:
        _guard(address, self.family)
        return real_connect_ex(self, address)

    def create_connection(address: tuple, *args: object, **kwargs: object) -> socket.socket:
        _guard(address, None)
        return real_create(address, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", connect)
        patch.setattr(socket.socket, "connect_ex", connect_ex)
        patch.setattr(socket, "create_connection", create_connection)
        yield


@pytest.fixture(autouse=True)
def _no_network_violations() -> Iterator[None]:
    """Fail the test if it attempted a non-loopback connection, even one that was caught."""
    start = len(_violations)
    yield
    new = _violations[start:]
    del _violations[start:]
    if new:
        pytest.fail("; ".join(new), pytrace=False)


@pytest.fixture
def network_violations() -> list[str]:
    """The blocked attempts so far (a test of the guard clears what it caused)."""
    return _violations


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """The directory of the sample specs."""
    return SAMPLES


@pytest.fixture(scope="session")
def load_sample() -> Callable[..., object]:
    """``load_sample("hanoi", disks="3")``: the checked sample (``-D`` overrides as keywords)."""
    from aalp.checks.loader import load

    def _load(name: str, **overrides: str) -> object:
        file = SAMPLES / (name if name.endswith(".aalp") else f"{name}.aalp")
        return load(file, overrides)

    return _load

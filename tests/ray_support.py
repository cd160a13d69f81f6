"""What the ray target's tests share: the Ray venv's python, the network guard every Ray
process runs with, a cluster of several nodes on this machine, and a run of an emitted
program against the simulated LLM.

The cluster is ``tests/targets/ray_cluster.py`` in a subprocess of the Ray venv (it owns the
``ray.cluster_utils.Cluster``; ``remove_node`` asks it to kill a worker node). Every process
of it, and every program run, gets the guard: ``PYTHONPATH`` loads
``tests/targets/ray_guard/sitecustomize.py``, which refuses and logs any connect outside
127.0.0.0/8, and the proxy variables point at a closed loopback port.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from conftest import TELEMETRY_OFF
from targets_env import venv_python

TARGETS = Path(__file__).resolve().parent / "targets"
GUARD = TARGETS / "ray_guard"
PROXIES = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")


def ray_env(guard_log: Path, proxies: bool = True) -> dict[str, str]:
    """The environment of every Ray process of a test: telemetry off, the guard on; without
    ``proxies``, no proxy variable at all (the program must keep itself offline)."""
    env = {**os.environ, **TELEMETRY_OFF, "RAY_USAGE_STATS_ENABLED": "0"}
    env["PYTHONPATH"] = str(GUARD)
    env["AALP_NET_GUARD_LOG"] = str(guard_log)
    env["AALP_API_KEY"] = "sim"
    env.pop("RAY_ADDRESS", None)
    if not proxies:
        for name in (*PROXIES, "NO_PROXY", "no_proxy"):
            env.pop(name, None)
    return env


def guard_entries(guard_log: Path) -> list[str]:
    """The connections the guard refused (none, or the test fails)."""
    if not guard_log.exists():
        return []
    return guard_log.read_text(encoding="utf-8").splitlines()


class Cluster:
    """A Ray cluster on this machine: a head with ``head_cpus`` CPUs and ``workers`` worker
    nodes of one CPU each. ``address`` is for ``--address``; ``close()`` shuts it down."""

    def __init__(self, python: str, env: dict[str, str], head_cpus: int, workers: int = 0):
        args = [python, str(TARGETS / "ray_cluster.py"), "--head-cpus", str(head_cpus)]
        args += ["--workers", str(workers)]
        self.proc = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
        )
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line:
            self.close()
            raise RuntimeError("the Ray cluster did not start")
        started = json.loads(line)
        self.address: str = started["address"]
        self.nodes: list[str] = started["nodes"]
        self.removed = False

    def _command(self, command: str) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        answer: dict[str, Any] = json.loads(self.proc.stdout.readline())
        return answer

    def remove_node(self) -> str:
        """Kill the last worker node still alive; its id."""
        node: str = self._command("remove-node")["removed"]
        self.removed = True
        return node

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError, ValueError):  # it died already
                self._command("quit")
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Clusters:
    """The Rays of a test session, each started on first use: ``get("local")`` a head of 2
    CPUs, ``get("three")`` a head and two worker nodes of 1 CPU. Session-wide, so tests of
    other modules run between Ray tests on the same worker restart nothing; one whose node was
    killed is started again."""

    #: kind -> (head CPUs, worker nodes)
    KINDS: ClassVar[dict[str, tuple[int, int]]] = {"local": (2, 0), "three": (1, 2)}

    def __init__(self, python: str, env: dict[str, str]):
        self.python = python
        self.env = env
        self.running: dict[str, Cluster] = {}

    def get(self, kind: str) -> Cluster:
        cluster = self.running.get(kind)
        if cluster is None or cluster.removed:
            if cluster is not None:
                cluster.close()
            head_cpus, workers = self.KINDS[kind]
            cluster = self.running[kind] = Cluster(self.python, self.env, head_cpus, workers)
        return cluster

    def close(self) -> None:
        for cluster in self.running.values():
            cluster.close()
        self.running.clear()


def program_args(
    python: str, program: Path, base_url: str, workdir: Path, extra: list[str]
) -> list[str]:
    """The command line of one run, its input, report and output files in ``workdir``."""
    args = [python, str(program), "--base-url", base_url, "--progress", "off"]
    args += ["--input", str(workdir / "input.json"), "--run-dir", str(workdir / "run")]
    args += ["--report", str(workdir / "report.json"), "--output", str(workdir / "output.json")]
    return [*args, "--backoff", "0.005", *extra]


def run_program(
    python: str,
    program: Path,
    base_url: str,
    workdir: Path,
    data: Any,
    env: dict[str, str],
    extra: list[str] = (),
) -> dict[str, Any]:
    """Run a program to its end: ``{"code", "stderr", "result", "report"}``."""
    (workdir / "input.json").write_text(json.dumps(data), encoding="utf-8")
    for stale in ("report.json", "output.json"):
        (workdir / stale).unlink(missing_ok=True)
    args = program_args(python, program, base_url, workdir, list(extra))
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300, check=False)
    return finished(workdir, done.returncode, done.stderr)


def finished(workdir: Path, code: int, stderr: str) -> dict[str, Any]:
    out: dict[str, Any] = {"code": code, "stderr": stderr, "result": None, "report": {}}
    if (workdir / "output.json").exists():
        out["result"] = json.loads((workdir / "output.json").read_text(encoding="utf-8"))
    if (workdir / "report.json").exists():
        out["report"] = json.loads((workdir / "report.json").read_text(encoding="utf-8"))
    return out


def records(run_dir: Path) -> dict[str, str]:
    """The calls completed so far (their records in the run directory): key -> node."""
    out = {}
    for path in run_dir.glob("calls/*/*.json"):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # being renamed into place
        out[record["key"]] = record.get("node", "")
    return out


def recorded_keys(run_dir: Path) -> set[str]:
    """The keys of the calls completed so far."""
    return set(records(run_dir))


def interrupted(
    python: str,
    program: Path,
    base_url: str,
    workdir: Path,
    data: Any,
    env: dict[str, str],
    ready: Callable[[dict[str, str]], bool],
    act: Callable[[subprocess.Popen], None],
    extra: list[str] = (),
) -> tuple[set[str], subprocess.Popen]:
    """Start a run, wait until its records (key -> node) are ``ready``, note their keys, then
    ``act`` on the running program (kill it, kill a node); the keys noted and the process."""
    (workdir / "input.json").write_text(json.dumps(data), encoding="utf-8")
    args = program_args(python, program, base_url, workdir, list(extra))
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    deadline = time.monotonic() + 200
    while not ready(done := records(workdir / "run")):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"the run ended before the moment to act: {proc.communicate()}")
        time.sleep(0.05)
    act(proc)
    return set(done), proc


def kill(proc: subprocess.Popen) -> None:
    """SIGKILL: the driver gets no chance to clean up."""
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)


# the fixtures of the Ray test modules (each imports them)


@pytest.fixture(scope="session")
def guard_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The guard's log for the session's Ray processes (empty, or the clusters' teardown
    fails)."""
    return tmp_path_factory.mktemp("guard") / "refused.log"


@pytest.fixture(scope="session")
def python() -> str:
    return venv_python("ray")


@pytest.fixture(scope="session")
def clusters(python: str, guard_log: Path) -> Iterator[Clusters]:
    """The session's Rays, each started once."""
    running = Clusters(python, ray_env(guard_log))
    yield running
    running.close()
    assert guard_entries(guard_log) == [], "a Ray process tried to leave the machine"


@pytest.fixture
def local_ray(clusters: Clusters) -> Cluster:
    """A local Ray with 2 CPUs."""
    return clusters.get("local")


@pytest.fixture
def three_nodes(clusters: Clusters) -> Cluster:
    """A head and two worker nodes, one CPU each, all on this machine."""
    return clusters.get("three")

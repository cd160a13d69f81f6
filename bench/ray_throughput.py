"""Throughput of the ray target against ``serve-sim``, beside the python target in the same
run, on a Ray cluster of 1, 2 and 3 nodes simulated on this machine.

    python bench/ray_throughput.py [--calls N] [--delay MS] [--python RAY_VENV_PYTHON]

Workload: a wide map (counting, one call per chunk of 100 digits, no vote), so every call is
independent and the cluster could run them all at once. Each row is one program run against
the simulated LLM over HTTP on 127.0.0.1 (``--delay`` adds a model latency to every call):
calls per second while the plan runs (the report's ``seconds``, Ray's start-up and join not
included) and the wall time of the whole process. A serial run (``--concurrency 1``) of each
target gives the time one call takes end to end; their difference is Ray's overhead per call
(a task submitted, scheduled, run in a worker, its record written and its result fetched).
The cluster's nodes are ``tests/targets/ray_cluster.py`` (``ray.cluster_utils.Cluster``): a
head and worker nodes of one CPU each, all sharing this machine's cores.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

ENV = {
    "RAY_USAGE_STATS_ENABLED": "0",
    "HTTP_PROXY": "http://127.0.0.1:9",
    "http_proxy": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "https_proxy": "http://127.0.0.1:9",
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
    "AALP_API_KEY": "sim",
}
CHUNKS = {"count.x": 100, "count.model": "gpt4omini", "count.vote": "none"}


def programs(folder: Path, n: int) -> tuple[Any, dict[str, Path]]:
    """The counting plan for both targets; the checked spec and each program."""
    from aalp.api import compile as emit
    from aalp.backends.base import write
    from aalp.checks.loader import load

    checked = load(ROOT / "samples" / "counting.aalp", {"n": str(n)})
    out = {}
    for target in ("python", "ray"):
        compiled = emit(checked, target, decisions=CHUNKS)
        write(compiled.files, str(folder / target))
        out[target] = folder / target / compiled.files[0].path
    return checked, out


def run(python: str, program: Path, url: str, folder: Path, extra: list[str]) -> dict:
    """One run: the report, and the wall time of the whole process."""
    report = folder / "report.json"
    report.unlink(missing_ok=True)
    args = [python, str(program), "--base-url", url, "--input", str(folder / "input.json")]
    args += ["--report", str(report), "--progress", "off", "--fresh", *extra]
    start = time.monotonic()
    done = subprocess.run(
        args, capture_output=True, text=True, env={**os.environ, **ENV}, check=False
    )
    wall = time.monotonic() - start
    if done.returncode != 0:
        raise SystemExit(f"{program.name} failed: {done.stderr[-2000:]}")
    out: dict = json.loads(report.read_text(encoding="utf-8"))
    out["wall"] = wall
    return out


def row(name: str, report: dict) -> str:
    calls, seconds = report["calls"], max(report["seconds"], 1e-9)
    nodes = len(report.get("calls_by_node") or {}) or "-"
    return (
        f"| {name:<34} | {calls:>5} | {calls / seconds:>8.1f} | {1000 * seconds / calls:>8.2f} "
        f"| {report['wall']:>6.1f} | {nodes!s:>5} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="calls of the map (chunks)")
    parser.add_argument("--delay", type=float, default=0.0, help="model latency per call (ms)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--task-cpus", default="0.25", help="the ray program's --task-cpus")
    parser.add_argument(
        "--python", default=os.path.join(os.environ.get("AALP_VENV_RAY", ""), "bin", "python")
    )
    args = parser.parse_args()
    if not Path(args.python).exists():
        raise SystemExit("no Ray venv: set AALP_VENV_RAY or pass --python")
    from aalp.sim.core import Faults, SimCore
    from aalp.sim.harness import make_input
    from aalp.sim.server import SimServer
    from ray_support import Cluster

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        checked, program = programs(folder, 100 * args.calls)
        (folder / "input.json").write_text(json.dumps(make_input(checked, 1)), encoding="utf-8")
        core = SimCore(checked, seed=1, faults=Faults(delay_ms=args.delay))
        wide = ["--concurrency", str(args.concurrency)]
        print(
            f"counting map, {args.calls} calls, model latency {args.delay:g} ms, "
            f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}\n"
        )
        print("| run | calls | calls/s | ms/call | wall s | nodes |")
        print("|---|---|---|---|---|---|")
        with SimServer(core) as server:
            py = [sys.executable, program["python"], server.url, folder]
            serial_py = run(*py, ["--journal", "-", "--concurrency", "1"])
            print(row("python, 1 in flight", serial_py))
            print(row(f"python, {args.concurrency} in flight", run(*py, ["--journal", "-", *wide])))
            serial_ray = None
            for nodes in (1, 2, 3):
                cluster = Cluster(
                    args.python, {**os.environ, **ENV}, head_cpus=1, workers=nodes - 1
                )
                try:
                    ray = [args.python, program["ray"], server.url, folder]
                    common = ["--address", cluster.address, "--run-dir", str(folder / "run")]
                    if nodes == 1:
                        serial_ray = run(*ray, [*common, "--concurrency", "1"])
                        print(row("ray, 1 node, 1 in flight", serial_ray))
                    # the first run starts the workers (each imports Ray and openai); the
                    # second finds them idle if they are still alive
                    for when in ("cold", "warm"):
                        report = run(*ray, [*common, *wide, "--task-cpus", args.task_cpus])
                        name = f"ray, {nodes} node(s), {args.concurrency} in flight, {when}"
                        print(row(name, report))
                finally:
                    cluster.close()
    assert serial_ray is not None
    overhead = (
        serial_ray["seconds"] / serial_ray["calls"] - serial_py["seconds"] / serial_py["calls"]
    )
    print(
        f"\nRay's overhead per call (serial ray - serial python): {1000 * overhead:.2f} ms; "
        f"load average now {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()

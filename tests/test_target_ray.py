"""The ray target end to end: emitted programs run on Ray (the Ray venv, AALP_VENV_RAY)
against the simulated LLM, every Ray process behind the loopback-only network guard.

Two Rays, each started once per test session (per pytest-xdist worker): a local Ray of 2 CPUs
for the samples and the hostile endpoint; a cluster of 3 nodes on this machine for spreading a
map, killing the driver and killing a worker node. The programs' answers must be the oracle's,
the server must have answered exactly the calls the program reports (inside the header's
interval), the calls must be those the python target makes for the same plan, and no completed
call may be asked twice.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from aalp.api import compile as emit
from aalp.backends.base import write
from aalp.sim import harness
from aalp.sim.core import Faults, SimCore
from aalp.sim.oracles.hanoi import final_state
from aalp.sim.server import SimServer
from ray_support import (
    Cluster,
    guard_entries,
    interrupted,
    kill,
    ray_env,
    recorded_keys,
    run_program,
)

pytestmark = pytest.mark.ray
#: the Ray fixtures (the guard's log, the venv's python, the session's clusters)
pytest_plugins = ["ray_support"]

#: sample -> -D overrides (the optimizer's plan for each)
SAMPLES = {
    "counting": {"target": "0.999"},
    "sorting": {"q": "0.9999999", "target": "0.99"},
    "hanoi": {"disks": "8", "p": "0.985"},
}


#: counting in chunks of 100 digits, one call each (every count right w.p. > 0.999)
CHUNKS = {"count.x": 100, "count.model": "gpt4omini", "count.vote": "none"}


def compiled(
    load_sample: Any,
    folder: Path,
    name: str,
    kind: str = "ray",
    decisions: dict[str, Any] | None = None,
    **defines: str,
):
    checked = load_sample(name, **defines)
    result = emit(checked, kind, decisions=decisions)
    write(result.files, str(folder))
    return checked, result, folder / result.files[0].path


def check_run(run: dict[str, Any], checked: Any, result: Any, data: Any, stats: dict) -> None:
    """The right answer, every served call counted, inside the predicted interval."""
    assert run["code"] == 0, run["stderr"][-3000:]
    answer = run["result"]
    if checked.spec.tasks[0].name == "hanoi":
        answer = final_state(answer)
    assert answer == harness.expected(checked, data)
    report = run["report"]
    assert report["calls"] == stats["calls"] and report["calls_by_op"] == stats["by_op"]
    low, high = result.view["prediction"]["calls_interval"]
    assert low <= report["calls"] <= high and report["calls_in_interval"]


@pytest.mark.parametrize("name", list(SAMPLES))
def test_sample_on_local_ray_makes_the_python_targets_calls(
    name: str, python: str, local_ray: Cluster, guard_log: Path, load_sample, tmp_path: Path
) -> None:
    checked, result, program = compiled(load_sample, tmp_path / "ray", name, **SAMPLES[name])
    data = harness.make_input(checked, seed=2)
    with SimServer(SimCore(checked, seed=5)) as server:
        env = ray_env(guard_log)
        run = run_program(
            python,
            program,
            server.url,
            tmp_path / "ray",
            data,
            env,
            ["--address", local_ray.address],
        )
        stats = server.core.stats()
    check_run(run, checked, result, data, stats)
    # the python target, same plan and seed: the same calls (keys), the same answer
    _, _, py_program = compiled(load_sample, tmp_path, name, "python", **SAMPLES[name])
    with SimServer(SimCore(checked, seed=5)) as server:
        py_run = harness.run_program(py_program, server.url, tmp_path, data, ["--journal", "-"])
        py_keys = server.core.stats()["keys"]
    assert py_run.returncode == 0, py_run.stderr
    assert sorted(stats["keys"]) == sorted(py_keys)
    assert run["result"] == py_run.result


def test_hostile_endpoint_is_retried_by_ray_and_changes_no_answer(
    python: str, local_ray: Cluster, guard_log: Path, load_sample, tmp_path: Path
) -> None:
    """HTTP 500s and 200s without an answer are Ray task retries, not calls, and counted
    apart; garbled answers are red flags (calls, never votes): the sum stays exact."""
    checked, _, program = compiled(load_sample, tmp_path, "counting", decisions=CHUNKS, n="2000")
    data = harness.make_input(checked, seed=3)
    faults = Faults(fail_rate=0.1, malformed_rate=0.15, broken_rate=0.25)
    with SimServer(SimCore(checked, seed=3, faults=faults)) as server:
        run = run_program(
            python,
            program,
            server.url,
            tmp_path,
            data,
            ray_env(guard_log),
            ["--address", local_ray.address],
        )
        stats = server.core.stats()
    assert run["code"] == 0, run["stderr"][-3000:]
    assert run["result"] == harness.expected(checked, data)
    assert run["report"]["calls_by_op"] == stats["by_op"]
    faulty = stats["faults"]
    assert faulty["malformed"] > 0 and faulty["http_500"] > 0 and faulty["broken_response"] > 0
    report = run["report"]
    assert report["transport_errors"] == faulty["http_500"]
    assert report["malformed_responses"] == faulty["broken_response"]


def test_an_endpoints_refusal_stops_the_run_with_one_line(
    python: str, local_ray: Cluster, guard_log: Path, load_sample, tmp_path: Path
) -> None:
    """An unknown model (HTTP 404) is not retried: the task's error reaches the driver as the
    program's own exception, and the run stops with one line and a report."""
    checked, _, program = compiled(load_sample, tmp_path, "counting", decisions=CHUNKS, n="400")
    data = harness.make_input(checked, seed=3)
    with SimServer(SimCore(checked, seed=3)) as server:
        extra = ["--address", local_ray.address, "--model-map", "gpt4omini=no-such-model"]
        run = run_program(python, program, server.url, tmp_path, data, ray_env(guard_log), extra)
        stats = server.core.stats()
    assert run["code"] == 1 and "Traceback" not in run["stderr"]
    assert "error: the endpoint refused a request: count:" in run["stderr"]
    assert stats["calls"] == 0
    # the report of the failed run says so, as the python target's does
    report = run["report"]
    assert report["status"] == "failed" and report["calls"] == 0
    assert report["error"].startswith("the endpoint refused a request: count:")


def test_own_local_ray_stays_on_loopback_without_any_proxy_set(
    python: str, load_sample, tmp_path: Path
) -> None:
    """Started by the program itself (no --address) in an environment with no proxy
    variables, Ray's start-up probes of cloud metadata addresses still go nowhere."""
    log = tmp_path / "refused.log"
    checked, result, program = compiled(load_sample, tmp_path, "counting", n="400")
    data = harness.make_input(checked, seed=1)
    with SimServer(SimCore(checked, seed=1)) as server:
        env = ray_env(log, proxies=False)
        run = run_program(python, program, server.url, tmp_path, data, env, ["--num-cpus", "2"])
        stats = server.core.stats()
    check_run(run, checked, result, data, stats)
    assert guard_entries(log) == []
    assert set(run["report"]["nodes"].values()) == {"127.0.0.1"}


def test_the_guard_refuses_and_reports_a_connect_off_the_machine(
    python: str, tmp_path: Path
) -> None:
    log = tmp_path / "refused.log"
    probe = "import socket; s = socket.socket(); s.settimeout(1); s.connect(('10.255.255.1', 80))"
    done = subprocess.run(
        [python, "-c", probe], env=ray_env(log), capture_output=True, text=True, check=False
    )
    assert done.returncode != 0 and "blocked by the test's network guard" in done.stderr
    assert guard_entries(log) and "10.255.255.1" in guard_entries(log)[0]


def test_a_map_spreads_across_the_nodes(
    python: str, three_nodes: Cluster, guard_log: Path, load_sample, tmp_path: Path
) -> None:
    checked, result, program = compiled(
        load_sample, tmp_path, "counting", decisions=CHUNKS, n="2000"
    )
    data = harness.make_input(checked, seed=4)
    with SimServer(SimCore(checked, seed=4, faults=Faults(delay_ms=50))) as server:
        run = run_program(
            python,
            program,
            server.url,
            tmp_path,
            data,
            ray_env(guard_log),
            ["--address", three_nodes.address, "--concurrency", "6"],
        )
        stats = server.core.stats()
    check_run(run, checked, result, data, stats)
    by_node = run["report"]["calls_by_node"]
    assert set(by_node) == set(three_nodes.nodes), by_node  # every node made calls
    assert sum(by_node.values()) == stats["calls"]
    assert "calls of this run by node (3 in the cluster)" in run["stderr"]


def _no_completed_call_repeated(before: set[str], served: list[str], inflight: int) -> None:
    """Calls completed before the interruption were asked once; only calls in flight at
    that moment may have been asked again."""
    asked = Counter(served)
    assert all(asked[key] == 1 for key in before)
    assert len([k for k, n in asked.items() if n > 1]) <= inflight


def test_killing_the_driver_then_resuming_repeats_no_completed_call(
    python: str, three_nodes: Cluster, guard_log: Path, load_sample, tmp_path: Path
) -> None:
    checked, _, program = compiled(load_sample, tmp_path, "counting", decisions=CHUNKS, n="8000")
    data = harness.make_input(checked, seed=6)
    extra = ["--address", three_nodes.address, "--concurrency", "4"]
    env = ray_env(guard_log)

    def ten(done: dict[str, str]) -> bool:
        return len(done) >= 10

    with SimServer(SimCore(checked, seed=6, faults=Faults(delay_ms=150))) as server:
        before, _ = interrupted(python, program, server.url, tmp_path, data, env, ten, kill, extra)
        assert not (tmp_path / "output.json").exists()
        run = run_program(python, program, server.url, tmp_path, data, env, extra)
        stats = server.core.stats()
    assert run["code"] == 0, run["stderr"][-3000:]
    assert run["result"] == harness.expected(checked, data)
    assert run["report"]["replayed"] >= len(before) and run["report"]["calls_this_run"] > 0
    _no_completed_call_repeated(before, stats["keys"], 4)
    assert recorded_keys(tmp_path / "run") == set(stats["keys"])


def test_killing_a_worker_node_mid_run_repeats_no_completed_call(
    python: str, three_nodes: Cluster, guard_log: Path, load_sample, tmp_path: Path
) -> None:
    checked, _, program = compiled(load_sample, tmp_path, "counting", decisions=CHUNKS, n="8000")
    data = harness.make_input(checked, seed=8)
    extra = ["--address", three_nodes.address, "--concurrency", "4"]
    killed: list[str] = []
    doomed = three_nodes.nodes[-1]  # the last worker: the one remove_node kills

    def ready(done: dict[str, str]) -> bool:  # once it has completed calls of its own
        return len(done) >= 10 and doomed in done.values()

    with SimServer(SimCore(checked, seed=8, faults=Faults(delay_ms=150))) as server:
        before, proc = interrupted(
            python,
            program,
            server.url,
            tmp_path,
            data,
            ray_env(guard_log),
            ready,
            lambda _: killed.append(three_nodes.remove_node()),
            extra,
        )
        _, stderr = proc.communicate(timeout=600)
        stats = server.core.stats()
    assert proc.returncode == 0, stderr[-3000:]
    result_value = json.loads((tmp_path / "output.json").read_text(encoding="utf-8"))
    assert result_value == harness.expected(checked, data)
    _no_completed_call_repeated(before, stats["keys"], 4)
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["calls"] == len(set(stats["keys"])) > len(before) + 4  # went on after it
    assert killed == [doomed] and doomed in report["calls_by_node"]

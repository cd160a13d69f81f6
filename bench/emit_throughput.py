"""Throughput of emitted Python programs: calls per second against ``serve-sim`` over HTTP,
and the orchestration overhead per call against an in-process fake client.

    python bench/emit_throughput.py [--quick] [--runs N] [--in-process]

Workloads: a wide map (counting, many chunks in parallel, one call each) and a long voted
chain (Hanoi, one move per call, first-to-ahead-by-k). The fake client answers instantly:
counting with a constant, Hanoi with the simulator's answer to each call, made once before
the timed runs (the simulator answers a call by its seed and key alone, so every run gets the
same answers; what its logic costs per call is printed apart). What is left is the program's
own work per call: building requests, voting, journaling, bookkeeping. A hand-written asyncio
loop makes the counting map's calls over the same fake client in the same run: the floor the
emitted program is held against (the ratio printed below the table).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.util
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def compile_to(folder: Path, sample: str, defines: dict[str, str], pins: tuple[str, ...]) -> Path:
    from aalp.api import compile as emit
    from aalp.backends.base import write
    from aalp.checks.loader import load

    compiled = emit(load(ROOT / "samples" / f"{sample}.aalp", defines), pins=pins)
    write(compiled.files, str(folder))
    return folder / compiled.files[0].path


def load_module(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"bench_{path.stem}_{time.time_ns()}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class InstantClient:
    """Answers every request at once; ``respond(body, key)`` makes the reply."""

    def __init__(self, respond: Any):
        self.respond = respond
        self.chat = SimpleNamespace(completions=SimpleNamespace(create=self.create))

    async def create(self, **kwargs: Any) -> Any:
        reply = self.respond(kwargs, kwargs["extra_headers"]["X-Aalp-Call"])
        choice = reply["choices"][0]
        usage = reply["usage"]
        return SimpleNamespace(
            choices=[
                SimpleNamespace(
                    message=SimpleNamespace(content=choice["message"]["content"]),
                    finish_reason=choice["finish_reason"],
                )
            ],
            usage=SimpleNamespace(
                prompt_tokens=usage["prompt_tokens"], completion_tokens=usage["completion_tokens"]
            ),
        )


CONSTANT = {
    "choices": [{"message": {"content": "3"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 250, "completion_tokens": 5},
}


async def hand_written(data: dict[str, Any], x: int, system: str, client: Any) -> int:
    """The counting map as one would write it by hand: a chunk per call, at most 64 in
    flight, the answers parsed and summed. No journal, no voting, no bookkeeping."""
    digits = data["digits"]
    gate = asyncio.Semaphore(64)

    async def one(c: int) -> int:
        chunk = digits[c * x : (c + 1) * x]
        request = {"x": len(chunk), "chunk": c, "items": chunk}
        messages = [{"role": "system", "content": system}]
        messages.append({"role": "user", "content": json.dumps(request)})
        async with gate:
            response = await client.chat.completions.create(
                model="gpt4omini",
                messages=messages,
                temperature=1.0,
                extra_headers={"X-Aalp-Call": f"s0/{c}/count#0"},
            )
        return int(response.choices[0].message.content)

    counts = await asyncio.gather(*(one(c) for c in range(-(-len(digits) // x))))
    return sum(counts)


def baseline(data: dict[str, Any], x: int, system: str) -> dict:
    client = InstantClient(lambda body, key: CONSTANT)
    calls = -(-len(data["digits"]) // x)
    start, cpu = time.perf_counter(), time.process_time()
    asyncio.run(hand_written(data, x, system, client))
    return {
        "calls": calls,
        "seconds": time.perf_counter() - start,
        "cpu": time.process_time() - cpu,
    }


def in_process(program: Path, data: dict[str, Any], respond: Any, journal: str) -> dict:
    module = load_module(program)
    folder = program.parent
    (folder / "input.json").write_text(json.dumps(data), encoding="utf-8")
    argv = ["--input", str(folder / "input.json"), "--progress", "off", "--fresh"]
    argv += ["--concurrency", "64"]
    if journal == "none":
        argv += ["--journal", "-"]
    else:
        argv += ["--journal", str(folder / "bench.journal")]
        if journal == "nofsync":
            argv.append("--no-fsync")
    args = module.parse_args(argv)
    start, cpu = time.perf_counter(), time.process_time()
    _, report = asyncio.run(module.run_plan(args, InstantClient(respond)))
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"calls": report["calls"], "seconds": seconds, "cpu": cpu}


def recorded(core: Any, program: Path, data: dict[str, Any]) -> Any:
    """A reply function answering every call of ``program`` as ``core`` does, from a table
    made by one untimed run (the simulator's logic then costs a lookup per call)."""
    table: dict[str, Any] = {}

    def record(body: dict[str, Any], key: str) -> Any:
        if key not in table:
            table[key] = core.complete(body, key)
        return table[key]

    in_process(program, data, record, "none")
    return lambda body, key: table[key] if key in table else record(body, key)


def over_http(program: Path, checked: Any, data: dict[str, Any], journal: str) -> dict:
    from aalp.sim import SimCore, SimServer
    from aalp.sim.harness import run_program

    extra = ["--fresh", "--concurrency", "64"]
    if journal == "none":
        extra += ["--journal", "-"]
    elif journal == "nofsync":
        extra.append("--no-fsync")
    with SimServer(SimCore(checked, seed=1)) as server:
        run = run_program(program, server.url, program.parent, data, extra)
    if run.returncode != 0:
        raise SystemExit(run.stderr)
    return {
        "calls": run.report["calls"],
        "seconds": run.report["seconds"],
        "errors": run.report["transport_errors"],
    }


def timed_together(runs: int, workloads: list[Any]) -> list[dict]:
    """Every workload ``runs`` times: its calls and every run's wall and CPU seconds (the
    first run of a fresh module also pays for warming up, hence the min and the median). The
    workloads take turns, one run of each at a time, so a load that comes and goes on the
    machine falls on all of them alike."""
    results: list[list[dict]] = [[] for _ in workloads]
    for _ in range(runs):
        for done, once in zip(results, workloads, strict=True):
            done.append(once())
    return [
        {
            "calls": done[0]["calls"],
            "times": sorted(r["seconds"] for r in done),
            "cpu": sorted(r.get("cpu", r["seconds"]) for r in done),
        }
        for done in results
    ]


def per_call(row: dict, field: str = "times") -> tuple[float, float]:
    """The row's (min, median) microseconds per call: of wall time, or of the process's CPU
    time (``field="cpu"``: what other processes on a loaded machine disturb least)."""
    times = row.get(field, row["times"])
    return times[0] / row["calls"] * 1e6, statistics.median(times) / row["calls"] * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller workloads")
    parser.add_argument("--runs", type=int, default=5, help="runs of each in-process row")
    parser.add_argument("--in-process", action="store_true", help="skip the HTTP rows")
    opts = parser.parse_args()
    import openai  # noqa: F401  (imported once here, not inside the first timed run)
    from aalp.checks.loader import load
    from aalp.sim import SimCore
    from aalp.sim.harness import make_input

    # as an emitted program's main() does after its start-up; both loops below run on it
    gc.freeze()
    n = "20000" if opts.quick else "100000"
    disks = "8" if opts.quick else "10"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        wide_dir, chain_dir = Path(tmp, "wide"), Path(tmp, "chain")
        wide_dir.mkdir()
        chain_dir.mkdir()
        wide_defs = {"n": n}
        wide = compile_to(wide_dir, "counting", wide_defs, ("count.x=50", "count.vote=none"))
        chain_defs = {"disks": disks, "p": "0.985"}
        chain = compile_to(chain_dir, "hanoi", chain_defs, ("move.x=1",))
        wide_checked = load(ROOT / "samples/counting.aalp", wide_defs)
        chain_checked = load(ROOT / "samples/hanoi.aalp", chain_defs)
        wide_data = make_input(wide_checked)
        chain_data = make_input(chain_checked)
        core = SimCore(chain_checked, seed=1)
        answers = recorded(core, chain, chain_data)
        system = load_module(wide).OPS["count"]["system"]
        constant = lambda body, key: CONSTANT  # noqa: E731
        workloads = [
            ("counting map, hand-written loop", "none", lambda: baseline(wide_data, 50, system))
        ]
        for journal in ("none", "nofsync", "fsync"):
            workloads.append(
                (
                    "counting map, fake client",
                    journal,
                    lambda j=journal: in_process(wide, wide_data, constant, j),
                )
            )
            workloads.append(
                (
                    "hanoi chain, sim answers in-process",
                    journal,
                    lambda j=journal: in_process(chain, chain_data, answers, j),
                )
            )
        timings = timed_together(opts.runs, [once for _, _, once in workloads])
        rows += [
            (name, journal, r) for (name, journal, _), r in zip(workloads, timings, strict=True)
        ]
        hand = rows[0][2]
        for journal in () if opts.in_process else ("none", "fsync"):
            for name, program, checked, data in (
                ("counting map, serve-sim HTTP", wide, wide_checked, wide_data),
                ("hanoi chain, serve-sim HTTP", chain, chain_checked, chain_data),
            ):
                r = over_http(program, checked, data, journal)
                rows.append((name, journal, {**r, "times": [r["seconds"]]}))
    # what the simulator's logic alone costs per call (part of the in-process Hanoi rows)
    body = {
        "model": "gpt41mini",
        "messages": [
            {"role": "system", "content": next(iter(core.by_prompt))},
            {"role": "user", "content": json.dumps({"x": 1, "step": 0, "previous": chain_data})},
        ],
    }
    start = time.perf_counter()
    for i in range(2000):
        core.complete(body, f"k{i}")
    sim_us = (time.perf_counter() - start) / 2000 * 1e6
    head = f"{'workload':<36}{'journal':>9}{'calls':>8}{'runs':>6}{'calls/s':>10}"
    print(head + f"{'us/call min':>13}{'median':>8}{'cpu med':>9}{'retried':>9}")
    for name, journal, r in rows:
        low, mid = per_call(r)
        cpu = per_call(r, "cpu")[1]
        print(
            f"{name:<36}{journal:>9}{r['calls']:>8}{len(r['times']):>6}{1e6 / low:>10.0f}"
            f"{low:>13.1f}{mid:>8.1f}{cpu:>9.1f}{r.get('errors', 0):>9}"
        )
    for field, what in (("times", "wall"), ("cpu", "CPU")):
        emitted, hand_us = per_call(rows[1][2], field), per_call(hand, field)
        print(
            f"emitted counting map / hand-written loop ({what}): {emitted[0] / hand_us[0]:.2f}x "
            f"at the min, {emitted[1] / hand_us[1]:.2f}x at the median"
        )
    print(f"(the simulator's own logic, {sim_us:.0f} us a call, is left out of the Hanoi rows)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()

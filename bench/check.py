"""Benchmark: process wall time of ``aalp check samples/*.aalp``, and what it imports.

Runs the command N times as a fresh process (the way a user or an editor runs it), reports the
median and spread, the time of a bare ``python -c pass`` for reference, and the heaviest
imports seen by ``python -X importtime``. It asserts nothing: speed is reported, not tested (the
test suite checks the import list instead).

    python bench/check.py [--runs 15]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("sympy", "ortools", "networkx", "numpy", "jinja2", "scipy")
CHECK = [sys.executable, "-c", "from aalp.cli import main; main()", "check"]


def wall(cmd: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return times


def import_profile(cmd: list[str]) -> tuple[list[tuple[int, str]], set[str]]:
    """(cumulative microseconds, module) of the top-level imports, and every package imported."""
    run = subprocess.run(
        [cmd[0], "-X", "importtime", *cmd[1:]], cwd=ROOT, capture_output=True, text=True
    )
    rows, packages = [], set()
    for line in run.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)", line)
        if not m:
            continue
        packages.add(m.group(4).split(".")[0])
        if not m.group(3):  # imported at top level, not as a dependency of another import
            rows.append((int(m.group(2)), m.group(4)))
    return sorted(rows, reverse=True), packages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    samples = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "samples").glob("*.aalp"))
    cmd = CHECK + samples
    wall(cmd, 1)  # warm the file cache and the bytecode
    baseline = wall([sys.executable, "-c", "pass"], args.runs)
    times = wall(cmd, args.runs)
    rows, packages = import_profile(cmd)
    print(f"aalp check over {len(samples)} samples, {args.runs} runs")
    print(f"  median {statistics.median(times) * 1000:7.1f} ms")
    print(f"  min    {min(times) * 1000:7.1f} ms   max {max(times) * 1000:7.1f} ms")
    print(f"  python -c pass: median {statistics.median(baseline) * 1000:.1f} ms")
    print("  heaviest top-level imports (cumulative):")
    for us, name in rows[:8]:
        print(f"    {us / 1000:7.1f} ms  {name}")
    heavy = sorted(packages.intersection(HEAVY))
    print(f"  heavy libraries imported: {', '.join(heavy) if heavy else 'none'}")


if __name__ == "__main__":
    main()

"""Benchmark: Monte Carlo throughput of ``aalp.model.montecarlo``.

Decisions per second for each booster (one decision = one vote, retry loop or call with its
red-flag redraws, played out sample by sample), and runs per second of whole plans: the
optimizer's plan of every sample and MAKER's Hanoi (one step per call, ahead-by-3 voting) at
10 and 20 disks.

Run: ``python bench/montecarlo.py`` (prints tables; nothing is asserted).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from aalp.checks.loader import load
from aalp.model.montecarlo import OpDraw, play, simulate
from aalp.plan.plan import Choice, Retry, Vote

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def booster_rows(n: int = 1 << 20) -> list[tuple[str, str]]:
    rows = []
    cases = {
        "none, keep 0.9": Choice("m"),
        "ahead_by k=3, keep 0.9": Choice("m", Vote("ahead_by", 3)),
        "ahead_by k=10, keep 0.9": Choice("m", Vote("ahead_by", 10)),
        "majority K=5, keep 0.9": Choice("m", Vote("majority", 5)),
        "retry ≤ 5 until exact": Choice("m", Retry("exact", 5)),
        "retry ≤ 5 until a judge": Choice("m", Retry("judge", 5)),
    }
    for name, choice in cases.items():
        draw = OpDraw((0.5, 0.5), (0.99, 0.7), (0.01, 0.2), 0.9, choice, 0.9, 1.0)
        rng = np.random.default_rng(0)
        play(draw, 1000, rng)  # warm up
        _, dt = timed(lambda d=draw, r=rng: play(d, n, r))
        rows.append((name, f"{n / dt / 1e6:.1f} M/s"))
    return rows


def plan_rows() -> list[tuple[str, str, str, str]]:
    from aalp.optimizer.driver import optimize

    rows = []
    for path in sorted(SAMPLES.glob("*.aalp")):
        checked = load(path)
        plan = optimize(checked, frontier=False, baselines=False).plan
        if plan is None:
            continue
        # about 2·10^7 decisions per sample: Hanoi's 2^20 steps get 20 runs, the others 2000
        calls = max(1.0, plan.metrics["calls"])
        runs = int(max(10, min(2000, 2e7 // calls)))
        _, dt = timed(lambda c=checked, p=plan, r=runs: simulate(c, None, dict(p.decisions), r, 1))
        rows.append((path.stem, str(runs), f"{dt:.2f} s", f"{runs / dt:,.0f} runs/s"))
    for disks, runs in ((10, 1000), (20, 20)):
        checked = load(SAMPLES / "hanoi.aalp", {"disks": str(disks)})
        d = {"move.x": 1, "move.model": "gpt41mini", "move.vote": "ahead_by", "move.votes": 3}
        _, dt = timed(lambda c=checked, dd=d, r=runs: simulate(c, None, dd, r, 1))
        decisions = (2**disks - 1) * runs
        rows.append(
            (
                f"hanoi {disks} disks, x=1, k=3",
                str(runs),
                f"{dt:.2f} s",
                f"{runs / dt:,.1f} runs/s, {decisions / dt / 1e6:.1f} M decisions/s",
            )
        )
    return rows


def main() -> None:
    print("decisions per second (2^20 decisions, vectorized)")
    for name, rate in booster_rows():
        print(f"  {name:<28}{rate:>12}")
    print()
    print("whole plans")
    for name, runs, dt, rate in plan_rows():
        print(f"  {name:<28}{runs:>6} runs {dt:>9}   {rate}")


if __name__ == "__main__":
    main()

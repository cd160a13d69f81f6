"""Benchmark: wall time of ``explain`` on every sample, of the optimizer on Hanoi at 20 and 64
disks, and of the optimizer against exhaustive enumeration where enumeration is possible.

Run: ``python bench/optimize.py`` (prints a table; nothing is asserted).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from aalp.checks.loader import load
from aalp.explainer.report import report
from aalp.optimizer.driver import optimize
from oracles.exhaustive import TooLarge, search

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    rows: list[tuple[str, str, str, str]] = []
    for path in sorted(SAMPLES.glob("*.aalp")):
        checked = load(path)
        result, t_opt = timed(lambda c=checked: optimize(c))
        _rep, t_rep = timed(lambda c=checked, r=result: report(c, r))
        rows.append(
            (
                f"explain {path.stem}",
                f"{t_opt:.2f} s optimize + {t_rep:.2f} s growth fit",
                f"{result.evaluations} evaluations",
                "feasible" if result.feasible else "infeasible",
            )
        )
    for disks in (20, 64):
        checked = load(SAMPLES / "hanoi.aalp", {"disks": str(disks)})
        for objective in ("dollars", "cost"):
            r, t = timed(lambda c=checked, o=objective: optimize(c, objective=o, frontier=False))
            d = r.plan.decisions
            rows.append(
                (
                    f"hanoi disks={disks} ({objective})",
                    f"{t:.2f} s",
                    f"{r.evaluations} evaluations",
                    f"x={d['move.x']} k={d.get('move.votes', '-')} {d['move.model']}",
                )
            )
    for name, defines in (
        ("counting", {"n": "300"}),
        ("sorting", {"n": "120"}),
        ("retrieval", {"n": "400"}),
        ("debugging", {"k": "6", "b": "3"}),
        ("evolution", {"k": "6"}),
        ("voting", {}),
    ):
        checked = load(SAMPLES / f"{name}.aalp", defines)
        r, t_opt = timed(lambda c=checked: optimize(c, frontier=False, baselines=False))
        try:
            brute, t_b = timed(lambda c=checked: search(c, limit=400_000))
        except TooLarge as err:
            rows.append((f"vs exhaustive {name}", f"{t_opt:.2f} s", str(err), "-"))
            continue
        metric = r.objective[1]
        same = r.feasible == brute.feasible and (
            not brute.feasible or abs(r.plan.value(metric) - brute.value) <= 1e-9 * brute.value
        )
        rows.append(
            (
                f"vs exhaustive {name} {defines}",
                f"{t_opt:.3f} s vs {t_b:.2f} s",
                f"{r.evaluations} vs {brute.plans} plans",
                "same optimum" if same else "DIFFERENT",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))


if __name__ == "__main__":
    main()

"""Benchmark: wall time of ``explain`` on every sample, of the optimizer on Hanoi at 20 and 64
disks, of the optimizer against exhaustive enumeration where enumeration is possible, and of the
optimizer on generated specs that grow in structure rather than in size (``structural``).

Run: ``python bench/optimize.py`` (prints a table; nothing is asserted), or
``python bench/optimize.py structural`` for the generated structural specs alone.
"""

from __future__ import annotations

import math
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


def structural_spec(stages: int, ops: int = 1, models: int = 2, boosters: bool = True) -> str:
    """A generated spec: ``stages`` map stages of ``ops`` ops each over 100 items (x up to 20),
    on one or two models; with ``boosters`` each op may vote ahead-by up to 5 or retry up to 3
    times (18 options per op on two models)."""
    names = [[f"s{i}o{j}" for j in range(ops)] for i in range(stages)]
    every = ", ".join(o for stage in names for o in stage)
    on = "a, b" if models == 2 else "a"
    p = "0.999^x" if boosters else "0.99999^x"
    lines = [
        "param n = 100",
        f"model a {{ size 1 context 1M price in 0.15 out 0.60 per Mtok can {every} }}",
        f"model b {{ size 4 context 1M price in 2 out 8 per Mtok can {every} }}",
        "task t {",
        "  items d = n of 1 tokens",
    ]
    for stage in names:
        for o in stage:
            lines.append(
                f"  op {o}(x of d upto 20) on {on} {{ reads 50 + 5*x tokens writes 5 tokens"
                f' success {p} prompt "Do it." answer number }}'
            )
    lines += [f"  map {', '.join(stage)} over d" for stage in names]
    if boosters:
        lines += ["  allow vote ahead_by max 5", "  allow retry max 3 until exact"]
    lines += ["  require success >= 0.9", "  minimize cost", "}"]
    return "\n".join(lines) + "\n"


def map_reduce_spec() -> str:
    """A map and a reduce with a fan-in to choose, 18 options per op (as above)."""
    text = structural_spec(1).replace("can s0o0", "can s0o0, merge")
    merge = (
        "  op merge(x of d) on a, b { reads 50 + x tokens writes 5 tokens success 0.9999^x"
        ' prompt "Merge." answer number }\n'
    )
    text = text.replace(
        "  map s0o0 over d\n", merge + "  map s0o0 over d\n  reduce merge fanin choose\n"
    )
    return text


STRUCTURAL = (
    ("20 stages, 18 options per op", lambda: structural_spec(20)),
    ("1 stage of 10 ops, 2 models", lambda: structural_spec(1, ops=10)),
    ("map + reduce (fanin choose), 18 options", map_reduce_spec),
    ("50 trivial stages (1 model, no booster)", lambda: structural_spec(50, 1, 1, False)),
)


def structural() -> list[tuple[str, str, str, str]]:
    """The optimizer (frontiers and baselines included) on each generated structural spec,
    best of 3 runs in wall and in CPU time (the CPU time holds up better when the machine is
    busy), then the report (closed form and the growth fit, which re-optimizes on a ladder of
    sizes; its first run pays the import of sympy)."""
    from aalp.checks.loader import load_text

    rows = []
    for name, make in STRUCTURAL:
        checked = load_text(make(), "<generated>")
        wall = cpu = math.inf
        for _ in range(3):
            c0 = time.process_time()
            r, t = timed(lambda c=checked: optimize(c))
            wall, cpu = min(wall, t), min(cpu, time.process_time() - c0)
        _rep, t_rep = timed(lambda c=checked, r=r: report(c, r))
        value = r.plan.value(r.objective[1]) if r.plan else float("nan")
        rows.append(
            (
                f"structural: {name}",
                f"{wall:.2f} s ({cpu:.2f} s CPU) + {t_rep:.2f} s report",
                f"{r.evaluations} evaluations",
                f"cost {value:.10g}",
            )
        )
    return rows


def main() -> None:
    if sys.argv[1:] == ["structural"]:
        _print(structural())
        return
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
    rows += structural()
    _print(rows)


def _print(rows: list[tuple[str, str, str, str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))


if __name__ == "__main__":
    main()

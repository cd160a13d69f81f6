"""Benchmark: the optimizer on generated specs, by size.

Draws ``COUNT`` specs from the test suite's spec generator (``tests/specgen.py``, seeded), runs
``optimize`` on each (frontiers and baselines included, as ``explain`` does) and prints, per size
(ops × models × options), how many specs, the median and the worst time. Then the realistic
spec ``bench/specs/realistic.aalp`` (2 ops, 2 models, a verifier retry, an uncapped majority
vote, ``x upto 20``) through ``explain``'s whole report, growth fit included.

Run: ``python bench/generated.py [COUNT]`` (nothing is asserted).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

COUNT = 300


def draw_specs(count: int) -> list[str]:
    from hypothesis import HealthCheck, Phase, given, settings
    from specgen import specs

    out: list[str] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(specs())
    def one(drawn) -> None:
        out.append(drawn.text)

    one()
    return out


def size_of(checked) -> tuple[int, int, int]:
    """(ops, models, options): options is the product of each op's model and booster choices."""
    from aalp.plan.space import build

    task = checked.spec.tasks[0]
    space = build(checked, task.name)
    options = 1
    for op in space.ops:
        options *= max(1, len(op.models)) * max(1, len(op.boosters))
    return len(space.ops), len(checked.spec.models), options


def bucket(options: int) -> str:
    for top in (1, 4, 16, 64):
        if options <= top:
            return f"≤{top}"
    return ">64"


def main() -> None:
    from aalp.checks.loader import load, load_text
    from aalp.diagnostics import SpecError
    from aalp.explainer.render import render_text
    from aalp.explainer.report import report
    from aalp.optimizer.driver import optimize

    count = int(sys.argv[1]) if len(sys.argv) > 1 else COUNT
    times: dict[tuple[int, int, str], list[float]] = {}
    for text in draw_specs(count):
        try:
            checked = load_text(text, "<generated>")
        except SpecError:
            continue
        ops, models, options = size_of(checked)
        t = time.perf_counter()
        try:
            optimize(checked)
        except SpecError:
            continue
        times.setdefault((ops, models, bucket(options)), []).append(time.perf_counter() - t)
    print(f"optimize on {sum(map(len, times.values()))} generated specs (of {count} drawn)")
    print(f"  {'ops':>3} {'models':>6} {'options':>7} {'specs':>5} {'median':>9} {'worst':>9}")
    every: list[float] = []
    order = ["≤1", "≤4", "≤16", "≤64", ">64"]
    for (ops, models, options), ts in sorted(
        times.items(), key=lambda kv: (*kv[0][:2], order.index(kv[0][2]))
    ):
        every += ts
        print(
            f"  {ops:>3} {models:>6} {options:>7} {len(ts):>5}"
            f" {statistics.median(ts):>8.3f}s {max(ts):>8.3f}s"
        )
    if every:
        median, worst = statistics.median(every), max(every)
        print(f"  {'all':>18} {len(every):>5} {median:>8.3f}s {worst:>8.3f}s")

    checked = load(ROOT / "bench" / "specs" / "realistic.aalp")
    t = time.perf_counter()
    result = optimize(checked)
    t_opt = time.perf_counter() - t
    render_text(report(checked, result))
    total = time.perf_counter() - t
    print(
        f"explain bench/specs/realistic.aalp: {total:.2f} s"
        f" ({t_opt:.2f} s optimize, {total - t_opt:.2f} s report with the growth fit)"
    )


if __name__ == "__main__":
    main()

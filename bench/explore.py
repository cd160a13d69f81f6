"""Re-optimization latency behind the explorer's API, per sample.

Each sample is loaded once (as the page does when it opens), then re-optimized the way a
slider move does it: ``aalp.explore.api.optimize_spec`` with one setting changed, with the
API's memory of recent answers cleared before each move so every figure is real work (a slider
dragged back to a value it had is answered from that memory in microseconds). Reports the
median and 95th percentile wall time per sample, and the median of the growth sweep the page
requests after a change.

    python bench/explore.py              # every sample, 20 moves each
    python bench/explore.py hanoi -n 50  # one sample
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from aalp.explore import api
from aalp.explore.controls import Settings

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def moves(text: str, file: str) -> list[Settings]:
    """Settings a user would try: each size slider and probability slider moved a little."""
    checked = api.check_spec(text, file)
    if not checked["ok"]:
        raise SystemExit(f"{file}: does not check")
    out: list[Settings] = []
    for control in checked["controls"]["params"]:
        value = control["value"]
        for factor in (0.5, 2.0) if control["kind"] == "size" else (0.999, 1.0):
            new = value * factor if control["kind"] == "size" else min(value * factor, 0.99999)
            if control["integer"]:
                new = max(1, round(new))
            out.append(Settings(params={control["name"]: repr(new)}))
    return out or [Settings()]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bench(path: Path, repeats: int, sweep: bool) -> tuple[list[float], list[float]]:
    text = path.read_text(encoding="utf-8")
    file = str(path)
    tries = moves(text, file)
    api.optimize_spec(text, file)  # the page's first load: warm imports and parse cache
    times, sweeps = [], []
    for i in range(repeats):
        settings = tries[i % len(tries)]
        api.forget()
        start = time.perf_counter()
        result = api.optimize_spec(text, file, settings)
        times.append(time.perf_counter() - start)
        if not result["ok"]:
            print(f"  {path.stem}: {result['diagnostics'][0]['message']}", file=sys.stderr)
        if sweep and i < 3:
            api.forget()
            start = time.perf_counter()
            api.sweep_spec(text, file, settings)
            sweeps.append(time.perf_counter() - start)
    return times, sweeps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("samples", nargs="*", help="sample names (default: all)")
    parser.add_argument("-n", type=int, default=20, help="re-optimizations per sample")
    parser.add_argument("--no-sweep", action="store_true", help="skip the growth sweep")
    args = parser.parse_args()
    names = args.samples or sorted(p.stem for p in SAMPLES.glob("*.aalp"))
    print(f"{'sample':<12} {'median ms':>10} {'p95 ms':>10} {'sweep median ms':>16}")
    for name in names:
        times, sweeps = bench(SAMPLES / f"{name}.aalp", args.n, not args.no_sweep)
        sweep = f"{statistics.median(sweeps) * 1e3:16.0f}" if sweeps else f"{'-':>16}"
        print(
            f"{name:<12} {statistics.median(times) * 1e3:10.1f}"
            f" {percentile(times, 0.95) * 1e3:10.1f} {sweep}",
            flush=True,
        )


if __name__ == "__main__":
    main()

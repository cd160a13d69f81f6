"""What a calibration measured, for people and as JSON (``aalp calibrate``'s output and the
``estimates`` of the file)."""

from __future__ import annotations

from typing import Any

from aalp.calibration.apply import estimates_of
from aalp.calibration.estimates import interval
from aalp.calibration.schema import Calibration


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else float(f"{value:.{digits}g}")


def latency(points: list[Any]) -> dict[str, Any]:
    """Seconds per call split into prefill and decode: from the endpoint's own timings when it
    reported them, else by least squares of each granularity's mean seconds on its mean
    tokens read and written (``seconds = overhead + reads/prefill + writes/decode``), which
    needs three granularities whose token counts are not on one line; else the total only."""
    used = [p for p in points if p.samples]
    calls = sum(p.samples for p in used)
    if not calls:
        return {"method": "none"}
    mean = sum(p.seconds for p in used) / calls
    if all(p.prefill_seconds and p.decode_seconds for p in used):
        prefill = sum(p.prefill_seconds for p in used)
        decode = sum(p.decode_seconds for p in used)
        return {
            "method": "timings",
            "seconds": _round(mean),
            "prefill_tokens_per_second": _round(sum(p.prompt_tokens for p in used) / prefill),
            "decode_tokens_per_second": _round(sum(p.completion_tokens for p in used) / decode),
        }
    rows = [
        (1.0, p.prompt_tokens / p.samples, p.completion_tokens / p.samples, p.seconds / p.samples)
        for p in used
    ]
    solved = _least_squares(rows)
    if solved is None or solved[1] <= 0 or solved[2] <= 0:
        return {"method": "total only", "seconds": _round(mean)}
    return {
        "method": "regression",
        "seconds": _round(mean),
        "overhead_seconds": _round(solved[0]),
        "prefill_tokens_per_second": _round(1.0 / solved[1]),
        "decode_tokens_per_second": _round(1.0 / solved[2]),
    }


def _least_squares(rows: list[tuple[float, float, float, float]]) -> list[float] | None:
    """The least-squares solution of ``a + b·r + c·w = s`` over ``rows`` (normal equations,
    Gaussian elimination); None when the rows do not determine it."""
    if len(rows) < 3:
        return None
    m = [[sum(r[i] * r[j] for r in rows) for j in range(3)] for i in range(3)]
    v = [sum(r[i] * r[3] for r in rows) for i in range(3)]
    scale = max(abs(m[i][i]) for i in range(3)) or 1.0
    for col in range(3):
        pivot = max(range(col, 3), key=lambda r: abs(m[r][col]))
        if abs(m[pivot][col]) < 1e-12 * scale:
            return None
        m[col], m[pivot], v[col], v[pivot] = m[pivot], m[col], v[pivot], v[col]
        for row in range(3):
            if row != col:
                f = m[row][col] / m[col][col]
                m[row] = [a - f * b for a, b in zip(m[row], m[col], strict=True)]
                v[row] -= f * v[col]
    return [v[i] / m[i][i] for i in range(3)]


def estimates(calibration: Calibration, task: Any, env: dict[str, float], level: float) -> dict:
    """Per op and model: each point's success with its two-sided ``level`` interval, and the
    curves, keep, rival share and correlation the file's numbers give."""
    found = estimates_of(calibration, task, env, level)
    out: dict[str, Any] = {}
    for op, per_model in found.items():
        out[op] = {}
        for model, est in per_model.items():
            mc = calibration.ops[op].models[model]
            points = []
            for p in mc.points:
                low, high = interval(p.right, p.kept, level) if p.kept else (0.0, 1.0)
                points.append(
                    {
                        "x": p.x,
                        "units": p.units,
                        "samples": p.samples,
                        "success": _round(p.right / p.kept) if p.kept else None,
                        "interval": [_round(low), _round(high)],
                        "keep": _round(p.kept / p.samples) if p.samples else None,
                        "reads": _round(p.prompt_tokens / p.samples) if p.samples else None,
                        "writes": _round(p.completion_tokens / p.samples) if p.samples else None,
                        "seconds": _round(p.seconds / p.samples) if p.samples else None,
                        "prefill_seconds": _round(p.prefill_seconds / p.samples)
                        if p.prefill_seconds is not None and p.samples
                        else None,
                        "decode_seconds": _round(p.decode_seconds / p.samples)
                        if p.decode_seconds is not None and p.samples
                        else None,
                    }
                )
            out[op][model] = {
                "points": points,
                "success": est.success,
                "keep": _round(est.keep),
                "rival_share": _round(est.rival_share),
                "rival_share_high": _round(est.rival_share_high),
                "coincidence": {
                    "pairs": est.coincidence.pairs,
                    "agree": est.coincidence.agree,
                    "independent_at_most": _round(est.coincidence.wrong**2),
                    "p_value": _round(est.coincidence.p_value()),
                },
                "correlated": est.correlated,
                "stuck": _round(est.stuck),
                "stopped": mc.stopped,
                "latency": latency(mc.points),
                "shape": "measured" if len(est.xs) >= 2 else "one granularity: the spec's shape",
            }
    return out


def render(summary: dict[str, Any], level: float) -> str:
    """The estimates as lines of text."""
    lines = []
    for op, per_model in summary.items():
        for model, got in per_model.items():
            lines.append(f"op {op} on {model} (stopped: {got['stopped']}):")
            for p in got["points"]:
                low, high = p["interval"]
                success = "-" if p["success"] is None else f"{p['success']:.6g}"
                lines.append(
                    f"  x = {p['x']}: {p['units']} units, {p['samples']} samples, success "
                    f"{success} ({level:.0%} interval [{low:.6g}, {high:.6g}]), keep "
                    f"{p['keep']}, reads {p['reads']}, writes {p['writes']} tokens"
                )
            c = got["coincidence"]
            lines.append(
                f"  rival: {got['rival_share']:.3g} of the wrong answers (at most "
                f"{got['rival_share_high']:.3g}, {level:.0%} one-sided, which planning uses); two "
                f"samples of one unit agreed on a wrong answer {c['agree']} times in "
                f"{c['pairs']} pairs"
            )
            if got["correlated"]:
                lines.append(
                    f"  correlated errors: independence allows at most "
                    f"{c['independent_at_most']:.3g} of pairs (p = {c['p_value']:.2g}); about "
                    f"{got['stuck']:.2%} of units are wrong the same way every time"
                )
            lines.append(f"  shape in x: {got['shape']}")
            lat = got["latency"]
            if lat.get("prefill_tokens_per_second"):
                lines.append(
                    f"  latency: {lat['seconds']:.3g} s a call; prefill "
                    f"{lat['prefill_tokens_per_second']:.4g} and decode "
                    f"{lat['decode_tokens_per_second']:.4g} tokens/s ({lat['method']})"
                )
            elif lat.get("seconds") is not None:
                lines.append(
                    f"  latency: {lat['seconds']:.3g} s a call (no split: {lat['method']})"
                )
    return "\n".join(lines) + "\n"

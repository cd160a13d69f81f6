"""What a calibration measured, for people and as JSON (``aalp calibrate``'s output and the
``estimates`` of the file)."""

from __future__ import annotations

from typing import Any

from aalp.calibration.apply import estimates_of
from aalp.calibration.estimates import interval
from aalp.calibration.schema import Calibration


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else float(f"{value:.{digits}g}")


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
                "coincidence": {
                    "pairs": est.coincidence.pairs,
                    "agree": est.coincidence.agree,
                    "independent_at_most": _round(est.coincidence.wrong**2),
                    "p_value": _round(est.coincidence.p_value()),
                },
                "correlated": est.correlated,
                "stuck": _round(est.stuck),
                "stopped": mc.stopped,
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
                f"  rival: {got['rival_share']:.3g} of the wrong answers; two samples of one "
                f"unit agreed on a wrong answer {c['agree']} times in {c['pairs']} pairs"
            )
            if got["correlated"]:
                lines.append(
                    f"  correlated errors: independence allows at most "
                    f"{c['independent_at_most']:.3g} of pairs (p = {c['p_value']:.2g}); about "
                    f"{got['stuck']:.2%} of units are wrong the same way every time"
                )
            lines.append(f"  shape in x: {got['shape']}")
    return "\n".join(lines) + "\n"

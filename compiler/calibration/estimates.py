"""Estimates with intervals from a calibration's counts (docs/calibration.md §2 and §3).

Everything here is a function of the counts and a confidence level: the same file read at
``--confidence 0.95`` or ``0.99`` gives the bounds of that level.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from . import fit, stats
from .schema import ModelCalibration, Point

#: a correlation is reported when independence makes the observed agreement this unlikely
CORRELATION_P = 0.01


def z_of(confidence: float) -> float:
    """The standard normal quantile of ``confidence`` (bisection on ``erfc``)."""
    low, high = -40.0, 40.0
    for _ in range(200):
        mid = (low + high) / 2.0
        if 0.5 * math.erfc(-mid / math.sqrt(2.0)) < confidence:
            low = mid
        else:
            high = mid
    return (low + high) / 2.0


def interval(k: int, n: int, level: float) -> tuple[float, float]:
    """The two-sided Clopper–Pearson interval of level ``level`` (each side ``(1 − level)/2``)."""
    side = (1.0 + level) / 2.0
    return stats.lower_bound(k, n, side), stats.upper_bound(k, n, side)


@dataclass(frozen=True)
class Estimate:
    """One op on one model: point estimates and one-sided bounds at ``confidence``.

    ``success``/``success_low``/``success_high``: curves in x (``fit``); ``keep`` with its
    bounds; ``rival_share``: the share of wrong answers that are the rival (b / (1 − a)) and
    its upper bound; ``stuck``: the share of units every sample of which is the same wrong
    answer (0 unless ``correlated``); ``reads``/``writes``: lines in x, with upper bounds."""

    confidence: float
    xs: tuple[int, ...]
    success: fit.Curve
    success_low: fit.Curve
    success_high: fit.Curve
    keep: float
    keep_low: float
    keep_high: float
    rival_share: float
    rival_share_high: float
    coincidence: stats.Coincidence
    correlated: bool
    stuck: float
    reads: fit.Curve
    reads_high: fit.Curve
    writes: fit.Curve
    writes_high: fit.Curve
    samples: int
    failures: int
    point_low: dict[int, float]


def _success_curves(
    points: Sequence[Point], confidence: float, spec_at: dict[int, float] | None
) -> tuple[fit.Curve, fit.Curve, fit.Curve]:
    """Point estimate, lower and upper curves of success (of kept samples) in x."""
    used = [p for p in points if p.kept]
    if not used:
        return fit.constant(0.0), fit.constant(0.0), fit.constant(1.0)
    lows = [(p.x, stats.lower_bound(p.right, p.kept, confidence)) for p in used]
    highs = [(p.x, stats.upper_bound(p.right, p.kept, confidence)) for p in used]
    if len(used) == 1:
        p = used[0]
        values = (p.right / p.kept, lows[0][1], highs[0][1])
        base = None if spec_at is None else spec_at.get(p.x)
        if base is not None and 0.0 < base < 1.0:
            return tuple(  # type: ignore[return-value]
                {"form": "scaled", "power": math.log(v) / math.log(base)}
                if v > 0.0
                else fit.constant(0.0)
                for v in values
            )
        return tuple(fit.constant(v) for v in values)  # type: ignore[return-value]
    estimate = fit.weibull_mle([(p.x, p.right, p.kept) for p in used])
    return estimate, fit.through(lows), fit.through(highs)


def _token_lines(
    points: Sequence[Point], which: str, z: float, spec_at: dict[int, float] | None = None
) -> tuple[fit.Curve, fit.Curve]:
    """The mean tokens per call in x and its upper bound (mean + z·standard error, per x):
    a line through two granularities or more; through one, the spec's formula scaled to the
    measurement (``spec_at``: the spec's tokens at each x), so its shape in x is kept."""
    means, highs = [], []
    for p in points:
        if not p.samples:
            continue
        total = getattr(p, which)
        square = getattr(p, which + "_sq")
        mean = total / p.samples
        var = max(0.0, square / p.samples - mean * mean) * p.samples / max(1, p.samples - 1)
        means.append((p.x, mean, float(p.samples)))
        highs.append((p.x, mean + z * math.sqrt(var / p.samples), float(p.samples)))
    if not means:
        return fit.constant(0.0), fit.constant(0.0)
    if len(means) == 1 and spec_at and spec_at.get(means[0][0], 0.0) > 0.0:
        base = spec_at[means[0][0]]
        return (
            {"form": "ratio", "factor": means[0][1] / base},
            {"form": "ratio", "factor": highs[0][1] / base},
        )
    low_line, high_line = fit.line(means), fit.line(highs)
    return low_line, high_line


def estimate(
    mc: ModelCalibration,
    confidence: float,
    spec_at: dict[int, float] | None = None,
    spec_tokens: dict[str, dict[int, float]] | None = None,
) -> Estimate:
    """The estimates of one op on one model. ``spec_at``: the spec's success at each measured
    x (single component), and ``spec_tokens`` its reads and writes, which give a single
    granularity's curves their shape."""
    points = mc.points
    samples = sum(p.samples for p in points)
    kept = sum(p.kept for p in points)
    right = sum(p.right for p in points)
    pairs = sum(p.pairs for p in points)
    agree = sum(p.agree for p in points)
    wrong = (kept - right) / kept if kept else 0.0
    coincidence = stats.Coincidence(pairs, agree, wrong)
    correlated = agree > 0 and coincidence.p_value() < CORRELATION_P
    share, share_high = 1.0, 1.0
    if kept > right and pairs:
        rival = stats.rival_rate(coincidence)
        share = rival / wrong
        # the upper bound of b² is that of the agreeing pairs' rate
        b2_high = stats.upper_bound(agree, pairs, confidence)
        share_high = min(1.0, math.sqrt(b2_high) / wrong)
    estimate_, low, high = _success_curves(points, confidence, spec_at)
    z = z_of(confidence)
    tokens = spec_tokens or {}
    reads, reads_high = _token_lines(points, "prompt_tokens", z, tokens.get("reads"))
    writes, writes_high = _token_lines(points, "completion_tokens", z, tokens.get("writes"))
    keep = kept / samples if samples else 1.0
    return Estimate(
        confidence=confidence,
        xs=tuple(p.x for p in points),
        success=estimate_,
        success_low=low,
        success_high=high,
        keep=keep,
        keep_low=stats.lower_bound(kept, samples, confidence) if samples else 1.0,
        keep_high=stats.upper_bound(kept, samples, confidence) if samples else 1.0,
        rival_share=share,
        rival_share_high=share_high,
        coincidence=coincidence,
        correlated=correlated,
        stuck=coincidence.stuck() if correlated else 0.0,
        reads=reads,
        reads_high=reads_high,
        writes=writes,
        writes_high=writes_high,
        samples=samples,
        failures=kept - right,
        point_low={p.x: stats.lower_bound(p.right, p.kept, confidence) for p in points if p.kept},
    )

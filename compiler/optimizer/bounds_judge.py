"""Bounds of best-of-n picked by a judge (``aalp.model.judge``) over ranges of a, c and n,
and of a beam search (``aalp.model.beam``) over ranges of a, c and its width.

success = c·X + (1 − c)·Y with X = 1 − (1 − a)^n and Y = a^n, and X ≥ Y (a^n + (1 − a)^n ≤ 1
for n ≥ 1): it rises with c, with a (both X and Y do), and in n X rises while Y falls. So
success is at most its value at (a.hi, X at n.hi, Y at n.lo) for the larger of the two ends of
c (linear in c), and the failure, (1 − c)·(1 − a^n) + c·(1 − a)^n, is at least its value at
(a.hi, 1 − a^n at n.lo, (1 − a)^n at n.hi) at the smaller end. Only these optimistic ends are
tight (the others are trivial), as for majority in ``aalp.optimizer.bounds``.
"""

from __future__ import annotations

import math

from aalp.model import beam
from aalp.model import reliability as rel
from aalp.optimizer.bounds import INF, BoostBounds
from aalp.optimizer.interval import Interval


def _pow(p: float, n: float) -> float:
    """p^n for 0 ≤ p ≤ 1 and n ≥ 1 (n may be inf)."""
    if p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    return 0.0 if math.isinf(n) else math.exp(n * math.log(p))


def _one_minus_pow(p: float, n: float) -> float:
    """1 − p^n, precise when p^n is close to 1."""
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0
    return 1.0 if math.isinf(n) else -math.expm1(n * math.log(p))


def judge(a: Interval, c: Interval, v: Interval, n: tuple[float, float]) -> BoostBounds:
    """Best of n, ``n = (lo, hi)`` with lo ≥ 1 (hi may be inf), judge accuracy c."""
    nlo, nhi = n
    ah = min(1.0, max(0.0, a.hi))
    x_hi = _one_minus_pow(1.0 - ah, nhi)
    y_hi = _pow(ah, nlo)
    s_hi = max(cc * x_hi + (1.0 - cc) * y_hi for cc in (c.lo, c.hi))
    not_all = _one_minus_pow(ah, nlo)  # 1 − a^n, smallest at n.lo
    none = _pow(1.0 - ah, nhi)  # (1 − a)^n, smallest at n.hi
    f_lo = min((1.0 - cc) * not_all + cc * none for cc in (c.lo, c.hi))
    samples = Interval(nlo / v.hi, nhi / v.lo if v.lo > 0 else INF)
    rounds = Interval(rel.majority_rounds(int(nlo), v.hi), INF)
    return BoostBounds(
        Interval(0.0, min(1.0, s_hi)),
        Interval(max(0.0, f_lo), 1.0),
        samples,
        rounds,
        Interval(1.0, 1.0),
    )


# A range of widths wider than this is bounded trivially (success ≤ 1): the optimizer splits
# it into smaller blocks, each bounded by the exact chain at its widths.
BEAM_SPAN = 4


def expand(
    a: Interval, c: Interval, v: Interval, width: tuple[float, float], keep: int, depth: int
) -> BoostBounds:
    """A beam search over a range of widths. Its success rises with a and with c (a better
    step and a better scorer both keep more good nodes; tests/test_beam.py checks it on
    random points), so for each width it is at most the exact chain at (a.hi, c.hi); calls
    and rounds rise with the width and fall with v."""
    lo, hi = int(width[0]), int(width[1])
    ah, ch = min(1.0, max(0.0, a.hi)), min(1.0, max(0.0, c.hi))
    if hi - lo > BEAM_SPAN:
        s_hi = 1.0
    else:
        s_hi = max(beam.success(ah, ch, b, keep, depth) for b in range(lo, hi + 1))
    n_lo, n_hi = beam.calls(lo, keep, depth), beam.calls(hi, keep, depth)
    samples = Interval(n_lo / v.hi, n_hi / v.lo if v.lo > 0 else INF)
    rounds = Interval(beam.rounds(lo, keep, depth, v.hi), INF)
    return BoostBounds(
        Interval(0.0, min(1.0, s_hi)),
        Interval(max(0.0, 1.0 - s_hi), 1.0),
        samples,
        rounds,
        Interval(float(n_lo), float(n_hi)),
    )

"""Bounds of best-of-n picked by a judge (``aalp.model.judge``) over ranges of a, c and n.

success = c·X + (1 − c)·Y with X = 1 − (1 − a)^n and Y = a^n, and X ≥ Y (a^n + (1 − a)^n ≤ 1
for n ≥ 1): it rises with c, with a (both X and Y do), and in n X rises while Y falls. So
success is at most its value at (a.hi, X at n.hi, Y at n.lo) for the larger of the two ends of
c (linear in c), and the failure, (1 − c)·(1 − a^n) + c·(1 − a)^n, is at least its value at
(a.hi, 1 − a^n at n.lo, (1 − a)^n at n.hi) at the smaller end. Only these optimistic ends are
tight (the others are trivial), as for majority in ``aalp.optimizer.bounds``.
"""

from __future__ import annotations

import math

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

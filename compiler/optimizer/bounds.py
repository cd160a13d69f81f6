"""Bounds of one decision over ranges: the model of ``model.reliability`` and ``model.cost`` on
intervals, for the optimizer's proofs.

``boost_bounds`` encloses a booster's success, samples, rounds and tries when the per-sample
probabilities (a right answer ``a``, the rival ``b``, the red flags' keep rate ``v``, a
verifier's accuracy ``c``) lie in intervals and the count in a range. Each formula is
monotone in each argument (proved in the docstrings; tested against point evaluations), so its
extremes are at the ends of the ranges, and the enclosures shrink to the exact values as the
ranges shrink. The one exception is the rounds of ahead-by-k voting, bounded by
``samples/k <= rounds <= samples`` (a round draws between 1 and k samples).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from aalp.model import reliability as rel
from aalp.optimizer.interval import Interval

_NO_SPREAD = Interval(0.0, 0.0)

INF = math.inf


@dataclass(frozen=True)
class BoostBounds:
    """Enclosures of one boosted decision; ``log_success_hi`` bounds ln(success) from above
    precisely near 1 (from the failure's lower bound)."""

    success: Interval
    failure: Interval
    samples: Interval
    rounds: Interval
    tries: Interval

    @property
    def log_success_hi(self) -> float:
        if self.success.hi <= 0.0:
            return -INF
        if self.failure.lo > 0.5:
            return math.log(self.success.hi)
        return math.log1p(-self.failure.lo) if self.failure.lo < 1.0 else -INF


def _prob(v: Interval) -> Interval:
    return v.clamp(0.0, 1.0)


def _iv(lo: float, hi: float) -> Interval:
    return Interval(min(lo, hi), max(lo, hi))


def single(a: Interval, v: Interval) -> BoostBounds:
    """No booster: success a, 1/v samples and rounds."""
    n = Interval(1.0 / v.hi, 1.0 / v.lo if v.lo > 0 else INF)
    return BoostBounds(a, Interval(1.0 - a.hi, 1.0 - a.lo), n, n, Interval(1.0, 1.0))


def _ahead_votes(r: float, k: int) -> float:
    """Relevant votes of ahead-by-k as a function of r = b/a only:
    ``k·(1 − r^k)/(1 + r^k)·(1 + r)/(1 − r)``, non-decreasing in r (k² at r = 1) and in k."""
    if r >= 1.0:
        return float(k * k)
    if r <= 0.0:
        return float(k)
    rk = math.exp(k * math.log(r))
    if rk > 1 - 1e-9:  # near r = 1 the closed form cancels: the limit k² is the bound
        return float(k * k)
    return k * (1.0 - rk) / (1.0 + rk) * (1.0 + r) / (1.0 - r)


def _ahead_failure(r: float, k: int) -> float:
    """``r^k/(1 + r^k)``: non-decreasing in r, non-increasing in k."""
    if r >= 1.0:
        return 0.5
    if r <= 0.0:
        return 0.0
    rk = math.exp(k * math.log(r))
    return rk / (1.0 + rk)


def ahead_by(
    a: Interval, b: Interval, v: Interval, k: tuple[int, int | None]
) -> BoostBounds | None:
    """Ahead-by-k over ``k = (lo, hi)`` (hi None: unbounded); None when a <= b everywhere.

    With r = b/a in ``[b.lo/a.hi, min(1, b.hi/a.lo)]`` (points with r >= 1 cannot vote),
    failure ``r^k/(1 + r^k)`` and relevant votes V(r, k) are monotone in r and k; samples are
    ``V/((a + b)·v)``."""
    if not a.hi > b.lo:
        return None
    klo, khi = k
    r_lo = b.lo / a.hi
    r_hi = 1.0 if a.lo <= 0.0 else min(1.0, b.hi / a.lo)
    fail_lo = 0.0 if khi is None else _ahead_failure(r_lo, khi)
    fail_hi = _ahead_failure(r_hi, klo)
    votes_lo = _ahead_votes(r_lo, klo)
    votes_hi = INF if khi is None else _ahead_votes(r_hi, khi)
    moving_hi = min(1.0, a.hi + b.hi) * v.hi
    moving_lo = (a.lo + b.lo) * v.lo
    s_lo = votes_lo / moving_hi if moving_hi > 0 else INF
    s_hi = votes_hi / moving_lo if moving_lo > 0 else INF
    rounds_lo = max(1.0, s_lo / khi) if khi is not None else 1.0
    return BoostBounds(
        Interval(1.0 - fail_hi, 1.0 - fail_lo),
        Interval(fail_lo, fail_hi),
        Interval(s_lo, s_hi),
        Interval(rounds_lo, s_hi),
        Interval(1.0, 1.0),
    )


# Above this K, majority tails are bounded in O(1) instead of summed in O(K).
EXACT_MAJORITY = 2001


def _majority_at(a: float, K: int) -> tuple[float, float]:
    """``(success upper bound, failure lower bound)`` of majority of K at a: exact up to
    ``EXACT_MAJORITY``; above it the failure is at least its largest term (K − 1)/2 right
    answers when a > 1/2, and at least 1/2 when a <= 1/2."""
    if K <= EXACT_MAJORITY or a <= 0.0 or a >= 1.0:
        up, low = rel.binom_tail(K, a, (K + 1) // 2)
        return up, low
    if a <= 0.5:
        return 0.5, 0.5
    m = (K - 1) // 2  # right answers in the most likely failing outcome
    lg = math.lgamma
    log_term = lg(K + 1) - lg(m + 1) - lg(K - m + 1) + m * math.log(a) + (K - m) * math.log1p(-a)
    low = math.exp(log_term)
    return 1.0 - low, low


def majority(a: Interval, v: Interval, k: tuple[int, int]) -> BoostBounds:
    """Majority of K over odd ``K = (lo, hi)``: success rises with a; in K it rises when
    a > 1/2 and falls when a < 1/2, so its extremes are at the ends of both ranges. Only the
    optimistic ends (success from above, metrics from below) are tight; the others are the
    trivial ones."""
    klo, khi = k
    k_for_hi = khi if a.hi > 0.5 else klo
    s_hi, f_lo = _majority_at(a.hi, k_for_hi)
    n = Interval(klo / v.hi, khi / v.lo if v.lo > 0 else INF)
    rounds = Interval(rel.majority_rounds(klo, v.hi), INF)
    return BoostBounds(Interval(0.0, s_hi), Interval(f_lo, 1.0), n, rounds, Interval(1, 1))


def _tries_exact(a: float, r: float) -> float:
    """``Σ_{i<r} (1 − a)^i``: expected tries of retry-until-exact, non-increasing in a,
    non-decreasing in r (``1/a`` at r = inf)."""
    if a <= 0.0:
        return r
    if math.isinf(r):
        return 1.0 / a
    if a >= 1.0:
        return 1.0
    return -math.expm1(r * math.log1p(-a)) / a


def _fail_exact(a: float, r: float) -> float:
    if math.isinf(r):
        return 0.0 if a > 0 else 1.0
    if a >= 1.0:
        return 0.0
    return math.exp(r * math.log1p(-a))


def retry_exact(a: Interval, v: Interval, r: tuple[float, float]) -> BoostBounds | None:
    """Retry until an exact check passes, r in ``(lo, hi)`` (``inf`` for unbounded): success
    ``1 − (1 − a)^r`` rises with a and r; tries fall with a and rise with r."""
    rlo, rhi = r
    if math.isinf(rlo) and a.hi <= 0.0:
        return None
    f_lo, f_hi = _fail_exact(a.hi, rhi), _fail_exact(a.lo, rlo)
    t = Interval(_tries_exact(a.hi, rlo), _tries_exact(a.lo, rhi))
    n = Interval(t.lo / v.hi, t.hi / v.lo if v.lo > 0 else INF)
    return BoostBounds(Interval(1.0 - f_hi, 1.0 - f_lo), Interval(f_lo, f_hi), n, n, t)


def _accept(a: float, c: float) -> float:
    return a * c + (1.0 - a) * (1.0 - c)


def _tries_q(q: float, r: float) -> float:
    """``Σ_{i<r} q^i`` (``1/(1 − q)`` at r = inf): non-decreasing in q and r."""
    if q >= 1.0:
        return r
    if math.isinf(r):
        return 1.0 / (1.0 - q)
    if q <= 0.0:
        return 1.0
    return -math.expm1(r * math.log(q)) / (1.0 - q)


def _q_pow(q: float, r: float) -> float:
    if math.isinf(r):
        return 0.0 if q < 1.0 else 1.0
    if q <= 0.0:
        return 0.0
    return math.exp(r * math.log(q))


def retry_verifier(
    a: Interval, c: Interval, v: Interval, r: tuple[float, float]
) -> BoostBounds | None:
    """Retry until an LLM verifier of accuracy c accepts. The rejection rate
    ``q = 1 − a·c − (1 − a)(1 − c)`` is bilinear in (a, c), so its range is at the corners;
    tries ``Σ_{i<r} q^i`` rise with q and r; success ``a·c·tries`` and failure
    ``(1 − a)(1 − c)·tries + q^r`` are products of non-negative enclosures."""
    rlo, rhi = r
    corners = [_accept(x, y) for x in (a.lo, a.hi) for y in (c.lo, c.hi)]
    acc = Interval(min(corners), max(corners))
    if math.isinf(rlo) and acc.hi <= 0.0:
        return None
    q = Interval(max(0.0, 1.0 - acc.hi), min(1.0, 1.0 - acc.lo))
    t = Interval(_tries_q(q.lo, rlo), _tries_q(q.hi, rhi))
    right = Interval(a.lo * c.lo, a.hi * c.hi)
    wrong = Interval((1.0 - a.hi) * (1.0 - c.hi), (1.0 - a.lo) * (1.0 - c.lo))
    success = Interval(right.lo * t.lo, min(1.0, right.hi * t.hi))
    failure = Interval(
        wrong.lo * t.lo + _q_pow(q.lo, rhi), min(1.0, wrong.hi * t.hi + _q_pow(q.hi, rlo))
    )
    n = Interval(t.lo / v.hi, t.hi / v.lo if v.lo > 0 else INF)
    return BoostBounds(success, failure, n, n, t)


def mixture(weights: list[Interval], parts: list[BoostBounds]) -> BoostBounds:
    """The weighted combination (weights are non-negative; each component's enclosure holds)."""

    def comb(get) -> Interval:
        lo = math.fsum(w.lo * get(p).lo for w, p in zip(weights, parts, strict=True))
        hi = math.fsum(w.hi * get(p).hi for w, p in zip(weights, parts, strict=True))
        return Interval(lo, hi)

    success = comb(lambda p: p.success)
    failure = comb(lambda p: p.failure)
    return BoostBounds(
        success.clamp(0.0, 1.0),
        failure.clamp(0.0, 1.0),
        comb(lambda p: p.samples),
        comb(lambda p: p.rounds),
        comb(lambda p: p.tries),
    )


def _triangle(n: Interval) -> Interval:
    """``N·(N − 1)/2`` for non-negative N: smallest at N = 1/2, largest at an end."""
    mid = min(max(0.5, n.lo), n.hi)
    hi = max(n.lo * (n.lo - 1.0) / 2.0, n.hi * (n.hi - 1.0) / 2.0)
    return Interval(mid * (mid - 1.0) / 2.0, hi)


def call_cost(
    m: float,
    reads: Interval,
    writes: Interval,
    quadratic: bool = False,
    spread: Interval = _NO_SPREAD,
) -> Interval:
    """``m·(R·W + W·(W − 1)/2)`` for non-negative R and W; under quadratic attention plus the
    prefill ``m·(R·(R − 1) + spread)/2`` (``spread``: the variance of R over the calls R is
    the mean of, non-negative)."""
    r, w = reads.clamp(0.0, INF), writes.clamp(0.0, INF)
    tri = _triangle(w)
    rw = r * w
    lo, hi = rw.lo + tri.lo, rw.hi + tri.hi
    if quadratic:
        pre = _triangle(r)
        s = spread.clamp(0.0, INF)
        lo, hi = lo + pre.lo + s.lo / 2.0, hi + pre.hi + s.hi / 2.0
    return Interval(m * lo, m * hi) if m >= 0 else Interval(-INF, INF)

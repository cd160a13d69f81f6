"""Reliability of one decision: pure float formulas (docs/model.md §2).

Every function is a closed form or a small exact computation, written so that rounding cannot
flip an answer: probabilities near 1 are handled through their complements (``expm1``,
``log1p``), binomial tails are summed in log space from the small side, and chains of many
decisions are combined as sums of logs. Infeasible options (voting where the right answer is
not the most likely one, unbounded retries that can never succeed) return ``None`` instead of
raising: the optimizer simply drops them.

Notation: ``a`` is the probability that one valid sample is right, ``b`` the probability of the
most common wrong answer (the rival), ``v`` the fraction of samples that pass the red flags.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from aalp.model.vote_rounds import ahead_by_rounds

INF_RETRIES = "inf"


@dataclass(frozen=True)
class Boosted:
    """One boosted decision: its success and failure (both kept, each precise where small),
    expected samples of the op, expected sequential rounds, and expected tries (retry only)."""

    success: float
    failure: float
    samples: float
    rounds: float
    tries: float = 1.0

    @property
    def log_success(self) -> float:
        """ln(success), precise both when success is tiny and when it is close to 1."""
        if self.success <= 0.0:
            return -math.inf
        return math.log(self.success) if self.success < 0.5 else math.log1p(-self.failure)


# ---------------------------------------------------------------------------------------------
# sample counts: written once, over floats here and over sympy in ``aalp.model.symbolic``
# ---------------------------------------------------------------------------------------------


def votes_ahead_by(k: Any, lead: Any, a: Any, b: Any) -> Any:
    """Expected relevant votes until one answer leads by k: ``k·lead·(a + b)/(a − b)`` with
    ``lead = 2·p_sub − 1`` (gambler's ruin from the middle of a walk of width 2k)."""
    return k * lead * (a + b) / (a - b)


def samples_ahead_by(votes: Any, a: Any, b: Any, v: Any) -> Any:
    """Samples drawn for ``votes`` relevant votes: ``votes/((a + b)·v)`` (irrelevant and
    red-flagged samples are drawn but move nothing)."""
    return votes / ((a + b) * v)


def samples_majority(K: Any, v: Any) -> Any:
    """Samples of majority-of-K: ``K/v``."""
    return K / v


def retry_tries(done: Any, accept: Any) -> Any:
    """Expected tries of a retry whose try is accepted with probability ``accept``, given
    ``done`` = P(some try is accepted) = ``1 − (1 − accept)^r`` (1 when unbounded)."""
    return done / accept


def samples_of_tries(tries: Any, v: Any) -> Any:
    """Samples of a decision of ``tries`` tries (1 without a booster): ``tries/v``."""
    return tries / v


# ---------------------------------------------------------------------------------------------
# first-to-ahead-by-k voting (MAKER)
# ---------------------------------------------------------------------------------------------


def _ratio_pow(a: float, b: float, k: int) -> float:
    """(b/a)^k, computed in log space so that it underflows to 0 instead of raising."""
    if b <= 0.0:
        return 0.0
    return math.exp(k * (math.log(b) - math.log(a)))


def p_sub(a: float, b: float, k: int) -> float | None:
    """Probability that ahead-by-k voting picks the right answer: ``1 / (1 + (b/a)^k)``.

    ``None`` when ``a <= b`` (voting does not converge to the right answer).

    >>> round(p_sub(0.9, 0.1, 2), 6)
    0.987805
    """
    if not a > b:
        return None
    return 1.0 / (1.0 + _ratio_pow(a, b, k))


def ahead_by_failure(a: float, b: float, k: int) -> float | None:
    """``1 - p_sub = r^k / (1 + r^k)`` with ``r = b/a``, precise when tiny."""
    if not a > b:
        return None
    rk = _ratio_pow(a, b, k)
    return rk / (1.0 + rk)


def ahead_by_votes(a: float, b: float, k: int) -> float | None:
    """Expected relevant votes (right or rival) until one leads by k (gambler's ruin from the
    middle of a walk of width 2k): ``k·(2·p_sub − 1)·(a + b)/(a − b)``.

    With ``b = 1 − a`` this is MAKER's ``(2k·p_sub − k)/(2a − 1)``.

    >>> round(ahead_by_votes(0.75, 0.25, 1), 12)
    1.0
    """
    if not a > b:
        return None
    rk = _ratio_pow(a, b, k)
    two_p_minus_1 = (1.0 - rk) / (1.0 + rk)
    return votes_ahead_by(k, two_p_minus_1, a, b)


def ahead_by_samples(a: float, b: float, k: int, v: float = 1.0) -> float | None:
    """Expected samples drawn: ``votes / ((a + b)·v)`` (irrelevant and red-flagged samples are
    drawn but move nothing)."""
    votes = ahead_by_votes(a, b, k)
    if votes is None:
        return None
    return samples_ahead_by(votes, a, b, v)


def ahead_by(a: float, b: float, k: int, v: float = 1.0, rounds: bool = True) -> Boosted | None:
    """Success, failure, samples and rounds of ahead-by-k voting; ``None`` if ``a <= b``.

    ``rounds=False`` leaves the rounds out (NaN): they take a small linear solve, which the
    optimizer skips when latency is not what it decides on."""
    fail = ahead_by_failure(a, b, k)
    samples = ahead_by_samples(a, b, k, v)
    r = ahead_by_rounds(a, b, k, v) if rounds else math.nan
    if fail is None or samples is None or r is None:
        return None
    return Boosted(1.0 - fail, fail, samples, r)


def p_full(p: float, s: float, m: float, k: int) -> float:
    """MAKER's whole-task success ``(1 + ((1−p)/p)^k)^(−s/m)``, via ``exp(−(s/m)·log1p(r^k))``."""
    return math.exp(-(s / m) * math.log1p(_ratio_pow(p, 1.0 - p, k)))


def k_min(p: float, s: float, m: float = 1, t: float = 0.95) -> int | None:
    """MAKER's minimal k: ``ceil( ln(t^(−m/s) − 1) / ln((1−p)/p) )`` = Θ(ln s).

    ``t^(−m/s) − 1`` is computed as ``expm1(−(m/s)·ln t)``; the result is then confirmed
    against ``p_full ≥ t`` itself (in log space) so that a ratio within rounding of an integer
    cannot give the wrong k. ``None`` when ``p <= 1/2``.

    >>> k_min(0.998, 2**20 - 1, 1, 0.95)
    3
    """
    if not p > 0.5:
        return None
    if p >= 1.0 or t <= 0.0:
        return 1
    if t >= 1.0:
        return None
    log_r = math.log1p(-p) - math.log(p)
    ratio = math.log(math.expm1(-(m / s) * math.log(t))) / log_r
    k = max(1, math.ceil(ratio))
    decisions = s / m
    bound = -math.log(t)

    def ok(kk: int) -> bool:
        return decisions * math.log1p(math.exp(kk * log_r)) <= bound

    while k > 1 and ok(k - 1):
        k -= 1
    while not ok(k):
        k += 1
    return k


def cost_full(
    p: float, s: float, m: float, t: float, v: float = 1.0, c: float = 1.0
) -> float | None:
    """MAKER's approximate total cost ``c·s·k_min / (v·p^(m−1)·(2p − 1))``."""
    k = k_min(p, s, m, t)
    if k is None:
        return None
    return c * s * k / (v * p ** (m - 1) * (2 * p - 1))


# ---------------------------------------------------------------------------------------------
# majority of K
# ---------------------------------------------------------------------------------------------


def _side_sum(n: int, p: float, lo: int, hi: int) -> float:
    """``ln Σ_{i=lo}^{hi} P[Bin(n, p) = i]``, summing outward from the largest term of the
    range: consecutive terms have the ratio ``(n − i)/(i + 1)·p/(1 − p)``, and the sum stops
    once the terms left cannot change it in floating point (they fall geometrically away
    from the mode), so long ranges cost about their standard deviation, not their length."""
    mode = min(max(int((n + 1) * p), lo), hi)
    lg = math.lgamma
    lp, lq = math.log(p), math.log1p(-p)
    top = lg(n + 1) - lg(mode + 1) - lg(n - mode + 1) + mode * lp + (n - mode) * lq
    odds = p / (1.0 - p)
    total = 1.0  # in units of the top term
    t, i = 1.0, mode
    while i < hi:  # upward
        t *= (n - i) / (i + 1) * odds
        i += 1
        total += t
        if t < total * 1e-18:
            break
    t, i = 1.0, mode
    while i > lo:  # downward
        t *= i / (n - i + 1) / odds
        i -= 1
        total += t
        if t < total * 1e-18:
            break
    return top + math.log(total)


def binom_tail(n: int, p: float, at_least: int) -> tuple[float, float]:
    """``(P[Bin(n,p) ≥ at_least], P[Bin(n,p) < at_least])``, each summed on its own side in log
    space so that both are accurate even when one is close to 1.

    >>> [round(v, 6) for v in binom_tail(3, 0.8, 2)]
    [0.896, 0.104]
    """
    if at_least <= 0:
        return 1.0, 0.0
    if at_least > n:
        return 0.0, 1.0
    if p <= 0.0:
        return 0.0, 1.0
    if p >= 1.0:
        return 1.0, 0.0
    upper = math.exp(_side_sum(n, p, at_least, n))
    lower = math.exp(_side_sum(n, p, 0, at_least - 1))
    return upper, lower


def majority_success(a: float, K: int) -> float:
    """``P[Bin(K, a) ≥ (K+1)/2]`` for odd K (wrong answers assumed to agree).

    >>> round(majority_success(0.8, 3), 6)
    0.896
    """
    return binom_tail(K, a, (K + 1) // 2)[0]


def majority_failure(a: float, K: int) -> float:
    """``P[Bin(K, a) < (K+1)/2]``, precise when tiny."""
    return binom_tail(K, a, (K + 1) // 2)[1]


def majority_rounds(K: int, v: float = 1.0) -> float:
    """Expected rounds to collect K valid samples when each round redraws every discarded one:
    ``E[max of K Geometric(v)] = Σ_{j≥0} (1 − (1 − (1−v)^j)^K)``."""
    if v >= 1.0:
        return 1.0
    total, j = 0.0, 0
    while True:
        miss = (1.0 - v) ** j
        term = 1.0 if miss >= 1.0 else -math.expm1(K * math.log1p(-miss))
        total += term
        if term < 1e-17 or j > 100_000:
            return total
        j += 1


def majority(a: float, K: int, v: float = 1.0) -> Boosted:
    """Majority of K: success, failure, ``K/v`` samples and the rounds of ``majority_rounds``."""
    up, low = binom_tail(K, a, (K + 1) // 2)
    return Boosted(up, low, samples_majority(K, v), majority_rounds(K, v))


# ---------------------------------------------------------------------------------------------
# no booster, retry, mixtures
# ---------------------------------------------------------------------------------------------


def single(a: float, v: float = 1.0) -> Boosted:
    """No booster: success ``a``; a red-flagged sample is drawn again, so ``1/v`` samples and
    ``1/v`` rounds."""
    one = samples_of_tries(1.0, v)
    return Boosted(a, 1.0 - a, one, one)


def retry_exact(a: float, r: int | str, v: float = 1.0) -> Boosted | None:
    """Retry until an exact check passes, at most r tries (``"inf"``: unbounded).

    success ``1 − (1 − a)^r``; expected tries ``(1 − (1 − a)^r)/a`` (``1/a`` when unbounded);
    samples and rounds ``tries/v``. ``None`` when unbounded retries can never succeed (a = 0).
    """
    if r == INF_RETRIES:
        if a <= 0.0:
            return None
        tries = retry_tries(1.0, a)
        return Boosted(1.0, 0.0, samples_of_tries(tries, v), samples_of_tries(tries, v), tries)
    r = int(r)
    if a <= 0.0:
        return Boosted(0.0, 1.0, r / v, r / v, float(r))
    if a >= 1.0:
        return Boosted(1.0, 0.0, 1.0 / v, 1.0 / v, 1.0)
    fail = math.exp(r * math.log1p(-a))
    success = -math.expm1(r * math.log1p(-a))
    tries = retry_tries(success, a)
    n = samples_of_tries(tries, v)
    return Boosted(success, fail, n, n, tries)


def retry_verifier(a: float, c: float, r: int | str, v: float = 1.0) -> Boosted | None:
    """Retry until an LLM verifier of accuracy c accepts, at most r tries.

    Per try: accept a right answer w.p. ``a·c``, a wrong one w.p. ``(1−a)(1−c)``, reject
    otherwise (``q = 1 − a·c − (1−a)(1−c)``). success ``a·c·(1 − q^r)/(1 − q)``; tries
    ``(1 − q^r)/(1 − q)``; all rejected = failure. ``samples`` and ``rounds`` here count the
    generator's samples (``tries/v``); the caller adds one verifier call per try.
    """
    accept_right = a * c
    accept_wrong = (1.0 - a) * (1.0 - c)
    accept = accept_right + accept_wrong
    if r == INF_RETRIES:
        if accept <= 0.0:
            return None
        tries = retry_tries(1.0, accept)
        success = accept_right / accept
        n = samples_of_tries(tries, v)
        return Boosted(success, accept_wrong / accept, n, n, tries)
    r = int(r)
    if accept <= 0.0:
        return Boosted(0.0, 1.0, r / v, r / v, float(r))
    # 1 - q^r with q = 1 - accept, precise for small accept
    done = -math.expm1(r * math.log1p(-accept)) if accept < 1.0 else 1.0
    tries = retry_tries(done, accept)
    success = accept_right * tries
    failure = accept_wrong * tries + (1.0 - done)
    n = samples_of_tries(tries, v)
    return Boosted(success, failure, n, n, tries)


def mixture(weights: Sequence[float], parts: Sequence[Boosted]) -> Boosted:
    """The w-weighted combination of per-component results (an input is of kind i w.p. w_i)."""
    return Boosted(
        success=math.fsum(w * p.success for w, p in zip(weights, parts, strict=True)),
        failure=math.fsum(w * p.failure for w, p in zip(weights, parts, strict=True)),
        samples=math.fsum(w * p.samples for w, p in zip(weights, parts, strict=True)),
        rounds=math.fsum(w * p.rounds for w, p in zip(weights, parts, strict=True)),
        tries=math.fsum(w * p.tries for w, p in zip(weights, parts, strict=True)),
    )


def majority_mixture(weights: Sequence[float], ps: Sequence[float], K: int) -> float:
    """Chen et al.'s ``F(K) = Σ_i w_i·P[Bin(K, p_i) ≥ (K+1)/2]`` (can rise then fall in K)."""
    return math.fsum(w * majority_success(p, K) for w, p in zip(weights, ps, strict=True))


def chain_log_success(log_success: float, count: float) -> float:
    """ln of the success of ``count`` independent decisions each with ``ln success``."""
    if count == 0:
        return 0.0
    return count * log_success


ROUNDING = 1e-14  # relative slack for the rounding of a computed success (or failure)


def success_meets(log_success: float, bound: Any) -> bool:
    """``success >= bound`` decided precisely: near 1 the failure ``1 − success`` is compared
    with ``1 − bound`` (exact when the bound is a ``Fraction``), so a success of 1 − 1e-30
    (1.0 as a float) does not meet ``success >= 1`` and 1 − 2e-18 does not meet
    ``success >= 1 − 1e-18``; elsewhere the comparison is in logs. Both allow a relative
    ``ROUNDING`` for the float arithmetic that computed the success: a step of success 0.99
    meets ``success >= 0.99`` even when its log rounds a unit below.

    >>> from fractions import Fraction
    >>> success_meets(math.log1p(-1e-18), Fraction(1) - Fraction(1, 10**18))
    True
    >>> success_meets(math.log1p(-2e-18), Fraction(1) - Fraction(1, 10**18))
    False
    >>> success_meets(-math.inf, 0), success_meets(0.0, 1), success_meets(-1e-30, 1)
    (True, True, False)
    >>> success_meets(math.log(0.99), Fraction(99, 100)), success_meets(math.log(0.3), 0.3)
    (True, True)
    """
    if bound <= 0:
        return True
    if bound >= 1:
        return log_success >= 0.0
    if bound > 0.5:
        failure = -math.expm1(log_success)
        slack = float(1 - bound) if isinstance(bound, Fraction) else 1.0 - float(bound)
        return failure <= slack * (1.0 + ROUNDING)
    return log_success >= math.log(float(bound)) + math.log1p(-ROUNDING)

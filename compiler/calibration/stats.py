"""Exact binomial intervals and the estimators of a calibration (docs/calibration.md §2).

Clopper–Pearson bounds are quantiles of a Beta distribution; the regularized incomplete beta
function is evaluated by its continued fraction (Lentz's method) and inverted by bisection, so
no statistics library is needed. ``binomial_tail`` sums the exact probabilities and is the
independent check of the fast path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: the continued fraction's relative tolerance and its most terms
_EPS = 1e-15
_MAX_TERMS = 10_000


def _log_pmf(n: int, k: int, p: float) -> float:
    """ln P[Bin(n, p) = k] (0 < p < 1)."""
    return (
        math.lgamma(n + 1)
        - math.lgamma(k + 1)
        - math.lgamma(n - k + 1)
        + k * math.log(p)
        + (n - k) * math.log1p(-p)
    )


def binomial_tail(n: int, k: int, p: float) -> float:
    """P[Bin(n, p) >= k], summed term by term (exact up to rounding; O(n)).

    >>> round(binomial_tail(3, 2, 0.5), 12)
    0.5
    """
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    if p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    logs = [_log_pmf(n, j, p) for j in range(k, n + 1)]
    top = max(logs)
    return min(1.0, math.exp(top) * sum(math.exp(v - top) for v in logs))


def _beta_cf(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (Lentz's method)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, _MAX_TERMS):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b) (a, b > 0, 0 <= x <= 1).

    >>> round(betainc(1, 1, 0.3), 12)  # the uniform distribution
    0.3
    """
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_cf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_cf(b, a, 1.0 - x) / b


def tail(n: int, k: int, p: float) -> float:
    """P[Bin(n, p) >= k] through the incomplete beta function: ``I_p(k, n - k + 1)``."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    return betainc(k, n - k + 1, p)


def _solve(f, target: float) -> float:
    """The p in [0, 1] where the increasing function ``f`` reaches ``target`` (bisection to the
    float's resolution)."""
    low, high = 0.0, 1.0
    for _ in range(200):
        mid = (low + high) / 2.0
        if mid in (low, high):
            break
        if f(mid) < target:
            low = mid
        else:
            high = mid
    return (low + high) / 2.0


def lower_bound(k: int, n: int, confidence: float) -> float:
    """The one-sided Clopper–Pearson lower confidence bound of a rate seen ``k`` times in
    ``n`` trials: the p at which ``k`` or more successes have probability ``1 - confidence``
    (0 when k = 0; with k = n, ``(1 - confidence)^(1/n)``, the rule of three's exact form).

    >>> round(lower_bound(300, 300, 0.95), 5)
    0.99006
    """
    _check(k, n, confidence)
    if k == 0:
        return 0.0
    if k == n:
        return (1.0 - confidence) ** (1.0 / n)
    return _solve(lambda p: tail(n, k, p), 1.0 - confidence)


def upper_bound(k: int, n: int, confidence: float) -> float:
    """The one-sided Clopper–Pearson upper confidence bound (1 when k = n; with k = 0,
    ``1 - (1 - confidence)^(1/n)``)."""
    _check(k, n, confidence)
    return 1.0 - lower_bound(n - k, n, confidence)


def _check(k: int, n: int, confidence: float) -> None:
    if not 0 <= k <= n or n <= 0:
        raise ValueError(f"a rate of {k} in {n} trials")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"a confidence of {confidence}")


def samples_to_certify(
    target: float, failure_rate: float, confidence: float, have: int = 0
) -> int | None:
    """The fewest trials, ``have`` or more, whose Clopper–Pearson lower bound reaches
    ``target`` when failures keep coming at ``failure_rate`` (``round(n·rate)`` failures in
    n); None when no number can (the rate is at or above ``1 - target``). With no failures
    it is the smallest n with ``(1 - confidence)^(1/n) >= target``:
    ``ceil(ln(1 - confidence) / ln(target))``.

    >>> samples_to_certify(0.99, 0.0, 0.95)
    299
    """
    if not 0.0 < target < 1.0:
        raise ValueError(f"a target of {target}")
    if failure_rate >= 1.0 - target:
        return None

    def enough(n: int) -> bool:
        return lower_bound(n - round(n * failure_rate), n, confidence) >= target

    if failure_rate <= 0.0:
        n = max(1, math.ceil(math.log(1.0 - confidence) / math.log(target)))
        while not enough(n):  # rounding at the boundary
            n += 1
        while n > 1 and enough(n - 1):
            n -= 1
        return max(n, have)
    high = max(have, 1)
    low = high - 1
    while not enough(high):
        low, high = high, high * 2
        if high > 10**12:
            return None
    while low + 1 < high:  # enough(high), and low is not known to be
        mid = (low + high) // 2
        if enough(mid):
            high = mid
        else:
            low = mid
    return max(high, have)


@dataclass(frozen=True)
class Coincidence:
    """How often two samples of one unit agree on a wrong answer (docs/calibration.md §2.3).

    ``pairs``: pairs of kept samples of one unit; ``agree``: those equal and wrong; ``wrong``:
    the share of kept samples that are wrong. Independent samples make two wrong answers of a
    unit agree at most as often as ``wrong^2`` (every wrong answer the one rival)."""

    pairs: int
    agree: int
    wrong: float

    @property
    def rate(self) -> float:
        """The observed share of pairs that agree on a wrong answer."""
        return self.agree / self.pairs if self.pairs else 0.0

    def p_value(self) -> float:
        """P[Bin(pairs, wrong^2) >= agree]: how surprising the agreement is under
        independence (its most, so the test is conservative)."""
        if not self.pairs:
            return 1.0
        return tail(self.pairs, self.agree, min(1.0, self.wrong**2))

    def stuck(self) -> float:
        """The share φ of units on which every sample gives the same wrong answer, with the
        others' samples independent and every one of their wrong answers the rival (the least
        φ that explains the agreement): from ``d = φ + (w − φ)²/(1 − φ)``,
        ``φ = (d − w²)/(1 − 2w + d)``, within [0, w]."""
        d, w = self.rate, self.wrong
        denominator = 1.0 - 2.0 * w + d
        if denominator <= 0.0:
            return w
        return min(w, max(0.0, (d - w * w) / denominator))


def rival_rate(coincidence: Coincidence) -> float:
    """The rate of the most common wrong answer under independence: two samples agree on it
    with probability b², so ``b = sqrt(agree/pairs)`` (at most the wrong rate)."""
    return min(coincidence.wrong, math.sqrt(coincidence.rate))

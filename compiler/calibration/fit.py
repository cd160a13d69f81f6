"""Curves in ``x`` through a calibration's per-x measurements (docs/calibration.md §3).

A success curve is one of three forms, each a dict the calibration file stores:

* ``{"form": "constant", "value": a}``: one granularity was measured (or the op has none);
* ``{"form": "scaled", "power": e}``: one granularity, and the spec's own success formula
  ``S(x)`` gives the shape: ``S(x)^e``, the spec's hazard ``−ln S`` scaled to the measurement;
* ``{"form": "weibull", "c": c, "b": b}``: two granularities or more: ``exp(−c·x^b)``, the
  binomial maximum-likelihood fit (``b = 1`` is a per-unit success ``exp(−c)`` compounded).

Token counts are lines ``{"form": "linear", "a": a, "b": b}``: ``a + b·x`` (two granularities
or more), or ``{"form": "ratio", "factor": f}``: the spec's own formula times f (one).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Curve = dict[str, float | str]

#: the shapes ``b`` a Weibull fit may take
B_RANGE = (0.05, 8.0)


def constant(value: float) -> Curve:
    return {"form": "constant", "value": value}


def evaluate(curve: Curve, x: float, spec_success: float | None = None) -> float:
    """The curve's value at ``x`` (``spec_success``: the spec's success at x, for ``scaled``)."""
    match curve["form"]:
        case "constant":
            return float(curve["value"])
        case "scaled":
            if spec_success is None:
                raise ValueError("a scaled curve needs the spec's success")
            return spec_success ** float(curve["power"])
        case "weibull":
            return math.exp(-float(curve["c"]) * x ** float(curve["b"]))
        case "linear":
            return float(curve["a"]) + float(curve["b"]) * x
        case "ratio":
            if spec_success is None:
                raise ValueError("a ratio needs the spec's value")
            return float(curve["factor"]) * spec_success
    raise ValueError(f"unknown curve form {curve['form']!r}")


def _loglik(c: float, b: float, points: Sequence[tuple[float, int, int]]) -> float:
    total = 0.0
    for x, right, kept in points:
        hazard = c * x**b
        total -= right * hazard
        if kept > right:
            total += (kept - right) * math.log(-math.expm1(-hazard)) if hazard > 0 else -1e300
    return total


def _best_c(b: float, points: Sequence[tuple[float, int, int]]) -> float:
    """The c that maximizes the likelihood at shape ``b`` (the score is decreasing in c)."""
    if all(kept == right for _, right, kept in points):
        return 0.0

    def score(c: float) -> float:
        out = 0.0
        for x, right, kept in points:
            w = x**b
            out -= right * w
            if kept > right and c * w < 700.0:  # beyond, the term is below a float's reach
                out += (kept - right) * w / math.expm1(c * w)
        return out

    low, high = 1e-300, 1.0
    while score(high) > 0 and high < 1e200:
        high *= 16.0
    for _ in range(200):  # bisection on ln c
        mid = math.sqrt(low * high)
        if mid in (low, high):
            break
        if score(mid) > 0:
            low = mid
        else:
            high = mid
    return math.sqrt(low * high)


def weibull_mle(points: Sequence[tuple[float, int, int]]) -> Curve:
    """The maximum-likelihood ``exp(−c·x^b)`` for ``(x, right, kept)`` measurements at two or
    more granularities (a grid on b, refined by golden sections on the profile likelihood)."""
    if all(kept == right for _, right, kept in points):
        return {"form": "weibull", "c": 0.0, "b": 1.0}
    grid = [B_RANGE[0] * (B_RANGE[1] / B_RANGE[0]) ** (i / 80) for i in range(81)]
    scored = [(_loglik(_best_c(b, points), b, points), b) for b in grid]
    i = max(range(len(scored)), key=lambda j: scored[j][0])
    low, high = grid[max(0, i - 1)], grid[min(len(grid) - 1, i + 1)]
    golden = (math.sqrt(5.0) - 1.0) / 2.0
    for _ in range(60):
        m1, m2 = high - golden * (high - low), low + golden * (high - low)
        f1 = _loglik(_best_c(m1, points), m1, points)
        f2 = _loglik(_best_c(m2, points), m2, points)
        if f1 < f2:
            low = m1
        else:
            high = m2
    b = (low + high) / 2.0
    return {"form": "weibull", "c": _best_c(b, points), "b": b}


def through(points: Sequence[tuple[float, float]]) -> Curve:
    """The ``exp(−c·x^b)`` through ``(x, success)`` points, by least squares on
    ``ln(−ln s) = ln c + b·ln x`` (exact through two). A point with success 1 has no hazard:
    left out; none left gives the constant 1."""
    usable = [(math.log(x), math.log(-math.log(s))) for x, s in points if 0.0 < s < 1.0]
    if not usable:
        return constant(1.0 if all(s >= 1.0 for _, s in points) else 0.0)
    if len({u for u, _ in usable}) < 2:
        u, v = usable[0]
        return {"form": "weibull", "c": math.exp(v - u), "b": 1.0}
    mean_u = sum(u for u, _ in usable) / len(usable)
    mean_v = sum(v for _, v in usable) / len(usable)
    num = sum((u - mean_u) * (v - mean_v) for u, v in usable)
    den = sum((u - mean_u) ** 2 for u, _ in usable)
    b = min(max(num / den, 0.0), B_RANGE[1])
    return {"form": "weibull", "c": math.exp(mean_v - b * mean_u), "b": b}


def line(points: Sequence[tuple[float, float, float]]) -> Curve:
    """The weighted least-squares line ``a + b·x`` through ``(x, mean, weight)`` points (a
    constant through one granularity)."""
    total = sum(w for _, _, w in points)
    mean_x = sum(x * w for x, _, w in points) / total
    mean_y = sum(y * w for _, y, w in points) / total
    den = sum(w * (x - mean_x) ** 2 for x, _, w in points)
    if den <= 0.0:
        return {"form": "linear", "a": mean_y, "b": 0.0}
    b = sum(w * (x - mean_x) * (y - mean_y) for x, y, w in points) / den
    return {"form": "linear", "a": mean_y - b * mean_x, "b": b}

"""Per-item reliability (docs/model.md §3, items): what a bound on accuracy or on errors asks
of ln(accuracy), and the expected errors of a plan."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any


def accuracy_floor(metric: str, bound: Any, items: Any) -> Any:
    """The least accuracy a requirement asks: ``accuracy >= t`` asks t, ``errors <= E`` over
    N items asks ``1 − E/N`` (exact when the bound and N are).

    >>> accuracy_floor("errors", Fraction(100), 10**6)
    Fraction(9999, 10000)
    >>> accuracy_floor("accuracy", Fraction(999, 1000), 10**6)
    Fraction(999, 1000)
    """
    if metric == "accuracy":
        return bound
    if not items:
        return Fraction(0)
    if isinstance(bound, float) or isinstance(items, float):
        return 1.0 - float(bound) / float(items)
    return 1 - Fraction(bound) / Fraction(items)


def expected_errors(log_accuracy: float, items: Any) -> float:
    """N·(1 − accuracy), the failure computed on its small side.

    >>> round(expected_errors(math.log(0.999), 10**6), 6)
    1000.0
    """
    return float(items) * -math.expm1(log_accuracy)

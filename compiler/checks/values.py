"""Small numeric helpers of the check pass: formatting values for messages, integer tests."""

from __future__ import annotations

import math
from fractions import Fraction

from aalp.front.expr import Number
from aalp.front.ir import Expr, Num


def fmt_number(value: Number) -> str:
    """A number as a user reads it: ``1048575``, ``0.25``, ``1.5e+30``; exact values too large
    for a float too (``2e+310``), and infinity and NaN without failing.

    >>> fmt_number(Fraction(1, 4)), fmt_number(Fraction(2 * 10**310)), fmt_number(math.nan)
    ('0.25', '2e+310', 'undefined')
    """
    if isinstance(value, Fraction):
        if value.denominator == 1 and abs(value) < 10**15:
            return str(value.numerator)
        try:
            value = float(value)
        except OverflowError:
            return _huge(value)
    if math.isnan(value):
        return "undefined"
    if math.isinf(value):
        return "infinity" if value > 0 else "-infinity"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def _huge(value: Fraction) -> str:
    """An exact value beyond the float range in scientific notation (never via a decimal
    string: Python refuses to print integers of more than 4300 digits)."""
    sign = "-" if value < 0 else ""
    digits = math.log10(abs(value.numerator)) - math.log10(value.denominator)
    exponent = math.floor(digits)
    mantissa = 10 ** (digits - exponent)
    return f"{sign}{mantissa:.6g}e+{exponent}"


def finite(value: Number) -> bool:
    """True when ``value`` is within the float range (exact values included).

    >>> finite(Fraction(10) ** 308), finite(Fraction(10) ** 309), finite(math.inf)
    (True, False, False)
    """
    if isinstance(value, Fraction):
        try:
            float(value)
        except OverflowError:
            return False
        return True
    return math.isfinite(value)


def is_int(value: Number) -> bool:
    """True for a whole number (finite)."""
    if isinstance(value, Fraction):
        return value.denominator == 1
    return math.isfinite(value) and value == int(value)


def chunks(count: Number, x: Number) -> Number:
    """ceil(count / x): the calls a stage makes over ``count`` units, x per call."""
    if isinstance(count, Fraction) and isinstance(x, Fraction):
        return ceil_value(count / x)
    return ceil_value(float(count) / float(x))


def ceil_value(value: Number) -> Number:
    """The ceiling, exact for fractions; infinity stays infinity."""
    if isinstance(value, Fraction):
        return Fraction(math.ceil(value))
    return float(math.ceil(value)) if math.isfinite(value) else value


def at_x(x: Number | None) -> str:
    """`` at x = 5`` for messages, or nothing when there is no x."""
    return "" if x is None else f" at x = {fmt_number(x)}"


def probability_hint(expr: Expr, x: Number | None) -> str:
    """A hint for a probability out of range: a percentage, or a formula in x."""
    if x is not None:
        return "the formula is evaluated at both ends of x's range; keep it within [0, 1]"
    if isinstance(expr, Num) and expr.value > 1 and expr.value <= 100:
        return f"write a probability, not a percentage: {fmt_number(expr.value / 100)}"
    return "probabilities lie between 0 and 1"

"""Interval arithmetic: enclosures of formulas over ranges of their variables.

The optimizer proves that values of x (and fan-in, and vote counts) it does not evaluate
cannot win by bounding the cost model over whole ranges (``optimize.bounds``). This module gives
the enclosure of one formula: ``evaluate(expr, env)`` with intervals in ``env`` returns an
interval holding the formula's value at every point of the ranges where it is defined.

Every operation rounds outward (one ulp each way), so the enclosure holds despite floating
point. Points where a formula is undefined (a log of a negative number, a division by zero) are
left out: such plans cannot run, so they need no bound. An enclosure may be wider than the true
range (interval arithmetic forgets that two occurrences of x are the same number) but it
shrinks to the exact value as the ranges shrink to points, which is what a branch-and-bound
search needs.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from fractions import Fraction

from aalp.front.ir import BinOp, Call, Expr, Name, Neg, Num

INF = math.inf
_MAX = 1.7976931348623157e308


def _down(v: float) -> float:
    return math.nextafter(v, -INF) if math.isfinite(v) else v


def _up(v: float) -> float:
    return math.nextafter(v, INF) if math.isfinite(v) else v


class Interval:
    """The closed range ``[lo, hi]`` (``lo > hi`` never occurs; use ``EMPTY`` checks).
    Immutable by convention: bounding makes hundreds of thousands of them, and a frozen
    dataclass's constructor costs twice a plain one's."""

    __slots__ = ("hi", "lo")
    lo: float
    hi: float

    def __init__(self, lo: float, hi: float) -> None:
        self.lo = lo
        self.hi = hi

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Interval):
            return NotImplemented
        return self.lo == other.lo and self.hi == other.hi

    def __hash__(self) -> int:
        return hash((self.lo, self.hi))

    def __repr__(self) -> str:
        return f"Interval(lo={self.lo!r}, hi={self.hi!r})"

    @staticmethod
    def point(v: float) -> Interval:
        return Interval(v, v)

    @property
    def is_point(self) -> bool:
        return self.lo == self.hi

    def __add__(self, other: Interval | float) -> Interval:
        if isinstance(other, Interval):
            olo, ohi = other.lo, other.hi
        else:
            olo = ohi = float(other)
        return Interval(_down(self.lo + olo), _up(self.hi + ohi))

    __radd__ = __add__

    def __neg__(self) -> Interval:
        return Interval(-self.hi, -self.lo)

    def __sub__(self, other: Interval | float) -> Interval:
        return self + (-_iv(other))

    def __rsub__(self, other: Interval | float) -> Interval:
        return _iv(other) + (-self)

    def __mul__(self, other: Interval | float) -> Interval:
        if isinstance(other, Interval):
            olo, ohi = other.lo, other.hi
        else:
            olo = ohi = float(other)
        lo, hi = self.lo, self.hi
        if lo == hi and olo == ohi:  # two points: one product
            v = _mul(lo, olo)
            return Interval(_down(v), _up(v))
        a, b, c, d = _mul(lo, olo), _mul(lo, ohi), _mul(hi, olo), _mul(hi, ohi)
        return Interval(_down(min(a, b, c, d)), _up(max(a, b, c, d)))

    __rmul__ = __mul__

    def __truediv__(self, other: Interval | float) -> Interval:
        return self * reciprocal(_iv(other))

    def __rtruediv__(self, other: Interval | float) -> Interval:
        return _iv(other) * reciprocal(self)

    def clamp(self, lo: float, hi: float) -> Interval:
        """The part inside ``[lo, hi]`` (a probability, a count); a point at the nearest end
        when there is none."""
        a, b = max(self.lo, lo), min(self.hi, hi)
        if a > b:
            v = lo if self.hi < lo else hi
            return Interval(v, v)
        return Interval(a, b)

    def __contains__(self, v: float) -> bool:
        return self.lo <= v <= self.hi


def _mul(a: float, b: float) -> float:
    if a == 0.0 or b == 0.0:
        return 0.0  # 0·inf: the bound of a product with a zero factor is 0
    return a * b


def _iv(v: Interval | float) -> Interval:
    return v if isinstance(v, Interval) else Interval(float(v), float(v))


WHOLE = Interval(-INF, INF)


def reciprocal(v: Interval) -> Interval:
    """``1/v`` over the points where it is defined (0 excluded)."""
    if v.lo > 0 or v.hi < 0:
        return Interval(_down(1.0 / v.hi) if v.hi != 0 else -INF, _up(1.0 / v.lo))
    if v.lo == 0 and v.hi > 0:
        return Interval(_down(1.0 / v.hi), INF)
    if v.hi == 0 and v.lo < 0:
        return Interval(-INF, _up(1.0 / v.lo))
    return WHOLE


def monotone(f, v: Interval, lo: float = -INF, hi: float = INF) -> Interval:
    """``f`` (non-decreasing on ``[lo, hi]``) over ``v`` restricted to its domain."""
    d = v.clamp(lo, hi)
    return Interval(_down(_safe(f, d.lo, -INF)), _up(_safe(f, d.hi, INF)))


def _safe(f, x: float, overflow: float) -> float:
    try:
        return float(f(x))
    except OverflowError:
        return overflow
    except ValueError:
        return -INF if overflow < 0 else INF


def log(v: Interval) -> Interval:
    return monotone(lambda t: math.log(t) if t > 0 else -INF, v, 0.0)


def exp(v: Interval) -> Interval:
    return monotone(math.exp, v)


def power(base: Interval, expo: Interval) -> Interval:
    """``base^expo`` over the points where it is a real number."""
    if expo.is_point and float(expo.lo).is_integer() and abs(expo.lo) <= 1 << 30:
        n = int(expo.lo)
        if n == 0:
            return Interval(1.0, 1.0)
        if n < 0:
            return reciprocal(power(base, Interval(-n, -n)))
        ends = [_pow(base.lo, n), _pow(base.hi, n)]
        lo, hi = min(ends), max(ends)
        if n % 2 == 0 and base.lo < 0 < base.hi:
            lo = 0.0
        return Interval(_down(lo), _up(hi))
    if base.hi < 0:
        return WHOLE  # a negative number to a non-integer power: never real
    b = base.clamp(0.0, INF)
    if b.lo == 0:
        # 0^e = 0 for e > 0; near 0 a power e <= 0 is large (or undefined)
        if b.hi == 0:
            return Interval(0.0, 0.0) if expo.lo > 0 else WHOLE
        top = exp(expo * log(Interval(b.hi, b.hi))).hi if expo.lo > 0 else INF
        return Interval(0.0, top)
    return exp(expo * log(b))


def _pow(a: float, n: int) -> float:
    try:
        return float(a**n)
    except OverflowError:
        return INF if a > 0 or n % 2 == 0 else -INF
    except ZeroDivisionError:
        return INF


def _floor(v: Interval) -> Interval:
    return Interval(_rounded(math.floor, v.lo), _rounded(math.floor, v.hi))


def _ceil(v: Interval) -> Interval:
    return Interval(_rounded(math.ceil, v.lo), _rounded(math.ceil, v.hi))


def _rounded(f, x: float) -> float:
    return float(f(x)) if math.isfinite(x) else x


def _call(func: str, args: list[Interval]) -> Interval:
    match func, args:
        case (("log" | "ln"), [a]):
            return log(a)
        case "log", [a, b]:
            return log(a) / log(b)
        case "log2", [a]:
            return log(a) / Interval(math.log(2), math.log(2))
        case "exp", [a]:
            return exp(a)
        case "sqrt", [a]:
            return monotone(math.sqrt, a, 0.0)
        case "ceil", [a]:
            return _ceil(a)
        case "floor", [a]:
            return _floor(a)
        case "min", _ if args:
            return Interval(min(a.lo for a in args), min(a.hi for a in args))
        case "max", _ if args:
            return Interval(max(a.lo for a in args), max(a.hi for a in args))
    return WHOLE


@functools.lru_cache(maxsize=4096)
def _number(value: Fraction | int) -> Interval:
    """The tightest float interval holding an exact constant (a formula's constants recur in
    every bound, and comparing a float with a fraction is slow)."""
    try:
        v = float(value)
    except OverflowError:
        return Interval(_MAX, INF) if value > 0 else Interval(-INF, -_MAX)
    if v == value:
        return Interval(v, v)
    return Interval(_down(v), _up(v))


def evaluate(expr: Expr, env: Mapping[str, Interval]) -> Interval:
    """An enclosure of ``expr`` over the ranges in ``env`` (unknown names: the whole line).

    >>> from fractions import Fraction
    >>> x = Interval(2.0, 3.0)
    >>> e = BinOp("*", Name("x"), BinOp("+", Name("x"), Num(Fraction(1))))
    >>> r = evaluate(e, {"x": x}); (round(r.lo, 9), round(r.hi, 9))
    (6.0, 12.0)
    """
    match expr:
        case Num(value=value):
            return _number(value)
        case Name(id=ident):
            return env.get(ident, WHOLE)
        case Neg(operand=operand):
            return -evaluate(operand, env)
        case BinOp(op=op, left=left, right=right):
            a, b = evaluate(left, env), evaluate(right, env)
            match op:
                case "+":
                    return a + b
                case "-":
                    return a - b
                case "*":
                    return a * b
                case "/":
                    return a / b
            return power(a, b)
        case Call(func=func, args=args):
            return _call(func, [evaluate(arg, env) for arg in args])
    return WHOLE

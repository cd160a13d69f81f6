"""Formulas that are (Laurent) polynomials in x, read off the IR, for tight bounds per unit.

A stage over n units in chunks of x makes ``C(x) = ceil(n/x) >= n/x`` calls, so a total
``C(x)·m(x)`` is at least ``n·m(x)/x``. Interval arithmetic alone cannot see that ``m(x)/x``
is flat when m grows like x (it bounds ``[a + b·lo, a + b·hi]/[lo, hi]`` by ``(a + b·lo)/hi``),
and then no range of x far from the optimum can be ruled out. When a formula is a polynomial
in x, dividing by x is exact on its coefficients, and each monomial ``c·x^k`` is monotone for
x > 0, so the bound per unit is tight. ``as_poly`` reads such formulas (sums, products, integer
powers, division by constants and by x); ``as_log_poly`` reads successes whose logarithm is
one (``p^x``, ``exp(-(x/d)^2)``, constants).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from aalp.front.ir import BinOp, Call, Expr, Name, Neg, Num
from aalp.optimizer.interval import Interval

Poly = dict[int, float]  # exponent of x -> coefficient
MAX_DEGREE = 8


def _num(expr: Expr, env: Mapping[str, float]) -> float | None:
    match expr:
        case Num(value=value):
            try:
                return float(value)
            except OverflowError:
                return None
        case Name(id=ident) if ident != "x":
            v = env.get(ident)
            return None if v is None or not math.isfinite(v) else float(v)
    return None


def add(a: Poly, b: Poly, sign: float = 1.0) -> Poly:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0.0) + sign * v
    return {k: v for k, v in out.items() if v != 0.0}


def mul(a: Poly, b: Poly) -> Poly | None:
    out: Poly = {}
    for i, u in a.items():
        for j, w in b.items():
            out[i + j] = out.get(i + j, 0.0) + u * w
    if out and (max(out) > MAX_DEGREE or min(out) < -MAX_DEGREE):
        return None
    return {k: v for k, v in out.items() if v != 0.0}


def scale(p: Poly, c: float) -> Poly:
    return {k: v * c for k, v in p.items() if v * c != 0.0}


def shift(p: Poly, by: int) -> Poly:
    """``p·x^by`` (``by = -1``: divided by x)."""
    return {k + by: v for k, v in p.items()}


def as_poly(expr: Expr, env: Mapping[str, float]) -> Poly | None:
    """``expr`` as a Laurent polynomial in x (None when it is not one)."""
    c = _num(expr, env)
    if c is not None:
        return {0: c} if c else {}
    match expr:
        case Name(id="x"):
            return {1: 1.0}
        case Neg(operand=operand):
            p = as_poly(operand, env)
            return None if p is None else scale(p, -1.0)
        case BinOp(op=op, left=left, right=right):
            a, b = as_poly(left, env), as_poly(right, env)
            if a is None or b is None:
                return None
            match op:
                case "+":
                    return add(a, b)
                case "-":
                    return add(a, b, -1.0)
                case "*":
                    return mul(a, b)
                case "/":
                    if len(b) == 1:
                        ((k, v),) = b.items()
                        return shift(scale(a, 1.0 / v), -k) if v else None
                    return None
                case "^":
                    if set(b) <= {0}:
                        e = b.get(0, 0.0)
                        if e.is_integer() and 0 <= e <= MAX_DEGREE:
                            out: Poly | None = {0: 1.0}
                            for _ in range(int(e)):
                                out = mul(out, a) if out is not None else None
                            return out
                    return None
    return None


def as_log_poly(expr: Expr, env: Mapping[str, float]) -> Poly | None:
    """A polynomial P with ``ln(expr) = P(x)``, or None."""
    c = _num(expr, env)
    if c is not None:
        return {0: math.log(c)} if c > 0 else None
    match expr:
        case Call(func="exp", args=(arg,)):
            return as_poly(arg, env)
        case BinOp(op="^", left=left, right=right):
            base = _num(left, env)
            if base is not None and base > 0:
                e = as_poly(right, env)
                return None if e is None else scale(e, math.log(base))
            inner = as_log_poly(left, env)
            k = _num(right, env)
            return None if inner is None or k is None else scale(inner, k)
        case BinOp(op="*", left=left, right=right):
            a, b = as_log_poly(left, env), as_log_poly(right, env)
            return None if a is None or b is None else add(a, b)
        case BinOp(op="/", left=left, right=right):
            a, b = as_log_poly(left, env), as_log_poly(right, env)
            return None if a is None or b is None else add(a, b, -1.0)
    return None


def bounds(p: Poly, x: Interval) -> Interval:
    """The range of ``p`` over ``x`` (x > 0): each monomial is monotone there, so the sum of
    their ranges holds it (tight for a single monomial, converging as x narrows)."""
    lo = max(x.lo, 1e-300)
    hi = max(x.hi, lo)
    total = Interval(0.0, 0.0)
    for k, c in p.items():
        a, b = sorted((_pow(lo, k), _pow(hi, k)))
        total = total + Interval(c, c) * Interval(
            math.nextafter(a, -math.inf), math.nextafter(b, math.inf)
        )
    return total


def _pow(v: float, k: int) -> float:
    try:
        return v**k
    except OverflowError:
        return math.inf

"""Numbers of a checked spec: formulas evaluated exactly where they can be, floats otherwise.

Counts are kept exact (``Fraction`` or ``int``) so that chunk counts of astronomically large
data (``s = 2^64 − 1``) are computed with integer arithmetic; other formulas are evaluated in
floating point through ``aalp.front.expr``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from aalp.front import expr as ex
from aalp.front.ir import BinOp, Expr, Name, Neg, Num

Number = int | Fraction | float


def exact(expr: Expr, env: Mapping[str, Any]) -> Number:
    """Evaluate ``expr`` exactly (``Fraction``) when it uses only + − · / and integer powers
    of exact values; otherwise fall back to ``aalp.front.expr.evaluate`` (a float)."""

    def go(e: Expr) -> Number:
        match e:
            case Num(value=value):
                return Fraction(value)
            case Name(id=ident) if ident in env and isinstance(env[ident], int | Fraction):
                return Fraction(env[ident])
            case Neg(operand=operand):
                return -go(operand)
            case BinOp(op=op, left=left, right=right):
                a, b = go(left), go(right)
                if isinstance(a, Fraction) and isinstance(b, Fraction):
                    if op == "+":
                        return a + b
                    if op == "-":
                        return a - b
                    if op == "*":
                        return a * b
                    if op == "/" and b != 0:
                        return a / b
                    if op == "^" and b.denominator == 1 and abs(b) <= 4096 and a != 0:
                        return a ** int(b)
        return ex.evaluate(e, float_env(env))

    return go(expr)


def float_env(env: Mapping[str, Any]) -> dict[str, float]:
    """The numeric values of ``env`` as floats: an exact value beyond the float range (a
    ``Fraction`` of 2^2000) becomes ±inf, a non-number is left out."""
    out: dict[str, float] = {}
    for k, v in env.items():
        try:
            out[k] = float(v)
        except OverflowError:
            out[k] = math.inf if v > 0 else -math.inf
        except (TypeError, ValueError):
            continue
    return out


def ceil_div(n: Number, d: Number) -> int:
    """``ceil(n/d)`` exactly for exact operands (floats only when a size is itself a float)."""
    if isinstance(n, float) or isinstance(d, float):
        return math.ceil(n / d)
    q = Fraction(n) / Fraction(d)
    return -((-q.numerator) // q.denominator)

"""Formulas: numeric evaluation, sympy conversion and the names a formula uses.

Numbers are evaluated in floating point for the optimizer's inner loops (``evaluate``) and
converted to exact sympy expressions for closed forms (``to_sympy``). Both read the same IR.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from .ir import BinOp, Call, Expr, Name, Neg, Num

if TYPE_CHECKING:
    import sympy


class EvalError(ValueError):
    """A formula cannot be evaluated (unknown name, division by zero, domain error, overflow)."""

    def __init__(self, message: str, node: Expr):
        super().__init__(message)
        self.node = node


def names(expr: Expr) -> Iterator[Name]:
    """Every ``Name`` node in ``expr``, left to right."""
    match expr:
        case Name():
            yield expr
        case BinOp(left=left, right=right):
            yield from names(left)
            yield from names(right)
        case Neg(operand=operand):
            yield from names(operand)
        case Call(args=args):
            for arg in args:
                yield from names(arg)


def _log(args: list[float]) -> float:
    if len(args) == 2:
        return math.log(args[0]) / math.log(args[1])
    return math.log(args[0])


_FLOAT_FUNCS = {
    "log": _log,
    "ln": lambda a: math.log(a[0]),
    "log2": lambda a: math.log2(a[0]),
    "exp": lambda a: math.exp(a[0]),
    "sqrt": lambda a: math.sqrt(a[0]),
    "ceil": lambda a: float(math.ceil(a[0])),
    "floor": lambda a: float(math.floor(a[0])),
    "min": min,
    "max": max,
}


def evaluate(expr: Expr, env: Mapping[str, float]) -> float:
    """Evaluate ``expr`` with the values in ``env``; raise ``EvalError`` on any failure.

    >>> from fractions import Fraction
    >>> evaluate(BinOp("^", Num(Fraction(2)), Name("d")), {"d": 10})
    1024.0
    """
    match expr:
        case Num(value=value):
            return float(value)
        case Name(id=ident):
            try:
                return float(env[ident])
            except KeyError:
                raise EvalError(f"unknown name '{ident}'", expr) from None
        case Neg(operand=operand):
            return -evaluate(operand, env)
        case BinOp(op=op, left=left, right=right):
            a, b = evaluate(left, env), evaluate(right, env)
            try:
                if op == "+":
                    return a + b
                if op == "-":
                    return a - b
                if op == "*":
                    return a * b
                if op == "/":
                    return a / b
                result = a**b
                if isinstance(result, complex):
                    raise EvalError(f"{a:g}^{b:g} is not a real number", expr)
                return float(result)
            except ZeroDivisionError:
                raise EvalError("division by zero", expr) from None
            except OverflowError:
                return math.inf
        case Call(func=func, args=args):
            values = [evaluate(arg, env) for arg in args]
            try:
                return float(_FLOAT_FUNCS[func](values))
            except KeyError:
                raise EvalError(f"unknown function '{func}'", expr) from None
            except (ValueError, ZeroDivisionError):
                raise EvalError(f"{func}() is undefined at {values}", expr) from None
            except OverflowError:
                return math.inf
    raise EvalError(f"not a formula: {expr!r}", expr)


def to_sympy(expr: Expr, symbols: Mapping[str, sympy.Basic] | None = None) -> sympy.Expr:
    """Convert ``expr`` to an exact sympy expression; names become positive symbols unless
    ``symbols`` maps them to something else (a value or a prepared symbol)."""
    import sympy

    symbols = symbols or {}

    def conv(e: Expr) -> sympy.Expr:
        match e:
            case Num(value=value):
                return sympy.Rational(value.numerator, value.denominator)
            case Name(id=ident):
                if ident in symbols:
                    return sympy.sympify(symbols[ident])
                return sympy.Symbol(ident, positive=True)
            case Neg(operand=operand):
                return -conv(operand)
            case BinOp(op=op, left=left, right=right):
                a, b = conv(left), conv(right)
                return {
                    "+": lambda: a + b,
                    "-": lambda: a - b,
                    "*": lambda: a * b,
                    "/": lambda: a / b,
                    "^": lambda: a**b,
                }[op]()
            case Call(func=func, args=args):
                vals = [conv(a) for a in args]
                match func:
                    case "log" if len(vals) == 2:
                        return sympy.log(vals[0], vals[1])
                    case "log" | "ln":
                        return sympy.log(vals[0])
                    case "log2":
                        return sympy.log(vals[0], 2)
                    case "exp":
                        return sympy.exp(vals[0])
                    case "sqrt":
                        return sympy.sqrt(vals[0])
                    case "ceil":
                        return sympy.ceiling(vals[0])
                    case "floor":
                        return sympy.floor(vals[0])
                    case "min":
                        return sympy.Min(*vals)
                    case "max":
                        return sympy.Max(*vals)
        raise EvalError(f"not a formula: {e!r}", e)

    return conv(expr)

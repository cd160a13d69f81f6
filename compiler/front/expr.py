"""Formulas: numeric evaluation, sympy conversion and the names a formula uses.

Numbers are evaluated in floating point for the optimizer's inner loops (``evaluate``) and
converted to exact sympy expressions for closed forms (``to_sympy``). Both read the same IR.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from fractions import Fraction
from typing import TYPE_CHECKING

from aalp import codes
from aalp.diagnostics import AalpError
from aalp.front.ir import ARITY, NO_SPAN, BinOp, Call, Expr, Name, Neg, Num

if TYPE_CHECKING:
    import sympy


class EvalError(AalpError, ValueError):
    """A formula cannot be evaluated (unknown name, division by zero, domain error, overflow);
    its diagnostic points at ``node``, the part of the formula at fault."""

    code = codes.EVAL_FAILED

    def __init__(self, message: str, node: Expr):
        super().__init__(message, span=getattr(node, "span", NO_SPAN))
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


FLOAT_FUNCS = {
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
            return to_float(value)
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
                return float(FLOAT_FUNCS[func](values))
            except KeyError:
                raise EvalError(f"unknown function '{func}'", expr) from None
            except (ValueError, ZeroDivisionError, IndexError, TypeError):
                raise EvalError(f"{func}() is undefined at {_show(values)}", expr) from None
            except OverflowError:
                return math.inf
    raise EvalError(f"not a formula: {expr!r}", expr)


def to_float(value: Fraction) -> float:
    try:
        return float(value)
    except OverflowError:  # a value like 1e999999: larger than any float
        return math.inf if value > 0 else -math.inf


def _show(values: list[float]) -> str:
    return ", ".join(f"{v:g}" for v in values)


Number = Fraction | float

# Exact arithmetic stops here: a value that would need more bits is computed in floating point
# instead (2^(2^64) steps is a fine parameter, but not as an exact integer). 1000 bits keeps
# every exact value convertible to a float, which later passes rely on.
_MAX_EXACT_BITS = 1000


def _tame(value: Number) -> Number:
    """``value``, or its float when an exact value has grown beyond ``_MAX_EXACT_BITS``."""
    if isinstance(value, Fraction):
        size = max(value.numerator.bit_length(), value.denominator.bit_length())
        if size > _MAX_EXACT_BITS:
            return to_float(value)
    return value


def _power(a: Number, b: Number, node: Expr) -> Number:
    if isinstance(a, Fraction) and isinstance(b, Fraction) and b.denominator == 1:
        if a == 0 and b < 0:
            raise EvalError("division by zero (0 to a negative power)", node)
        size = max(a.numerator.bit_length(), a.denominator.bit_length(), 1)
        if abs(b.numerator) * size <= _MAX_EXACT_BITS:
            return a**b.numerator
    fa, fb = float(a), float(b)
    if fa == 0 and fb < 0:
        raise EvalError("division by zero (0 to a negative power)", node)
    try:
        result = fa**fb
    except OverflowError:
        return math.inf
    except ZeroDivisionError:
        raise EvalError("division by zero (0 to a negative power)", node) from None
    if isinstance(result, complex):
        raise EvalError(f"{fa:g}^{fb:g} is not a real number", node)
    return float(result)


def evaluate_exact(expr: Expr, env: Mapping[str, Number], *, finite: bool = False) -> Number:
    """Evaluate ``expr`` exactly where possible: a ``Fraction`` while only ``+ - * /``, integer
    powers of modest size, ``ceil``, ``floor``, ``min`` and ``max`` are involved, else a float.
    Raise ``EvalError`` on unknown names, division by zero and domain errors; overflow gives inf,
    or, with ``finite``, an infinite result raises ``Overflow`` naming the part of the formula
    that first overflowed (the checker's mode: every value it accepts is finite). An
    intermediate infinity that the rest absorbs is fine: ``exp(-(10^200)^2)`` is 0.

    >>> evaluate_exact(BinOp("/", Num(Fraction(1)), Num(Fraction(3))), {})
    Fraction(1, 3)
    >>> evaluate_exact(BinOp("^", Num(Fraction(2)), Name("d")), {"d": Fraction(20)})
    Fraction(1048576, 1)
    """
    # Iterative post-order walk: formulas nested thousands deep must not hit the recursion limit.
    stack: list[tuple[Expr, bool]] = [(expr, False)]
    values: list[Number] = []
    origin: Expr | None = None  # the first node whose value overflowed
    while stack:
        node, expanded = stack.pop()
        match node:
            case Num(value=value):
                values.append(_tame(value))
            case Name(id=ident):
                if ident not in env:
                    raise EvalError(f"unknown name '{ident}'", node)
                values.append(_tame(env[ident]))
            case Neg(operand=operand):
                if not expanded:
                    stack += [(node, True), (operand, False)]
                else:
                    values.append(-values.pop())
            case BinOp(op=op, left=left, right=right):
                if not expanded:
                    stack += [(node, True), (right, False), (left, False)]
                    continue
                b = values.pop()
                a = values.pop()
                values.append(_tame(_binop(op, a, b, node)))
            case Call(func=func, args=args):
                if not expanded:
                    stack.append((node, True))
                    stack += [(arg, False) for arg in reversed(args)]
                    continue
                got = values[len(values) - len(args) :] if args else []
                del values[len(values) - len(args) :]
                values.append(_tame(_call(func, got, node)))
            case _:
                raise EvalError(f"not a formula: {node!r}", node)
        if origin is None and values and _infinite(values[-1]):
            origin = node
    result = values[0]
    if finite and _infinite(result):
        node = origin or expr
        raise Overflow(f"{_excerpt(node)} overflows: the value is too large to compute", node)
    return result


class Overflow(EvalError):
    """A formula whose value is too large to compute (beyond about 1.8e308)."""

    code = codes.OVERFLOW


def _infinite(value: Number) -> bool:
    return isinstance(value, float) and math.isinf(value)


def _excerpt(node: Expr, width: int = 40) -> str:
    """The formula ``node`` as written (shortened), for a message."""
    from aalp.front.printer import (
        format_expr,  # only on the error path: the printer needs the parser
    )

    try:
        text = format_expr(node)
    except Exception:  # pragma: no cover - a message must not fail
        return "a value"
    return text if len(text) <= width else text[: width - 3] + "..."


def _binop(op: str, a: Number, b: Number, node: Expr) -> Number:
    if op == "^":
        return _power(a, b, node)
    try:
        if op == "+":
            result = a + b
        elif op == "-":
            result = a - b
        elif op == "*":
            result = a * b
        else:
            result = a / b
    except ZeroDivisionError:
        raise EvalError("division by zero", node) from None
    except OverflowError:
        return math.inf
    if isinstance(result, float) and math.isnan(result):
        raise EvalError(f"the value is undefined ({float(a):g} {op} {float(b):g})", node)
    return result


def _call(func: str, args: list[Number], node: Expr) -> Number:
    lo, hi = ARITY.get(func, (0, -1))
    if hi < 0:
        raise EvalError(f"unknown function '{func}'", node)
    if not lo <= len(args) <= hi:
        raise EvalError(f"{func}() takes {lo}..{hi} arguments, got {len(args)}", node)
    if func in ("min", "max"):
        return min(args) if func == "min" else max(args)
    if func in ("ceil", "floor") and isinstance(args[0], Fraction):
        return Fraction(math.ceil(args[0]) if func == "ceil" else math.floor(args[0]))
    floats = [float(a) for a in args]
    if func in ("ceil", "floor") and math.isinf(floats[0]):
        return floats[0]
    try:
        result = float(FLOAT_FUNCS[func](floats))
    except (ValueError, ZeroDivisionError):
        raise EvalError(f"{func}() is undefined at {_show(floats)}", node) from None
    except OverflowError:
        return math.inf
    if math.isnan(result):
        raise EvalError(f"{func}() is undefined at {_show(floats)}", node)
    if func == "sqrt" and isinstance(args[0], Fraction):
        # keep perfect squares exact: sqrt(16) is 4, not 4.0
        root = Fraction(math.isqrt(args[0].numerator), math.isqrt(args[0].denominator))
        if root * root == args[0]:
            return root
    return result


def depth(expr: Expr) -> int:
    """How deeply ``expr`` nests (a literal is 1), computed without recursion."""
    best = 0
    stack: list[tuple[Expr, int]] = [(expr, 1)]
    while stack:
        node, d = stack.pop()
        best = max(best, d)
        match node:
            case BinOp(left=left, right=right):
                stack += [(left, d + 1), (right, d + 1)]
            case Neg(operand=operand):
                stack.append((operand, d + 1))
            case Call(args=args):
                stack += [(arg, d + 1) for arg in args]
    return best


def iter_names(expr: Expr) -> list[Name]:
    """Every ``Name`` in ``expr``, left to right, computed without recursion."""
    out: list[Name] = []
    stack: list[Expr] = [expr]
    while stack:
        node = stack.pop()
        match node:
            case Name():
                out.append(node)
            case BinOp(left=left, right=right):
                stack += [right, left]
            case Neg(operand=operand):
                stack.append(operand)
            case Call(args=args):
                stack += list(reversed(args))
    return out


def iter_calls(expr: Expr) -> list[Call]:
    """Every ``Call`` in ``expr``, outermost first, computed without recursion."""
    out: list[Call] = []
    stack: list[Expr] = [expr]
    while stack:
        node = stack.pop()
        match node:
            case Call(args=args):
                out.append(node)
                stack += list(reversed(args))
            case BinOp(left=left, right=right):
                stack += [right, left]
            case Neg(operand=operand):
                stack.append(operand)
    return out


# Exact numbers longer than this many bits become 17-digit floats in closed forms: a Rational
# of 10^-1000, or 0.999^(2^64) computed exactly, would take sympy minutes and gigabytes.
SYMPY_EXACT_BITS = 128


def sympy_number(value: Fraction | int | float) -> sympy.Expr:
    """A number for a closed form: exact while short, a 17-digit float otherwise."""
    import sympy

    if isinstance(value, float):
        return sympy.Float(value, 17)
    v = Fraction(value)
    if max(v.numerator.bit_length(), v.denominator.bit_length()) > SYMPY_EXACT_BITS:
        return sympy.Float(float(v) if abs(v) < 2**1000 else _big(v), 17)
    return sympy.Rational(v.numerator, v.denominator)


def _big(v: Fraction) -> str:
    """A huge exact value as decimal text sympy can read into a Float."""
    digits = len(str(abs(v.numerator))) - len(str(v.denominator))
    mantissa = v / Fraction(10) ** digits
    return f"{float(mantissa)!r}e{digits}"


def sympy_power(a: sympy.Expr, b: sympy.Expr) -> sympy.Expr:
    """``a^b``, numerically when both are numbers and the exact power would be huge."""
    import sympy

    if a.is_Number and b.is_Number:
        small = b.is_Integer and abs(int(b)) <= 64
        if not small or not (a.is_Rational and a.p.bit_length() + a.q.bit_length() < 64):
            return sympy.Float(a, 17) ** sympy.Float(b, 17)
    return a**b


def to_sympy(expr: Expr, symbols: Mapping[str, sympy.Basic] | None = None) -> sympy.Expr:
    """Convert ``expr`` to an exact sympy expression; names become positive symbols unless
    ``symbols`` maps them to something else (a value or a prepared symbol)."""
    import sympy

    symbols = symbols or {}

    def conv(e: Expr) -> sympy.Expr:
        match e:
            case Num(value=value):
                return sympy_number(value)
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
                    "^": lambda: sympy_power(a, b),
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

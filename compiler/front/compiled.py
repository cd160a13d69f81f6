"""Formulas compiled once into Python closures, for the optimizer's inner loops.

``evaluate_at(expr, env, x)`` gives exactly ``expr.evaluate(expr, {**env, "x": x})``: the
closures do the same float operations in the same order, and whenever one raises anything
(an unknown name, a division by zero, an overflow, a complex power, a domain error) the tree is
evaluated again by ``aalp.front.expr.evaluate``, which gives the diagnostic (or the infinity
of an overflow) it always gave. Compiling skips the tree walk, the pattern matching, the
conversion of each constant and the copy of the environment that every call made.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping

from aalp.front.expr import FLOAT_FUNCS, evaluate, to_float
from aalp.front.ir import BinOp, Call, Expr, Name, Neg, Num

Fast = Callable[[Mapping[str, float], float | None], float]

_ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}
_CACHE: dict[int, tuple[Expr, Fast]] = {}
_CACHE_LIMIT = 50_000


class _Slow(Exception):
    """The closure met a case only the tree walk reports (a complex power, an unknown
    function)."""


def evaluate_at(expr: Expr, env: Mapping[str, float], x: float | None = None) -> float:
    """``expr`` at ``env`` with ``x`` (when given) overriding ``env['x']``."""
    hit = _CACHE.get(id(expr))
    if hit is None or hit[0] is not expr:
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        hit = (expr, _compile(expr))  # holding expr keeps its id from being reused
        _CACHE[id(expr)] = hit
    try:
        return hit[1](env, x)
    except Exception:
        return evaluate(expr, env if x is None else {**env, "x": x})


def _compile(expr: Expr) -> Fast:
    match expr:
        case Num(value=value):
            v = to_float(value)
            return lambda env, x: v
        case Name(id="x"):
            return lambda env, x: float(env["x"]) if x is None else x
        case Name(id=ident):
            return lambda env, x: float(env[ident])
        case Neg(operand=operand):
            f = _compile(operand)
            return lambda env, x: -f(env, x)
        case BinOp(op="^", left=left, right=right):
            return _power(_compile(left), _compile(right))
        case BinOp(op=op, left=left, right=right) if op in _ARITH:
            fn, a, b = _ARITH[op], _compile(left), _compile(right)
            return lambda env, x: fn(a(env, x), b(env, x))
        case Call(func=func, args=args) if func in FLOAT_FUNCS:
            call, parts = FLOAT_FUNCS[func], [_compile(a) for a in args]
            return lambda env, x: float(call([p(env, x) for p in parts]))
    return _always_slow


def _power(a: Fast, b: Fast) -> Fast:
    def power(env: Mapping[str, float], x: float | None) -> float:
        result = a(env, x) ** b(env, x)
        if isinstance(result, complex):
            raise _Slow
        return float(result)

    return power


def _always_slow(env: Mapping[str, float], x: float | None) -> float:
    raise _Slow

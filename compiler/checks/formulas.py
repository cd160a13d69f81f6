"""Formulas: the names and functions a formula uses, and its value, with a diagnostic for each
reason it has none (an unknown name, a wrong arity, an overflow, a division by zero, ...)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from aalp import codes
from aalp.checks.context import Context, at
from aalp.checks.values import at_x
from aalp.front.expr import (
    ARITY,
    EvalError,
    Number,
    Overflow,
    depth,
    evaluate_exact,
    iter_calls,
    iter_names,
)
from aalp.front.ir import FUNCTIONS, Expr, Span
from aalp.suggest import did_you_mean

# Formulas nested deeper than this are refused (they are never meant, and later passes recurse).
MAX_DEPTH = 200

# The names a reduce op's formulas may use beside x (docs/language.md §2), and the values they
# are checked at: the smallest tree node (fan-in 2, at level 1, alone on its level).
NODE_NAMES: dict[str, str] = {
    "fanin": "the fan-in of the reduce",
    "level": "the level of the reduce node",
    "calls": "the calls at the node's level",
}
NODE_VALUES: dict[str, int] = {"fanin": 2, "level": 1, "calls": 1}


def formula_ok(
    c: Context,
    expr: Expr,
    scope: Mapping[str, str],
    fallback: Span,
    what: str,
    *,
    x_hint: str = "",
) -> bool:
    """Report unknown names and functions in ``expr``; True if it can be evaluated.

    ``scope`` maps each name allowed here to what it is (for messages).
    """
    if depth(expr) > MAX_DEPTH:
        c.error(
            codes.TOO_DEEP,
            f"the formula for {what} is nested more than {MAX_DEPTH} levels deep",
            at(expr, fallback),
            "simplify the formula or introduce parameters for its parts",
        )
        return False
    ok = _calls_ok(c, expr, fallback)
    for ref in iter_names(expr):
        span = at(ref, fallback)
        if ref.id in scope:
            c.used.add(ref.id)
            if ref.id in c.broken:
                ok = False
            continue
        ok = False
        if ref.id == "x":
            c.error(
                codes.X_WITHOUT_GRANULARITY,
                f"'x' is used in {what}, but there is no granularity here",
                span,
                x_hint or "'x' exists only inside an op declared as op NAME(x of DATA)",
            )
        elif ref.id in NODE_NAMES:
            c.error(
                codes.UNKNOWN_NAME,
                f"unknown name '{ref.id}' in {what}",
                span,
                f"'{ref.id}' is {NODE_NAMES[ref.id]}: it exists only in the formulas of an op"
                " that reduce stages alone run",
            )
        else:
            c.error(
                codes.UNKNOWN_NAME,
                f"unknown name '{ref.id}' in {what}",
                span,
                did_you_mean(ref.id, scope, "name"),
            )
    return ok


def _calls_ok(c: Context, expr: Expr, fallback: Span) -> bool:
    """Report unknown functions and calls with the wrong number of arguments."""
    ok = True
    for call in iter_calls(expr):
        span = at(call, fallback)
        if call.func not in ARITY:
            c.error(
                codes.UNKNOWN_FUNCTION,
                f"unknown function '{call.func}'",
                span,
                did_you_mean(call.func, FUNCTIONS, "function"),
            )
            ok = False
            continue
        lo, hi = ARITY[call.func]
        if not lo <= len(call.args) <= hi:
            want = str(lo) if lo == hi else f"{lo} or {hi}" if hi - lo == 1 else f"{lo} or more"
            c.error(
                codes.BAD_ARITY,
                f"{call.func}() takes {want} argument{'s' if want != '1' else ''}, "
                f"got {len(call.args)}",
                span,
            )
            ok = False
    return ok


def value(
    c: Context,
    expr: Expr,
    scope: Mapping[str, str],
    fallback: Span,
    what: str,
    extra: Mapping[str, Number] | None = None,
    *,
    x_hint: str = "",
) -> Number | None:
    """Check and evaluate ``expr``; None (after reporting why, if it is the formula's fault)
    when it has no value."""
    if not formula_ok(c, expr, scope, fallback, what, x_hint=x_hint):
        return None
    env = {**c.env, **(extra or {})}
    try:
        result = evaluate_exact(expr, env, finite=True)
    except Overflow as err:
        c.error(
            codes.OVERFLOW,
            f"{err} (in {what})",
            at(err.node, at(expr, fallback)),
            "values must stay below about 1.8e308: use smaller numbers, or rewrite the "
            "formula (exp(-a) rather than 1/exp(a))",
        )
        return None
    except EvalError as err:
        if any(ref.id in c.broken for ref in iter_names(expr)):
            return None
        c.error(
            codes.EVAL_FAILED,
            f"cannot evaluate {what}: {err}",
            at(err.node, at(expr, fallback)),
            "check the formula's values for this parameter setting",
        )
        return None
    return result


def at_points(
    c: Context,
    expr: Expr,
    scope: Mapping[str, str],
    span: Span,
    what: str,
    points: list[Number] | None,
    x_hint: str = "",
    calls_of: Callable[[Number | None], Number] | None = None,
) -> list[tuple[Number | None, Number]]:
    """``expr`` evaluated at each x in ``points`` (once, without x, if ``points`` is [] or the
    formula has no x); ``calls_of(x)`` gives the value of ``calls`` where the formula may use
    it. None for ``points`` means the range of x is unknown: a formula in x is not evaluated."""
    if not formula_ok(c, expr, scope, span, what, x_hint=x_hint):
        return []
    uses_x = any(ref.id in ("x", "calls") for ref in iter_names(expr))
    node = {k: v for k, v in NODE_VALUES.items() if scope.get(k) == NODE_NAMES[k]}
    if points is None:
        if uses_x:
            return []
        points = []
    out: list[tuple[Number | None, Number]] = []
    for x in points if (points and uses_x) else [None]:
        env: dict[str, Number] = {**node, **({} if x is None else {"x": x})}
        if calls_of is not None:
            env["calls"] = calls_of(x)
        val = value(c, expr, scope, span, what + at_x(x), env)
        if val is None:
            return out
        out.append((x, val))
    return out

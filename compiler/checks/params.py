"""Parameters and data: each parameter a formula of the ones declared before it, each data set
a positive whole count of units of a positive size in tokens. Their values go into ``c.env``."""

from __future__ import annotations

from fractions import Fraction

from aalp import codes
from aalp.checks.context import Context, at
from aalp.checks.formulas import value
from aalp.checks.overrides import override_value
from aalp.checks.values import finite, fmt_number, is_int
from aalp.front.expr import Number, iter_names
from aalp.front.ir import Data, Expr, Param


def check_params(c: Context, values: dict[str, Expr]) -> None:
    """Evaluate every parameter (``values``: its formula after ``-D`` overrides) in order, and
    set ``c.param_scope`` to the names a formula may use outside a task."""
    declared = {p.name: p for p in c.spec.params}
    data_names = {d.name: t.name for t in c.spec.tasks for d in t.data}
    scope: dict[str, str] = {}
    for param in c.spec.params:
        if param.name in scope:
            continue  # a duplicate, already reported
        expr = values[param.name]
        overridden = param.name in c.overridden
        if not overridden and not _refs_ok(c, param, expr, declared, data_names, scope):
            c.broken.add(param.name)
            scope[param.name] = "parameter"
            continue
        if overridden:
            result = override_value(c, param.name, expr, scope)
        else:
            result = value(c, expr, scope, param.span, f"parameter '{param.name}'")
        scope[param.name] = "parameter"
        if result is None:
            c.broken.add(param.name)
        else:
            c.env[param.name] = result
    c.param_scope = scope


def _refs_ok(
    c: Context,
    param: Param,
    expr: Expr,
    declared: dict[str, Param],
    data_names: dict[str, str],
    scope: dict[str, str],
) -> bool:
    """Report a parameter that uses itself, a later parameter or a task's data."""
    ok = True
    for ref in iter_names(expr):
        span = at(ref, param.span)
        if ref.id == param.name:
            c.error(
                codes.PARAM_CYCLE,
                f"parameter '{param.name}' is defined in terms of itself",
                span,
                "give it a value that does not use its own name",
            )
            ok = False
        elif ref.id in declared and ref.id not in scope:
            later = declared[ref.id]
            where = f" on line {later.span.line}" if later.span.line else ""
            c.error(
                codes.PARAM_ORDER,
                f"parameter '{param.name}' uses '{ref.id}', which is declared later{where}",
                span,
                f"declare '{ref.id}' before '{param.name}'",
            )
            ok = False
        elif ref.id in data_names:
            c.error(
                codes.UNKNOWN_NAME,
                f"parameter '{param.name}' uses '{ref.id}', the data of task "
                f"'{data_names[ref.id]}'",
                span,
                "parameters may use only parameters declared before them",
            )
            ok = False
    return ok


def check_data(c: Context) -> None:
    """Evaluate the size of every task's data."""
    for task in c.spec.tasks:
        scope = dict(c.param_scope)
        for datum in task.data:
            if datum.name in scope:
                continue  # a duplicate, already reported
            count = _count(c, datum, scope)
            scope[datum.name] = f"data of task '{task.name}'"
            if count is None:
                c.broken.add(datum.name)
            else:
                c.env[datum.name] = count


def _count(c: Context, datum: Data, scope: dict[str, str]) -> Number | None:
    """The number of units of ``datum``; None, after reporting why, when it has none."""
    what = f"the size of data '{datum.name}'"
    count = value(c, datum.count, scope, datum.span, what)
    if count is not None and (count < 1 or not is_int(count)):
        c.error(
            codes.NOT_A_COUNT,
            f"{what} must be a positive whole number, but it is {fmt_number(count)}",
            at(datum.count, datum.span),
            "a count of items or steps: 1, 2, 3, ...",
        )
        count = None
    if datum.tokens is None:
        return count
    tokens = value(c, datum.tokens, scope, datum.span, f"the tokens of '{datum.name}'")
    if tokens is not None and not tokens > 0:
        c.error(
            codes.NOT_POSITIVE,
            f"data '{datum.name}' has {fmt_number(tokens)} tokens per unit; it must be positive",
            at(datum.tokens, datum.span),
            "write the size of one unit in tokens, e.g. 'of 500 tokens'",
        )
    elif tokens is not None and count is not None and not finite(count * tokens):
        total = Fraction(count) * Fraction(tokens)  # exact, for the message
        c.error(
            codes.OVERFLOW,
            f"data '{datum.name}' holds {fmt_number(count)} units of {fmt_number(tokens)} "
            f"tokens: {fmt_number(total)} tokens in all is too large to compute",
            datum.span,
            "the tokens of a data set must stay below about 1.8e308",
        )
        count = None
    return count

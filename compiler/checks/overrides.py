"""``-D NAME=VALUE`` overrides: each names a parameter and gives a formula of the parameters
declared before it. Their problems are the command line's, not the spec's (``UsageError``)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction

from aalp import codes
from aalp.checks.context import COMMAND_LINE, Context
from aalp.checks.formulas import formula_ok
from aalp.diagnostics import Diagnostic, SpecError, UsageError
from aalp.front.expr import EvalError, Number, evaluate_exact, iter_names
from aalp.front.ir import BinOp, Call, Expr, Name, Neg, Num
from aalp.suggest import did_you_mean


def apply_overrides(c: Context, overrides: Mapping[str, object]) -> dict[str, Expr]:
    """The parameters' formulas with overrides substituted (the overridden ones are kept in
    ``c.overridden``); raise ``UsageError`` on a bad override (an unknown name, a value that is
    not a formula, a formula of a later parameter)."""
    values: dict[str, Expr] = {}
    for param in c.spec.params:
        values.setdefault(param.name, param.value)
    order = [p.name for p in c.spec.params]
    problems: list[Diagnostic] = []

    def usage(code: str, message: str, hint: str = "") -> None:
        problems.append(Diagnostic("error", code, message, COMMAND_LINE, hint))

    for name in sorted(overrides):
        raw = overrides[name]
        if name not in values:
            usage(
                codes.UNKNOWN_OVERRIDE,
                f"-D {name}=...: the spec has no parameter '{name}'",
                did_you_mean(name, values, "parameter"),
            )
            continue
        expr, why = _as_expr(raw)
        if expr is None:
            usage(
                codes.BAD_OVERRIDE,
                f"-D {name}={raw}: the value is not a formula" + (f" ({why})" if why else ""),
                "write a number or a formula of earlier parameters, e.g. -D n=1M",
            )
            continue
        earlier = set(order[: order.index(name)])
        for ref in iter_names(expr):
            if ref.id not in earlier:
                usage(
                    codes.BAD_OVERRIDE,
                    f"-D {name}={raw}: '{ref.id}' is not a parameter declared before '{name}'",
                    "an override may use only parameters declared before the one it sets",
                )
                break
        else:
            values[name] = expr
            c.overridden[name] = expr
            c.override_text[name] = str(raw)
    if problems:
        raise UsageError(problems)
    return values


def override_value(c: Context, name: str, expr: Expr, scope: Mapping[str, str]) -> Number | None:
    """The value of ``-D name=expr``; None, with a usage diagnostic in ``c.usage``, if it has
    none (the formula is on the command line: no place in the spec to point at)."""
    if not formula_ok(c, expr, scope, COMMAND_LINE, f"-D {name}"):
        return None
    try:
        return evaluate_exact(expr, c.env, finite=True)
    except EvalError as err:
        if any(ref.id in c.broken for ref in iter_names(expr)):
            return None
        raw = c.override_text.get(name, "...")
        c.usage.append(
            Diagnostic(
                "error",
                codes.BAD_OVERRIDE,
                f"-D {name}={raw}: the value cannot be computed: {err}",
                COMMAND_LINE,
                "give a value that is a finite number, e.g. -D n=1M",
            )
        )
        return None


def _as_expr(raw: object) -> tuple[Expr | None, str]:
    """An override value as a formula (text is parsed, numbers become literals), or None and
    why not."""
    if isinstance(raw, Num | Name | BinOp | Neg | Call):
        return raw, ""
    match raw:
        case bool():
            return None, "a truth value"
        case int() | Fraction():
            return Num(Fraction(raw), str(raw)), ""
        case float() if math.isfinite(raw):
            return Num(Fraction(raw), repr(raw)), ""
        case str():
            from aalp.front.parser import (
                parse_expr,  # the parser is only needed for textual overrides
            )

            try:
                return parse_expr(raw.strip()), ""
            except SpecError as err:
                return None, err.diagnostics[0].message if err.diagnostics else ""
            except Exception:  # a parser bug must not hide the usage error behind a traceback
                return None, ""
    return None, ""

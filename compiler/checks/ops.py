"""Ops: token counts, success probabilities (plain, per model, mixtures), the rival and the red
flags, each formula evaluated at both ends of the op's x range."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from aalp import codes
from aalp.checks.context import TaskContext, at, node_op
from aalp.checks.formulas import NODE_NAMES, at_points
from aalp.checks.models import check_op_models
from aalp.checks.ranges import x_points
from aalp.checks.values import at_x, fmt_number, probability_hint
from aalp.checks.windows import check_fits
from aalp.front.expr import Number
from aalp.front.ir import Op, Outcome, RedFlag, Span
from aalp.suggest import did_you_mean


def check_ops(t: TaskContext) -> None:
    for op in t.ops.values():
        check_op(t, op)


def check_op(t: TaskContext, op: Op) -> None:
    check_op_models(t, op)
    if op.granularity is not None and op.granularity.var != "x":
        return  # reported: its formulas name another variable, so checking them is noise
    scope = {**t.scope, "x": "granularity"} if op.name in t.xrange else t.scope
    if node_op(t, op.name):
        scope = {**scope, **NODE_NAMES}
    points = x_points(t, op)
    _check_tokens(t, op, scope, points)
    _check_success(t, op, scope, points)
    _check_rival(t, op, scope, points)
    if op.red_flag is not None:
        _check_red_flag(t, op, op.red_flag, scope, points)
    check_fits(t, op, points)


def _x_hint(op: Op) -> str:
    return f"declare a granularity: op {op.name}(x of DATA)"


def _check_tokens(
    t: TaskContext, op: Op, scope: Mapping[str, str], points: list[Number] | None
) -> None:
    span = t.span(op)
    for label, expr in (("reads", op.reads), ("writes", op.writes)):
        what = f"'{label}' of '{op.name}'"
        for x, val in at_points(t.c, expr, scope, span, what, points, _x_hint(op)):
            if val < 0:
                t.c.error(
                    codes.NEGATIVE_TOKENS,
                    f"op '{op.name}' {label} {fmt_number(val)} tokens{at_x(x)}",
                    at(expr, span),
                    "token counts cannot be negative",
                )
                break


def _check_success(
    t: TaskContext, op: Op, scope: Mapping[str, str], points: list[Number] | None
) -> None:
    span = t.span(op)
    hint = _x_hint(op)
    check_outcomes(t, op.success, f"the success of '{op.name}'", scope, span, points, hint)
    models = {m.name for m in t.c.spec.models}
    for per in op.success_on:
        pspan = at(per, span)
        if per.model not in models:
            t.c.error(
                codes.UNKNOWN_MODEL,
                f"unknown model '{per.model}' in the success of '{op.name}'",
                pspan,
                did_you_mean(per.model, models, "model"),
            )
        elif per.model not in op.models:
            t.c.error(
                codes.NOT_OPS_MODEL,
                f"op '{op.name}' gives a success on '{per.model}', which is not one of its models",
                pspan,
                f"add '{per.model}' to the op's models or remove this line",
            )
        what = f"the success of '{op.name}' on '{per.model}'"
        check_outcomes(t, per.outcomes, what, scope, pspan, points, hint)


def _check_rival(
    t: TaskContext, op: Op, scope: Mapping[str, str], points: list[Number] | None
) -> None:
    if op.rival is None:
        return
    span = t.span(op)
    what = f"the rival of '{op.name}'"
    for x, val in at_points(t.c, op.rival, scope, span, what, points, _x_hint(op)):
        if not 0 <= val <= 1:
            t.c.error(
                codes.NOT_PROBABILITY,
                f"the rival of '{op.name}' is {fmt_number(val)}{at_x(x)}; "
                "it must be a probability in [0, 1]",
                at(op.rival, span),
                "the rival is the probability of the most common wrong answer",
            )
            break


def _check_red_flag(
    t: TaskContext,
    op: Op,
    flag: RedFlag,
    scope: Mapping[str, str],
    points: list[Number] | None,
) -> None:
    fspan = at(flag, t.span(op))
    hint = _x_hint(op)
    if flag.max_writes is not None:
        what = f"the red flag of '{op.name}'"
        for x, val in at_points(t.c, flag.max_writes, scope, fspan, what, points, hint):
            if not val > 0:
                t.c.error(
                    codes.NOT_POSITIVE,
                    f"the red flag of '{op.name}' allows {fmt_number(val)} tokens"
                    f"{at_x(x)}; it must be positive",
                    at(flag.max_writes, fspan),
                    "the red flag discards responses longer than this many tokens",
                )
                break
    if flag.keep is not None:
        what = f"the keep rate of '{op.name}'"
        for x, val in at_points(t.c, flag.keep, scope, fspan, what, points, hint):
            if not 0 < val <= 1:
                t.c.error(
                    codes.BAD_KEEP,
                    f"the keep rate of '{op.name}' is {fmt_number(val)}{at_x(x)}; it "
                    "must be in (0, 1]",
                    at(flag.keep, fspan),
                    "keep is the fraction of responses that pass the red flags",
                )
                break


def check_outcomes(
    t: TaskContext,
    outcomes: Iterable[Outcome],
    what: str,
    scope: Mapping[str, str],
    span: Span,
    points: list[Number] | None,
    hint: str,
) -> None:
    """A success: each outcome's probability in [0, 1] and, for a mixture, weights that are
    probabilities adding up to 1."""
    outcomes = tuple(outcomes)
    weights: list[Number] = []
    for outcome in outcomes:
        ospan = at(outcome, span)
        for x, val in at_points(t.c, outcome.p, scope, ospan, what, points, hint):
            if not 0 <= val <= 1:
                t.c.error(
                    codes.NOT_PROBABILITY,
                    f"{what} is {fmt_number(val)}{at_x(x)}; it must be a probability in [0, 1]",
                    at(outcome.p, ospan),
                    probability_hint(outcome.p, x),
                )
                break
        if len(outcomes) > 1:
            weight = _weight(t, outcome, what, ospan)
            if weight is None:
                weights = []
                break
            weights.append(weight)
    if len(outcomes) > 1 and len(weights) == len(outcomes):
        total = sum(weights)
        if not math.isclose(float(total), 1.0, rel_tol=0, abs_tol=1e-9):
            t.c.error(
                codes.BAD_MIXTURE,
                f"the weights in {what} add up to {fmt_number(total)}, not 1",
                at(outcomes[0], span),
                "a mixture's weights are the shares of each kind of input",
            )


def _weight(t: TaskContext, outcome: Outcome, what: str, span: Span) -> Number | None:
    """The weight of one outcome of a mixture (reported if not a probability); None when it
    has no value."""
    got = at_points(t.c, outcome.weight, t.scope, span, f"a weight in {what}", [])
    if not got:
        return None
    w = got[0][1]
    if not 0 <= w <= 1:
        t.c.error(
            codes.NOT_PROBABILITY,
            f"a weight in {what} is {fmt_number(w)}; weights are probabilities in [0, 1]",
            at(outcome.weight, span),
        )
    return w

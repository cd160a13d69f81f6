"""Boosters: votes and retries allowed on ops that exist, each at most once per op, with
maxima in range and a verifier that is not the op it verifies."""

from __future__ import annotations

from aalp import codes
from aalp.checks.context import TaskContext, at
from aalp.checks.expand import check_expand
from aalp.checks.formulas import value
from aalp.checks.judge import check_judge, check_text_votes
from aalp.checks.names import op_ref
from aalp.checks.values import fmt_number, is_int
from aalp.front.ir import Booster, ExpandBooster, Expr, RetryBooster, Span, VoteBooster


def check_boosters(t: TaskContext) -> None:
    seen: dict[tuple[str, str, str], Booster] = {}
    for booster in t.task.boosters:
        span = t.span(booster)
        _check_once(t, booster, span, seen)
        if isinstance(booster, ExpandBooster):
            check_expand(t, booster, span)
            continue
        for name in booster.ops:
            op_ref(t, name, span, "'allow ... on'")
        if isinstance(booster, VoteBooster) and booster.kind == "judge":
            check_judge(t, booster, span)
        match booster:
            case VoteBooster(max=mx) if mx is not None:
                _check_max(
                    t,
                    mx,
                    span,
                    "vote",
                    codes.BAD_VOTE_MAX,
                    "max bounds the votes the optimizer may choose: 1, 2, 3, ...",
                )
            case RetryBooster():
                _check_retry(t, booster, span)
    check_text_votes(t)


def _check_once(
    t: TaskContext, booster: Booster, span: Span, seen: dict[tuple[str, str, str], Booster]
) -> None:
    """Report an op allowed the same vote kind, or a retry with the same check, twice."""
    kind = "retry" if isinstance(booster, RetryBooster) else booster.kind
    check = booster.check if isinstance(booster, RetryBooster) else ""
    for op in booster.ops or tuple(t.ops):
        key = (op, kind, check)
        if key in seen and seen[key] is not booster:
            what = f"retry until {check}" if check else f"vote {kind}"
            t.c.error(
                codes.DUPLICATE,
                f"op '{op}' is allowed '{what}' twice",
                span,
                f"the first is at line {t.span(seen[key]).line}: keep one (with the larger max)",
            )
            break
        seen.setdefault(key, booster)


def _check_retry(t: TaskContext, booster: RetryBooster, span: Span) -> None:
    chk = booster.check
    known = chk == "exact" or op_ref(t, chk, span, "'allow retry until'")
    if known and chk in booster.ops:
        t.c.error(
            codes.BAD_ROUTE,
            f"op '{chk}' cannot verify itself",
            span,
            "use a separate verifier op or 'until exact'",
        )
    if booster.max is not None:
        _check_max(
            t,
            booster.max,
            span,
            "retry",
            codes.NOT_A_COUNT,
            "max bounds the tries per decision; omit it for unbounded retries",
        )


def _check_max(t: TaskContext, mx: Expr, span: Span, kind: str, code: str, hint: str) -> None:
    """The ``max`` of a ``kind`` booster: a whole number of at least 1."""
    val = value(t.c, mx, t.scope, span, f"the {kind} maximum")
    if val is not None and (val < 1 or not is_int(val)):
        t.c.error(
            code,
            f"the {kind} maximum is {fmt_number(val)}; it must be a whole number of at least 1",
            at(mx, span),
            hint,
        )

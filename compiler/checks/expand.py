"""Beam searches (``expand OP by SCORE width b keep w depth d``): the ops exist and differ,
and the width, keep and depth are whole numbers small enough for the exact model."""

from __future__ import annotations

from aalp import codes
from aalp.checks.context import TaskContext, at
from aalp.checks.formulas import value
from aalp.checks.names import op_ref
from aalp.checks.values import fmt_number, is_int
from aalp.front.ir import BEAM_MAX_CANDIDATES as MAX_CANDIDATES
from aalp.front.ir import ExpandBooster, Expr, Span


def check_expand(t: TaskContext, booster: ExpandBooster, span: Span) -> None:
    known = op_ref(t, booster.op, span, "'expand'")
    scorer = op_ref(t, booster.scorer, span, "'expand ... by'")
    if known and scorer and booster.op == booster.scorer:
        t.c.error(
            codes.BAD_EXPAND,
            f"op '{booster.op}' cannot score its own candidates",
            span,
            "name a separate scoring op after 'by'",
        )
    width = None if booster.width is None else _count(t, booster.width, span, "width")
    keep = _count(t, booster.keep, span, "keep")
    _count(t, booster.depth, span, "depth")
    if keep is not None and (width or 1) * keep > MAX_CANDIDATES:
        t.c.error(
            codes.BAD_EXPAND,
            f"a beam of width {fmt_number(width or 1)} keeping {fmt_number(keep)} has more than "
            f"{MAX_CANDIDATES} candidates a level, beyond the exact model",
            span,
            "keep fewer nodes or expand fewer candidates per node",
        )


def _count(t: TaskContext, expr: Expr, span: Span, what: str):
    """A whole number of at least 1 (None when it cannot be evaluated, already reported)."""
    val = value(t.c, expr, t.scope, span, f"the beam's {what}")
    if val is None:
        return None
    if val < 1 or not is_int(val):
        t.c.error(
            codes.BAD_EXPAND,
            f"the beam's {what} is {fmt_number(val)}; it must be a whole number of at least 1",
            at(expr, span),
            "width, keep and depth count candidates, nodes and levels",
        )
        return None
    return int(val)

"""The range of each op's ``x`` (the units one call handles): the granularity named ``x`` over
data of the task, capped by ``upto``; an op a reduce stage runs has x over the reduced data."""

from __future__ import annotations

from fractions import Fraction

from aalp import codes
from aalp.checks.context import TaskContext, at
from aalp.checks.formulas import value
from aalp.checks.names import data_ref
from aalp.checks.values import fmt_number, is_int
from aalp.front.expr import Number
from aalp.front.ir import ChainStage, Granularity, MapStage, Op, ReduceStage


def compute_x_ranges(t: TaskContext) -> None:
    """Fill ``t.xrange``: each op's range of x, 1..count of its granularity data (or
    ``upto``); for an op a reduce stage runs, 1..count of the data the tree is built over."""
    prev_over: str | None = None
    reduce_over: dict[str, str] = {}
    for stage in t.task.stages:
        match stage:
            case MapStage(over=over) | ChainStage(over=over):
                prev_over = over
            case ReduceStage(op=op) if prev_over is not None:
                reduce_over.setdefault(op, prev_over)
    for op in t.ops.values():
        gran = op.granularity
        if gran is not None:
            if not _granularity_ok(t, op, gran):
                t.xrange[op.name] = None
                continue
            hi = _largest_x(t, op, gran)
        elif op.name in reduce_over:
            hi = t.c.env.get(reduce_over[op.name])
        else:
            continue  # no x for this op
        t.xrange[op.name] = None if hi is None else (Fraction(1), hi)


def _granularity_ok(t: TaskContext, op: Op, gran: Granularity) -> bool:
    """Report a granularity not called x; False if its data is unknown."""
    if gran.var != "x":
        t.c.error(
            codes.GRANULARITY_NAME,
            f"the granularity of '{op.name}' is called '{gran.var}'; it must be 'x'",
            t.span(gran),
            f"write op {op.name}(x of {gran.data}); formulas use x for the units one call handles",
        )
    return data_ref(t, gran.data, t.span(gran), f"the granularity of '{op.name}'")


def _largest_x(t: TaskContext, op: Op, gran: Granularity) -> Number | None:
    hi = t.c.env.get(gran.data)
    if gran.upto is None:
        return hi
    upto = value(t.c, gran.upto, t.scope, t.span(gran), f"the 'upto' bound of '{op.name}'")
    if upto is not None and (upto < 1 or not is_int(upto)):
        t.c.error(
            codes.NOT_A_COUNT,
            f"the 'upto' bound of '{op.name}' must be a positive whole number, "
            f"but it is {fmt_number(upto)}",
            at(gran.upto, t.span(gran)),
            "upto caps the units one call may handle",
        )
        upto = None
    if upto is not None:
        hi = upto if hi is None else min(hi, upto)
    return hi


def x_points(t: TaskContext, op: Op) -> list[Number] | None:
    """The ends of ``op``'s x range, [] if it has no x, None if the range is unknown."""
    if op.name not in t.xrange:
        return []
    rng = t.xrange[op.name]
    if rng is None:
        return None
    lo, hi = rng
    return [lo] if hi == lo else [lo, hi]

"""Stages: what runs (map, chain, reduce, combine, route), over data that exists, with
overlaps, fan-ins and stage successes in range."""

from __future__ import annotations

from aalp import codes
from aalp.checks.context import TaskContext, at
from aalp.checks.formulas import at_points, value
from aalp.checks.names import data_ref, op_ref
from aalp.checks.ranges import x_points
from aalp.checks.values import at_x, chunks, fmt_number, is_int, probability_hint
from aalp.front.expr import Number, iter_names
from aalp.front.ir import (
    COMBINES,
    ChainStage,
    CombineStage,
    Expr,
    MapStage,
    Op,
    ReduceStage,
    RouteStage,
    Span,
)
from aalp.suggest import did_you_mean


def check_stages(t: TaskContext) -> None:
    if not t.task.stages:
        t.c.error(
            codes.NO_STAGES,
            f"task '{t.task.name}' has no stages, so nothing runs",
            t.span(t.task),
            "add a stage such as 'map OP over DATA' or 'chain OP over STEPS'",
        )
    previous = False  # a map, chain or combine stage came before
    for stage in t.task.stages:
        span = t.span(stage)
        match stage:
            case MapStage(ops=ops, over=over) | ChainStage(ops=ops, over=over):
                kind = "map" if isinstance(stage, MapStage) else "chain"
                for name in ops:
                    op_ref(t, name, span, f"'{kind}'")
                data_ref(t, over, span, f"'{kind}'")
                if isinstance(stage, MapStage):
                    _check_map(t, stage, span)
                previous = True
            case ReduceStage():
                _check_reduce(t, stage, span, previous)
            case RouteStage():
                _check_route(t, stage, span)
            case CombineStage(how=how):
                if how not in COMBINES:
                    known = ", ".join(f"'{k}'" for k in COMBINES)
                    t.c.error(
                        codes.UNKNOWN_COMBINE,
                        f"unknown combine '{how}'; it is one of {known}",
                        span,
                        did_you_mean(how, COMBINES, "combine"),
                    )
                previous = True


def _check_reduce(t: TaskContext, stage: ReduceStage, span: Span, previous: bool) -> None:
    op_ref(t, stage.op, span, "'reduce'")
    if not previous:
        t.c.error(
            codes.REDUCE_FIRST,
            "'reduce' has nothing to reduce: no map or chain stage comes before it",
            span,
            "put a 'map OP over DATA' stage before the reduce",
        )
    if stage.fanin is None:
        return
    val = value(t.c, stage.fanin, t.scope, span, "the fan-in")
    if val is not None and (val < 2 or not is_int(val)):
        t.c.error(
            codes.BAD_FANIN,
            f"the fan-in of '{stage.op}' is {fmt_number(val)}; it must be a whole number of "
            "at least 2",
            at(stage.fanin, span),
            "each node of the reduce tree merges 'fanin' results",
        )


def _check_route(t: TaskContext, stage: RouteStage, span: Span) -> None:
    op, cls = stage.op, stage.classifier
    ok = op_ref(t, op, span, "'route'")
    ok = op_ref(t, cls, span, "'route ... by'") and ok
    if ok and op == cls:
        t.c.error(
            codes.BAD_ROUTE,
            f"op '{op}' cannot be its own classifier",
            span,
            "route it by a separate, cheaper classifier op",
        )
    elif ok and not _runs(t, op):
        t.c.error(
            codes.BAD_ROUTE,
            f"'route {op}' routes an op that no map, chain or reduce stage runs",
            span,
            f"add a stage that runs '{op}'",
        )


def _runs(t: TaskContext, name: str) -> bool:
    """True if a map, chain or reduce stage runs op ``name``."""
    for stage in t.task.stages:
        match stage:
            case MapStage(ops=ops) | ChainStage(ops=ops) if name in ops:
                return True
            case ReduceStage(op=op) if op == name:
                return True
    return False


def _check_map(t: TaskContext, stage: MapStage, span: Span) -> None:
    if stage.overlap is not None:
        val = value(t.c, stage.overlap, t.scope, span, "the overlap")
        if val is not None and not 0 <= val < 1:
            t.c.error(
                codes.BAD_OVERLAP,
                f"the overlap is {fmt_number(val)}; it must be in [0, 1)",
                at(stage.overlap, span),
                "overlap 0.5 makes each window start halfway through the previous one",
            )
    if stage.success is not None:
        _check_map_success(t, stage, stage.success, span)


def _check_map_success(t: TaskContext, stage: MapStage, success: Expr, span: Span) -> None:
    """A map's own ``success``, a formula that may use ``x`` and ``calls``: in [0, 1] at
    both ends of the range of x."""
    # x and calls: of the first op whose granularity is over the stage's data
    op: Op | None = next(
        (
            t.ops[o]
            for o in stage.ops
            if o in t.ops
            and t.ops[o].granularity is not None
            and t.ops[o].granularity.data == stage.over
        ),
        None,
    )
    scope = {**t.scope, "calls": "the stage's number of calls"}
    count = t.c.env.get(stage.over)
    points: list[Number] | None = []
    if op is not None:
        scope["x"] = "granularity"
        points = x_points(t, op)
    calls_of = None
    if count is not None:

        def calls_of(x: Number | None, n: Number = count) -> Number:
            return n if x is None else chunks(n, x)

    elif "calls" in (ref.id for ref in iter_names(success)):
        return  # the data's size is unknown (already reported)
    for x, val in at_points(
        t.c, success, scope, span, "the stage's success", points, calls_of=calls_of
    ):
        if not 0 <= val <= 1:
            t.c.error(
                codes.NOT_PROBABILITY,
                f"the map's success is {fmt_number(val)}{at_x(x)}; it must be a "
                "probability in [0, 1]",
                at(success, span),
                probability_hint(success, x),
            )
            break

"""Nested stages: the structure of ``map OP over DATA { stage* }`` and ``chain ... { ... }``.

Run on the flat stages of a checked task (``aalp.front.nesting``): a nested stage's data and
ops belong to its block alone (they are per chunk of the enclosing stage), a reduce in a block
merges a stage of that block, per-item accuracy counts items of a top-level stage; and a
warning when a stage written flat looks meant per item (docs/language.md §5.3).
"""

from __future__ import annotations

from aalp import codes
from aalp.checks.context import TaskContext
from aalp.front.expr import iter_names
from aalp.front.ir import (
    ITEM_METRICS,
    ChainStage,
    MapStage,
    ReduceStage,
    Stage,
    stage_ops,
)
from aalp.front.nesting import enclosing, input_stage

# A data of at most this many units, written as a bare number, is "small and constant" for
# the flat-per-item warning.
SMALL = 16


def check_nesting(t: TaskContext) -> None:
    task = t.task
    if not task.within:
        _flat_per_item(t)
        return
    _owners(t, "data")
    _owners(t, "op")
    for i, stage in enumerate(task.stages):
        if (
            isinstance(stage, ReduceStage)
            and enclosing(task, i) is not None
            and input_stage(task, i) is None
        ):
            t.c.error(
                codes.NESTED_REDUCE,
                f"'reduce {stage.op}' is first in its nested block: a reduce merges the outputs"
                " of a map or chain before it in the same block",
                t.span(stage),
                "put a map or chain before it inside the braces, or move the reduce after the"
                " enclosing stage's block",
            )
    nested_data = {
        s.over for i, s in enumerate(task.stages) if enclosing(task, i) is not None and _over(s)
    }
    for req in task.requirements:
        if req.metric in ITEM_METRICS and req.data in nested_data:
            t.c.error(
                codes.NESTED_ITEMS,
                f"'require {req.metric} of {req.data}' counts the units of a nested stage's"
                " data, which exist once per chunk of the enclosing stage",
                t.span(req),
                "count the items of a top-level stage: an item is right when its whole inner"
                " pipeline is right",
            )


def _over(stage: Stage) -> bool:
    return isinstance(stage, MapStage | ChainStage)


def _owners(t: TaskContext, what: str) -> None:
    """Each data (or op) used by a nested stage is used in that block only: report one used by
    stages of two different blocks (a block is the list of stages directly inside one stage,
    or the top level)."""
    task = t.task
    first: dict[str, tuple[int | None, int]] = {}
    for i, stage in enumerate(task.stages):
        block = enclosing(task, i)
        names = ((stage.over,) if _over(stage) else ()) if what == "data" else stage_ops(stage)
        for name in names:
            if name not in first:
                first[name] = (block, i)
                continue
            other, j = first[name]
            if other == block or (other is None and block is None):
                continue
            # the enclosing stage's own ops and data are outside its block too
            _report(t, what, name, stage, task.stages[j])
            first[name] = (block, i)  # report each further mix once


def _report(t: TaskContext, what: str, name: str, stage: Stage, other: Stage) -> None:
    line = t.span(other).line
    if what == "data":
        t.c.error(
            codes.NESTED_DATA,
            f"data '{name}' is used inside a nested block and outside it (also on line {line}):"
            " a nested stage's data exists once per chunk of the enclosing stage",
            t.span(stage),
            f"declare a separate data for the per-chunk units, e.g. 'items {name}_each = ...'",
        )
    else:
        t.c.error(
            codes.NESTED_OP,
            f"op '{name}' runs inside a nested block and outside it (also on line {line}):"
            " its decisions are chosen once for the block",
            t.span(stage),
            "declare a second op for the other use",
        )


def _flat_per_item(t: TaskContext) -> None:
    """W420: a later top-level map or chain over a data whose size is a bare number of at most
    ``SMALL`` units, after a map over a data whose size names a parameter: written flat, the
    stage runs that many times in all, not per item of the earlier map."""
    task = t.task
    many: MapStage | None = None
    for stage in task.stages:
        if not _over(stage):
            continue
        datum = t.data.get(stage.over)
        if datum is None:
            continue
        scales = any(True for _ in iter_names(datum.count))
        if isinstance(stage, MapStage) and scales and many is None:
            many = stage
            continue
        if many is None or scales or stage.over == many.over:
            continue
        size = t.c.env.get(stage.over)
        if size is None or size > SMALL:
            continue
        kind = "map" if isinstance(stage, MapStage) else "chain"
        t.c.warn(
            codes.FLAT_PER_ITEM,
            f"'{kind} {', '.join(stage.ops)} over {stage.over}' runs over {stage.over} once in"
            f" all ({size} units), not once per item of '{many.over}'",
            t.span(stage),
            f"if there are {size} {stage.over} per item, nest it: 'map {', '.join(many.ops)}"
            f" over {many.over} {{ {kind} {', '.join(stage.ops)} over {stage.over} }}'",
        )

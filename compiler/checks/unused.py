"""Unused declarations: parameters, models, data and ops nothing uses (warnings, kept only
when the spec has no error: a typo makes the name it meant look unused)."""

from __future__ import annotations

from aalp import codes
from aalp.checks.context import Context, TaskContext
from aalp.diagnostics import has_errors
from aalp.front.ir import ChainStage, MapStage, ReduceStage, RouteStage, checking_op

UNUSED = frozenset({codes.UNUSED_PARAM, codes.UNUSED_MODEL, codes.UNUSED_DATA, codes.UNUSED_OP})


def check_unused_ops(t: TaskContext) -> None:
    used: set[str] = set()
    for stage in t.task.stages:
        match stage:
            case MapStage(ops=ops) | ChainStage(ops=ops):
                used.update(ops)
            case ReduceStage(op=op):
                used.add(op)
            case RouteStage(op=op, classifier=cls):
                used.update((op, cls))
    for booster in t.task.boosters:
        if checking_op(booster) is not None:
            used.add(str(checking_op(booster)))
    for op in t.ops.values():
        if op.name not in used:
            t.c.warn(
                codes.UNUSED_OP,
                f"op '{op.name}' is not used by any stage",
                t.span(op),
                f"run it in a stage (map/chain {op.name} over DATA), or remove it",
            )


def check_unused(c: Context) -> None:
    """Warn about unused parameters, models and data (the ops' warnings are made per task)."""
    for param in c.spec.params:
        if param.name not in c.used and param.name not in c.broken:
            c.warn(
                codes.UNUSED_PARAM,
                f"parameter '{param.name}' is never used",
                param.span,
                "remove it, or use it in a formula",
            )
    listed = {m for task in c.spec.tasks for op in task.ops for m in op.models}
    for model in c.spec.models:
        if model.name not in listed:
            c.warn(
                codes.UNUSED_MODEL,
                f"model '{model.name}' is not listed by any op",
                model.span,
                f"add it to an op's models ('on {model.name}') or remove it",
            )
    for task in c.spec.tasks:
        for datum in task.data:
            if datum.name not in c.used:
                c.warn(
                    codes.UNUSED_DATA,
                    f"data '{datum.name}' of task '{task.name}' is never used",
                    datum.span,
                    "run a stage over it (map/chain OP over NAME) or remove it",
                )


def drop_unused_if_errors(c: Context) -> None:
    """Keep the unused-declaration warnings only when the spec is otherwise correct, so every
    warning is worth reading."""
    if has_errors(c.diags):
        c.diags = [d for d in c.diags if d.code not in UNUSED]

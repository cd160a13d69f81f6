"""``build_plan``: the one function that makes a ``Plan`` of a checked task and its decisions."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from aalp.front.ir import PIN_FIELDS, Task
from aalp.plan.context import Context, build_context
from aalp.plan.decisions import read_choice, read_model, read_x
from aalp.plan.plan import Choice, DecisionError, Expand, Judge, OpPlan, Plan, Retry, StagePlan
from aalp.plan.shape import stage_shape


def build_plan(
    checked: Any, task: Task | str | None = None, decisions: Mapping[str, Any] | None = None
) -> Plan:
    """The plan of ``task`` (default: the first) of ``checked`` under ``decisions``.

    ``checked`` is a checked spec (``spec`` and ``env``) or a ``Context``. A missing or
    malformed decision raises ``DecisionError`` naming it; a decision that makes the plan
    unable to run (an x outside its range, a fan-in below 2) is kept in the stage's
    ``problems``.

    >>> from aalp.checks.loader import load_text
    >>> checked = load_text('''
    ... model m { size 1  context 1M  price in 0 out 0 per Mtok  can sort, merge }
    ... task t {
    ...   items numbers = 10 of 1 tokens
    ...   op sort(x of numbers) on m { reads x tokens  writes x tokens  success 0.99 }
    ...   op merge(x of numbers) on m { reads x tokens  writes x tokens  success 0.99 }
    ...   map sort over numbers
    ...   reduce merge fanin 3
    ... }''')
    >>> plan = build_plan(checked, None, {"sort.x": 3})
    >>> [(s.kind, s.chunks) for s in plan.stages], plan.stages[1].levels
    ([('map', 4), ('reduce', 3)], (Level(nodes=2, x=9), Level(nodes=1, x=10)))
    """
    decisions = decisions or {}
    ctx = checked if isinstance(checked, Context) else build_context(checked, task)
    _refuse_unknown(ctx, decisions)
    stages = tuple(stage_shape(ctx, i, decisions) for i in range(len(ctx.task.stages)))
    ops: dict[str, OpPlan] = {}
    for shape in stages:
        if shape.kind in ("map", "chain", "reduce"):
            for name in shape.ops:
                _add_run(ctx, decisions, shape, name, ops)
    for op in ctx.task.ops:
        if op.name not in ops:
            model = _idle_model(ctx, decisions, op.name)
            ops[op.name] = OpPlan(op.name, "idle", _idle_x(ctx, decisions, op.name), Choice(model))
    ordered = tuple(ops[o.name] for o in ctx.task.ops)
    return Plan(ctx.task.name, stages, ordered, _canonical(decisions))


def _add_run(
    ctx: Context, decisions: Mapping[str, Any], shape: StagePlan, name: str, ops: dict[str, OpPlan]
) -> None:
    x = shape.x_of(name) if shape.kind != "reduce" else _idle_x(ctx, decisions, name)
    choice = read_choice(ctx, decisions, name)
    ops[name] = OpPlan(name, "op", x, choice)
    boost = choice.boost
    if isinstance(boost, Retry) and boost.check != "exact" and choice.verifier_model:
        vm = choice.verifier_model
        ops[boost.check] = OpPlan(boost.check, "verifier", x, Choice(vm))
    if isinstance(boost, Judge) and choice.verifier_model:
        ops[boost.judge] = OpPlan(boost.judge, "judge", x, Choice(choice.verifier_model))
    if isinstance(boost, Expand) and choice.verifier_model:
        ops[boost.scorer] = OpPlan(boost.scorer, "scorer", x, Choice(choice.verifier_model))
    if ctx.routed(name, choice.model):
        cls = ctx.routes[name]
        cc = read_choice(ctx, decisions, cls)
        ops[cls] = OpPlan(cls, "classifier", x, cc)


def _idle_model(ctx: Context, decisions: Mapping[str, Any], op: str) -> str:
    """The model of an op the plan does not run (a router's classifier when no routing is
    needed, a verifier no retry uses): its decision, else the first model that can run it."""
    try:
        return read_model(ctx, decisions, op)
    except DecisionError:
        pass
    candidates = ctx.candidate_models(op)
    if candidates:
        return candidates[0]
    declared = list(ctx.task.op(op).models)
    return declared[0] if declared else next(iter(ctx.models), "")


def _idle_x(ctx: Context, decisions: Mapping[str, Any], op: str) -> int:
    try:
        return read_x(ctx, decisions, op)
    except DecisionError:
        return 1


def _canonical(decisions: Mapping[str, Any]) -> dict[str, int | str]:
    """The decisions as plain JSON values (a word for a name, an int for a whole number)."""
    out: dict[str, int | str] = {}
    for key, value in decisions.items():
        v = getattr(value, "id", value)
        if isinstance(v, Fraction | float) and v == int(v):
            v = int(v)
        out[key] = v if isinstance(v, int | str) and not isinstance(v, bool) else str(v)
    return out


def _refuse_unknown(ctx: Context, decisions: Mapping[str, Any]) -> None:
    """``DecisionError`` for a key that is no decision of the task: not ``OP.FIELD`` of one
    of its ops (``PIN_FIELDS``), nor ``stageN.repeat`` (a repeat's chosen count). A mistyped
    key would otherwise be ignored and its op planned by default."""
    ops = sorted(o.name for o in ctx.task.ops)
    for key in decisions:
        name, _, field = str(key).partition(".")
        if field == "repeat" and name.startswith("stage") and name[5:].isdigit():
            continue
        if name not in ops:
            from aalp.suggest import did_you_mean

            hint = did_you_mean(name, ops, "op")
            raise DecisionError(
                f"decision '{key}': task '{ctx.task.name}' has no op '{name}'; {hint}",
                str(key),
            )
        if field not in PIN_FIELDS:
            raise DecisionError(
                f"decision '{key}': '{field}' is not a decision of an op ({', '.join(PIN_FIELDS)})",
                str(key),
            )

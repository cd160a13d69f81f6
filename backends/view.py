"""The view model of a plan: everything a target's templates read, prepared and JSON-able.

``build_view`` turns a checked spec, one task and its ``Plan`` into plain data: stages with
their chunk counts (read from the plan, never counted again), ops with their model, prompt,
answer format, red flags and booster, and the prediction. Templates never evaluate formulas or
see IR objects; every literal they print comes from ``literals.py_literal`` (``repr``
underneath). The system prompts come from ``aalp.plan.prompts``, which the simulated server
reads too.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from aalp import codes
from aalp.diagnostics import AalpError
from aalp.front import ir
from aalp.front.expr import EvalError, evaluate
from aalp.front.numbers import float_env
from aalp.model.repeat import counts_of
from aalp.model.repeat_choice import chosen, resolve
from aalp.plan.plan import Expand, Judge, OpPlan, Plan, Retry, StagePlan, Vote
from aalp.plan.prompts import PromptFileError, system_prompt

View = dict[str, Any]


class PlanError(AalpError, ValueError):
    """A plan that cannot be emitted (a missing prompt file, an unknown combine, ...)."""

    code = codes.CANNOT_EMIT


def value(expr: ir.Expr, env: Mapping[str, float], what: str) -> float:
    """Evaluate ``expr`` or raise ``PlanError`` naming ``what``."""
    try:
        return evaluate(expr, env)
    except EvalError as err:
        raise PlanError(f"cannot evaluate {what}: {err}") from None


def whole(number: float, what: str) -> int:
    """A count as an int; counts too large to run are refused with a clear message."""
    if not math.isfinite(number) or number > 10**12:
        raise PlanError(f"{what} is {number:g}: too large for a program to run")
    return max(0, math.ceil(number - 1e-9))


def _booster(op: OpPlan) -> dict[str, Any]:
    """A booster as the templates read it: ``kind``, ``votes``, ``retries``, ``check``."""
    b = op.booster
    if isinstance(b, Vote):
        if b.k < 1:
            raise PlanError(f"decision {op.name}.votes must be at least 1")
        if b.kind == "majority" and b.k % 2 == 0:
            raise PlanError(f"decision {op.name}.votes: majority needs an odd K, not {b.k}")
        return {"kind": b.kind, "votes": b.k, "retries": None, "check": None}
    if isinstance(b, Expand):
        return {
            "kind": "expand",
            "votes": b.width,
            "retries": None,
            "check": b.scorer,
            "keep": b.keep,
            "depth": b.depth,
        }
    if isinstance(b, Judge):
        if b.n < 1:
            raise PlanError(f"decision {op.name}.votes must be at least 1")
        return {"kind": "judge", "votes": b.n, "retries": None, "check": b.judge}
    if isinstance(b, Retry) and b.max != 0:
        if b.max is not None:
            whole(b.max, f"decision {op.name}.retries")
        return {"kind": "retry", "votes": None, "retries": b.max, "check": b.check}
    return {"kind": "none", "votes": None, "retries": None, "check": None}


def _success(op: ir.Op, model: str, env: Mapping[str, float]) -> list[list[float]]:
    """The op's success mixture on ``model`` (a model's or a tool's name) at ``env``."""
    outcomes = op.success
    for override in op.success_on:
        if override.model == model:
            outcomes = override.outcomes
    return [
        [value(o.weight, env, f"{op.name} success weight"), value(o.p, env, f"{op.name} success")]
        for o in outcomes
    ]


def _node_env(fanin: Any, level: int, nodes: Any) -> dict[str, float]:
    """A reduce node's names for its op's formulas (docs/language.md §2)."""
    return {"fanin": float(fanin or 2), "level": float(level), "calls": float(nodes)}


def _op_view(
    spec: ir.Spec,
    task: ir.Task,
    planned: OpPlan,
    env: Mapping[str, float],
    spec_dir: str | os.PathLike | None,
) -> dict[str, Any]:
    op = task.op(planned.name)
    tool = spec.tool_of(op)
    if tool is not None:
        return _tool_op_view(spec, task, op, tool, planned, env, spec_dir)
    try:
        model = spec.model(planned.model)
    except StopIteration:
        raise PlanError(f"decision {op.name}.model = {planned.model!r}: no such model") from None
    x = whole(planned.x, f"decision {op.name}.x") if op.granularity else 1
    at_x = {**env, "x": float(x)}
    flag = op.red_flag
    max_writes = None
    if flag is not None and flag.max_writes is not None:
        max_writes = whole(value(flag.max_writes, at_x, f"{op.name} red flag"), "red flag")
    keep = 1.0 if flag is None or flag.keep is None else value(flag.keep, at_x, "keep")
    rival = None if op.rival is None else value(op.rival, at_x, f"{op.name} rival")
    try:
        system = system_prompt(op, task, spec_dir)
    except PromptFileError as err:
        raise PlanError(str(err)) from None
    return {
        "name": op.name,
        "model": model.name,
        "x": x,
        "granularity": op.granularity.data if op.granularity else None,
        "reads": value(op.reads, at_x, f"{op.name} reads"),
        "writes": value(op.writes, at_x, f"{op.name} writes"),
        "success": _success(op, model.name, at_x),
        "rival": rival,
        "keep": keep,
        "max_writes": max_writes,
        "unparsable": bool(flag is not None and flag.unparsable),
        "answer": op.answer,
        "system": system,
        "booster": _booster(planned),
        "size": value(model.size, env, f"model {model.name} size"),
        "price_in": value(model.price_in, env, f"model {model.name} price"),
        "price_out": value(model.price_out, env, f"model {model.name} price"),
        "routed_by": None,
        "verifies": None,
        "reduces": any(isinstance(s, ir.ReduceStage) and s.op == op.name for s in task.stages),
        "tool": None,
        "price_call": 0.0,
    }


def _tool_op_view(
    spec: ir.Spec,
    task: ir.Task,
    op: ir.Op,
    tool: ir.Tool,
    planned: OpPlan,
    env: Mapping[str, float],
    spec_dir: str | os.PathLike | None,
) -> dict[str, Any]:
    """An op on a tool as the templates read it: a model of size 0 that reads and writes
    nothing, whose call costs the tool's price (``aalp.plan.tools``); ``tool`` names the tool
    and its latency in seconds."""
    from aalp.plan.tools import tool_pace, tool_price

    try:
        system = system_prompt(op, task, spec_dir)
    except PromptFileError as err:
        raise PlanError(str(err)) from None
    x = whole(planned.x, f"decision {op.name}.x") if op.granularity else 1
    at = {**env, "x": float(x)}

    def at_env(expr: ir.Expr) -> float:
        return value(expr, at, f"tool {tool.name}")

    return {
        "name": op.name,
        "model": tool.name,
        "x": x,
        "granularity": op.granularity.data if op.granularity else None,
        "reads": 0.0,
        "writes": 0.0,
        "success": _success(op, tool.name, at),
        "rival": None if op.rival is None else value(op.rival, at, f"{op.name} rival"),
        "keep": 1.0,
        "max_writes": None,
        "unparsable": False,
        "answer": op.answer,
        "system": system,
        "booster": _booster(planned),
        "size": 0.0,
        "price_in": 0.0,
        "price_out": 0.0,
        "routed_by": None,
        "verifies": None,
        "reduces": any(isinstance(s, ir.ReduceStage) and s.op == op.name for s in task.stages),
        "tool": {"name": tool.name, "latency": float(tool_pace(tool, at_env).overhead)},
        "price_call": float(tool_price(tool, at_env)),
    }


def _units(task: ir.Task, data: str, env: Mapping[str, float]) -> tuple[str, int]:
    datum = task.datum(data)
    return datum.kind, whole(value(datum.count, env, f"the size of '{data}'"), f"'{data}'")


def _linear_view(stage: StagePlan, data: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    over = stage.over or ""
    x = 1 if stage.x is None else stage.x
    view: dict[str, Any] = {
        "kind": stage.kind,
        "ops": list(stage.ops),
        "over": over,
        "data_kind": data[over]["kind"],
        "count": data[over]["count"],
        "x": x,
    }
    if stage.kind == "map":
        stride = stage.stride
        view["stride"] = float(x if stride is None else stride)
    view["chunks"] = whole(stage.chunks, f"the chunks of stage {stage.index + 1}")
    if stage.kind == "chain":
        view["history"] = stage.history
    return view


def _reduce_view(
    spec: ir.Spec,
    task: ir.Task,
    stage: StagePlan,
    ops: Mapping[str, dict[str, Any]],
    env: Mapping[str, float],
) -> dict[str, Any]:
    name = stage.ops[0]
    if stage.problems:
        raise PlanError(f"reduce {name}: {'; '.join(stage.problems)}")
    reduce_op = task.op(name)
    model = spec.model(ops[name]["model"])
    flag = reduce_op.red_flag
    levels = []
    for number, level in enumerate(stage.levels, start=1):
        at_level = {**env, **_node_env(stage.fanin, number, level.nodes), "x": float(level.x)}
        limit = None
        if flag is not None and flag.max_writes is not None:
            limit = whole(value(flag.max_writes, at_level, "red flag"), "red flag")
        levels.append(
            {
                "nodes": whole(level.nodes, f"the nodes of reduce {name}"),
                "x": level.x,
                "max_writes": limit,
                "success": _success(reduce_op, model.name, at_level),
                "rival": None
                if reduce_op.rival is None
                else value(reduce_op.rival, at_level, f"{name} rival"),
            }
        )
    return {
        "kind": "reduce",
        "op": name,
        "fanin": stage.fanin,
        "inputs": stage.inputs,
        "levels": levels,
    }


def build_view(checked: Any, task: ir.Task, plan: Plan, *, target: str = "python") -> View:
    """The JSON-able view of ``task`` under ``plan`` (``aalp.plan.build.build_plan``).

    ``checked`` is the checker's result (``spec`` and ``env``). Raises ``PlanError`` for a
    plan that cannot run (a count too large to execute, a missing prompt file, ...).
    """
    spec: ir.Spec = checked.spec
    env = float_env(checked.env)
    from aalp.checks.loader import prompt_dir_of

    from .refusals import tool_features

    refused = tool_features(spec, task, target)  # the targets that do not run tool ops
    if refused:
        raise PlanError("; ".join(message for _, message in refused))

    spec_dir = prompt_dir_of(checked)
    # a reduce op's own numbers are those of a node of its first level (fanin, level, calls)
    nodes = {
        st.ops[0]: _node_env(st.fanin, 1, st.levels[0].nodes)
        for st in plan.stages
        if st.kind == "reduce" and st.levels and st.fanin is not None
    }
    ops = {
        o.name: _op_view(spec, task, o, {**env, **nodes.get(o.name, {})}, spec_dir)
        for o in plan.ops
    }
    data = {}
    for datum in task.data:
        kind, count = _units(task, datum.name, env)
        data[datum.name] = {"kind": kind, "count": count}
    stages: list[dict[str, Any]] = []
    for stage in plan.stages:
        match stage.kind:
            case "map" | "chain":
                stages.append(_linear_view(stage, data))
            case "reduce":
                stages.append(_reduce_view(spec, task, stage, ops, env))
            case "combine":
                if stage.how not in ir.COMBINES:
                    known = ", ".join(ir.COMBINES)
                    raise PlanError(
                        f"combine '{stage.how}' has no code: known combines are {known}"
                    )
                stages.append({"kind": "combine", "how": stage.how})
            case "route":
                name, classifier = stage.ops
                active = plan.op(classifier).role == "classifier"
                if active:
                    ops[name]["routed_by"] = classifier
                stages.append(
                    {"kind": "route", "op": name, "classifier": classifier, "active": active}
                )
    for op in plan.ops:
        booster = ops[op.name]["booster"]
        if booster["kind"] == "retry" and booster["check"] != "exact":
            ops[booster["check"]]["verifies"] = op.name
    for i, (stage, shape) in enumerate(zip(stages, plan.stages, strict=True)):
        stage["index"] = i
        if shape.within is not None:  # a nested stage: its enclosing stage, its runs in all
            stage["within"] = shape.within
            stage["runs"] = shape.runs
        stage["comment"] = stage_comment(stage)
    if chosen(task):  # repeat ... choose: K from the plan's decisions
        task = resolve(checked, task, plan.decisions)[1]
    for index, k in counts_of(task, env).items():  # repeat STAGE K then vote
        stages[index]["repeat"] = k
    return {
        "target": target,
        "spec_file": os.path.basename(spec.file or "<spec>"),
        "task": task.name,
        "ops": ops,
        "stages": stages,
        "data": data,
        "decisions": {k: _jsonable(v) for k, v in sorted(plan.decisions.items())},
        "warnings": _warnings(ops),
        "workers": None
        if task.workers is None
        else whole(value(task.workers, env, "workers"), "workers"),
    }


def _warnings(ops: Mapping[str, dict[str, Any]]) -> list[str]:
    out = []
    for name, op in ops.items():
        if op["max_writes"] is not None and op["writes"] > op["max_writes"]:
            out.append(
                f"op '{name}' writes {op['writes']:g} tokens at x = {op['x']} but its red flag "
                f"discards answers over {op['max_writes']}: every sample will be discarded"
            )
    return out


def _jsonable(value: object) -> object:
    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else float(value)
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


def stage_comment(stage: dict[str, Any]) -> str:
    """One line describing a stage (its kind, ops, chunking and number of decisions)."""
    match stage["kind"]:
        case "map":
            overlap = "" if stage["stride"] == stage["x"] else f", stride {stage['stride']:g}"
            return (
                f"map {', '.join(stage['ops'])} over {stage['over']}: {stage['count']} units, "
                f"{stage['x']} per call{overlap}, {stage['chunks']} chunks in parallel"
            )
        case "chain":
            return (
                f"chain {', '.join(stage['ops'])} over {stage['over']}: {stage['count']} units, "
                f"{stage['x']} per call, {stage['chunks']} steps, history {stage['history']}"
            )
        case "reduce":
            nodes = sum(level["nodes"] for level in stage["levels"])
            return (
                f"reduce {stage['op']} with fan-in {stage['fanin']}: {stage['inputs']} inputs, "
                f"{len(stage['levels'])} levels, {nodes} nodes"
            )
        case "combine":
            return f"combine {stage['how']} (in code, no call)"
        case _:
            state = "active" if stage["active"] else "inactive: the model needs no routing"
            return f"route {stage['op']} by {stage['classifier']} ({state})"

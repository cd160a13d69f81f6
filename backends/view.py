"""The view model of a plan: everything a target's templates read, prepared and JSON-able.

``build_view`` turns a checked spec, one task and a full set of decisions into plain data:
stages with their chunk counts, ops with their model, prompt, answer format, red flags and
booster, and the prediction. Templates never evaluate formulas or see IR objects; every
literal they print comes from ``literals.py_literal`` (``repr`` underneath).

The same view drives the simulated server (``aalp.sim``), which must recognise an op by its
system prompt: ``system_prompt`` is the one place that text is made.
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

View = dict[str, Any]


class PlanError(AalpError, ValueError):
    """A plan that cannot be emitted (a missing prompt file, an unknown combine, ...)."""

    code = codes.CANNOT_EMIT


COMBINES = ("sum", "concat", "merge", "vote", "max", "min", "count", "first", "last", "all", "any")


def float_env(env: Mapping[str, object]) -> dict[str, float]:
    """The checked environment with every value as a float (formulas are evaluated in floats)."""
    out: dict[str, float] = {}
    for key, value in env.items():
        if isinstance(value, Fraction | int | float):
            try:
                out[key] = float(value)
            except OverflowError:
                out[key] = math.inf
    return out


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


def system_prompt(op: ir.Op, task: ir.Task, spec_dir: str | os.PathLike | None) -> str:
    """The system prompt of ``op``: its inline text, its prompt file, or a default naming it.

    Prompt files are read by ``aalp.check.loader.read_prompt``, confined to ``spec_dir`` (None: the
    spec has no folder, and a prompt file is refused). The default says what the op is and how
    to answer, so a run without prompts still identifies every op uniquely.
    """
    prompt = op.prompt
    if prompt is not None and prompt.text is not None:
        return prompt.text
    if prompt is not None and prompt.file is not None:
        from aalp.check.loader import PromptError, read_prompt, shown

        try:
            return read_prompt(prompt.file, spec_dir)
        except PromptError as err:
            raise PlanError(
                f"op '{op.name}': prompt file '{shown(prompt.file)}' {err.problem}"
            ) from None
    return (
        f"You perform the step '{op.name}' of the task '{task.name}'. The user message is a "
        f"JSON object with the input. Answer with {_FORMAT_WORDS[op.answer]} only."
    )


_FORMAT_WORDS = {
    "text": "plain text",
    "json": "one JSON value",
    "number": "one number",
    "list": "one JSON list",
    "choice": "one word naming your choice",
}


def _decision(decisions: Mapping[str, object], op: str, field: str, default: object) -> object:
    return decisions.get(f"{op}.{field}", default)


def _int_decision(decisions: Mapping[str, object], op: str, field: str, default: int) -> int:
    raw = _decision(decisions, op, field, default)
    try:
        number = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise PlanError(f"decision {op}.{field} = {raw!r} is not a number") from None
    return whole(number, f"decision {op}.{field}")


def _retry_check(task: ir.Task, op: str) -> str:
    """What checks a retried op: ``exact`` (code) or the verifier op the spec names."""
    for booster in task.boosters:
        if isinstance(booster, ir.RetryBooster) and (not booster.ops or op in booster.ops):
            return booster.check
    return "exact"


def _booster(decisions: Mapping[str, object], op: ir.Op, task: ir.Task) -> dict[str, Any]:
    vote = str(_decision(decisions, op.name, "vote", "none"))
    retries = _decision(decisions, op.name, "retries", None)
    check = _retry_check(task, op.name)
    if vote in ("ahead_by", "majority"):
        votes = _int_decision(decisions, op.name, "votes", 1)
        if votes < 1:
            raise PlanError(f"decision {op.name}.votes must be at least 1")
        if vote == "majority" and votes % 2 == 0:
            raise PlanError(f"decision {op.name}.votes: majority needs an odd K, not {votes}")
        return {"kind": vote, "votes": votes, "retries": None, "check": None}
    if vote != "none":
        raise PlanError(f"decision {op.name}.vote = {vote!r}: expected ahead_by, majority or none")
    if retries is not None and retries != 0:
        bound = None if str(retries) == "inf" else _int_decision(decisions, op.name, "retries", 1)
        return {"kind": "retry", "votes": None, "retries": bound, "check": check}
    return {"kind": "none", "votes": None, "retries": None, "check": None}


def _chosen_model(spec: ir.Spec, op: ir.Op, decisions: Mapping[str, object]) -> ir.Model:
    name = _decision(decisions, op.name, "model", None)
    if name is None:
        capable = [m for m in spec.models if any(c.op == op.name for c in m.capabilities)]
        pool = [m for m in spec.models if m.name in op.models] or capable or list(spec.models)
        if not pool:
            raise PlanError(f"op '{op.name}': no model declared")
        return pool[0]
    try:
        return spec.model(str(name))
    except StopIteration:
        raise PlanError(f"decision {op.name}.model = {name!r}: no such model") from None


def _success(op: ir.Op, model: ir.Model, env: Mapping[str, float]) -> list[list[float]]:
    outcomes = op.success
    for override in op.success_on:
        if override.model == model.name:
            outcomes = override.outcomes
    return [
        [value(o.weight, env, f"{op.name} success weight"), value(o.p, env, f"{op.name} success")]
        for o in outcomes
    ]


def _op_view(
    spec: ir.Spec,
    task: ir.Task,
    op: ir.Op,
    decisions: Mapping[str, object],
    env: Mapping[str, float],
    spec_dir: str | os.PathLike | None,
) -> dict[str, Any]:
    model = _chosen_model(spec, op, decisions)
    x = _int_decision(decisions, op.name, "x", 1) if op.granularity else 1
    at_x = {**env, "x": float(x)}
    flag = op.red_flag
    max_writes = None
    if flag is not None and flag.max_writes is not None:
        max_writes = whole(value(flag.max_writes, at_x, f"{op.name} red flag"), "red flag")
    keep = 1.0 if flag is None or flag.keep is None else value(flag.keep, at_x, "keep")
    rival = None if op.rival is None else value(op.rival, at_x, f"{op.name} rival")
    return {
        "name": op.name,
        "model": model.name,
        "x": x,
        "granularity": op.granularity.data if op.granularity else None,
        "reads": value(op.reads, at_x, f"{op.name} reads"),
        "writes": value(op.writes, at_x, f"{op.name} writes"),
        "success": _success(op, model, at_x),
        "rival": rival,
        "keep": keep,
        "max_writes": max_writes,
        "unparsable": bool(flag is not None and flag.unparsable),
        "answer": op.answer,
        "system": system_prompt(op, task, spec_dir),
        "booster": _booster(decisions, op, task),
        "size": value(model.size, env, f"model {model.name} size"),
        "price_in": value(model.price_in, env, f"model {model.name} price"),
        "price_out": value(model.price_out, env, f"model {model.name} price"),
        "routed_by": None,
        "verifies": None,
        "reduces": any(isinstance(s, ir.ReduceStage) and s.op == op.name for s in task.stages),
    }


def _units(task: ir.Task, data: str, env: Mapping[str, float]) -> tuple[str, int]:
    datum = task.datum(data)
    return datum.kind, whole(value(datum.count, env, f"the size of '{data}'"), f"'{data}'")


def _stage_x(task: ir.Task, ops: tuple[str, ...], over: str, views: dict[str, Any]) -> int:
    for name in ops:
        if views[name]["granularity"] == over:
            return int(views[name]["x"])
    return 1


def _windows(count: int, x: int, overlap: float) -> tuple[float, int]:
    if overlap <= 0:
        return float(x), max(1, math.ceil(count / x)) if count else 0
    stride = x * (1.0 - overlap)
    return stride, 1 + math.ceil(max(0, count - x) / stride)


def build_view(
    checked: Any,
    task: ir.Task,
    decisions: Mapping[str, object],
    *,
    target: str = "python",
) -> View:
    """The JSON-able view of ``task`` under ``decisions`` (``"op.field" -> value``).

    ``checked`` is the checker's result (``spec`` and ``env``). Raises ``PlanError`` for a
    plan that cannot run (a count too large to execute, a missing prompt file, ...).
    """
    spec: ir.Spec = checked.spec
    env = float_env(checked.env)
    from aalp.check.loader import prompt_dir_of

    spec_dir = prompt_dir_of(checked)
    ops = {op.name: _op_view(spec, task, op, decisions, env, spec_dir) for op in task.ops}
    data = {}
    for datum in task.data:
        kind, count = _units(task, datum.name, env)
        data[datum.name] = {"kind": kind, "count": count}

    stages: list[dict[str, Any]] = []
    previous_chunks = 0
    previous_x = 1
    for stage in task.stages:
        match stage:
            case ir.MapStage(ops=names, over=over, overlap=overlap):
                rho = 0.0 if overlap is None else value(overlap, env, "overlap")
                x = _stage_x(task, names, over, ops)
                count = data[over]["count"]
                stride, chunks = _windows(count, x, rho)
                stages.append(
                    {
                        "kind": "map",
                        "ops": list(names),
                        "over": over,
                        "data_kind": data[over]["kind"],
                        "count": count,
                        "x": x,
                        "stride": stride,
                        "chunks": chunks,
                    }
                )
                previous_chunks, previous_x = chunks, x
            case ir.ChainStage(ops=names, over=over, history=history):
                x = _stage_x(task, names, over, ops)
                count = data[over]["count"]
                chunks = math.ceil(count / x) if count else 0
                if history == "choose":
                    history = str(_decision(decisions, names[0], "history", "stateless"))
                stages.append(
                    {
                        "kind": "chain",
                        "ops": list(names),
                        "over": over,
                        "data_kind": data[over]["kind"],
                        "count": count,
                        "x": x,
                        "chunks": chunks,
                        "history": history,
                    }
                )
                previous_chunks, previous_x = 1, count
            case ir.ReduceStage(op=name, fanin=fanin):
                if fanin is None:
                    f = _int_decision(decisions, name, "fanin", 2)
                else:
                    f = whole(value(fanin, env, "fan-in"), "fan-in")
                if f < 2:
                    raise PlanError(f"reduce {name}: the fan-in must be at least 2, not {f}")
                total = max((d["count"] for d in data.values()), default=1)
                levels = []
                nodes = previous_chunks
                level = 0
                while nodes > 1:
                    level += 1
                    nodes = math.ceil(nodes / f)
                    x = min(total, previous_x * f**level)
                    flag = task.op(name).red_flag
                    limit = None
                    if flag is not None and flag.max_writes is not None:
                        at_x = {**env, "x": float(x)}
                        limit = whole(value(flag.max_writes, at_x, "red flag"), "red flag")
                    at_level = {**env, "x": float(x)}
                    reduce_op = task.op(name)
                    model = spec.model(ops[name]["model"])
                    levels.append(
                        {
                            "nodes": nodes,
                            "x": x,
                            "max_writes": limit,
                            "success": _success(reduce_op, model, at_level),
                            "rival": None
                            if reduce_op.rival is None
                            else value(reduce_op.rival, at_level, f"{name} rival"),
                        }
                    )
                stages.append(
                    {
                        "kind": "reduce",
                        "op": name,
                        "fanin": f,
                        "inputs": previous_chunks,
                        "levels": levels,
                    }
                )
                previous_chunks = 1
            case ir.CombineStage(how=how):
                if how not in COMBINES:
                    known = ", ".join(COMBINES)
                    raise PlanError(f"combine '{how}' has no code: known combines are {known}")
                stages.append({"kind": "combine", "how": how})
            case ir.RouteStage(op=name, classifier=classifier):
                model = ops[name]["model"]
                routed = any(c.op == name and c.routed for c in spec.model(model).capabilities)
                if routed:
                    ops[name]["routed_by"] = classifier
                stages.append(
                    {"kind": "route", "op": name, "classifier": classifier, "active": routed}
                )
    warnings = []
    for name, op in ops.items():
        if op["max_writes"] is not None and op["writes"] > op["max_writes"]:
            warnings.append(
                f"op '{name}' writes {op['writes']:g} tokens at x = {op['x']} but its red flag "
                f"discards answers over {op['max_writes']}: every sample will be discarded"
            )
    for op in task.ops:
        booster = ops[op.name]["booster"]
        if booster["kind"] == "retry" and booster["check"] != "exact":
            ops[booster["check"]]["verifies"] = op.name
    for i, stage in enumerate(stages):
        stage["index"] = i
        stage["comment"] = stage_comment(stage)
    return {
        "target": target,
        "spec_file": os.path.basename(spec.file or "<spec>"),
        "task": task.name,
        "ops": ops,
        "stages": stages,
        "data": data,
        "decisions": {k: _jsonable(v) for k, v in sorted(decisions.items())},
        "warnings": warnings,
        "workers": None
        if task.workers is None
        else whole(value(task.workers, env, "workers"), "workers"),
    }


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

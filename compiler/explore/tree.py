"""The plan drawn as a folded tree: task → stages → ops → one decision's samples.

A plan for s = 2^20 − 1 steps has millions of calls; the tree folds every repetition into one
node with its count (``×1,048,575``), so it stays the size of the spec. Each node shows its
decisions and its share of the objective; its ``formula`` (shown on hover) is how the node's
part of the objective is computed from the numbers of the cost model (docs/model.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from aalp.plan.plan import Vote, booster_of, booster_text

Json = dict[str, Any]


def _count(value: float) -> str:
    return f"{round(value):,}" if float(value).is_integer() else f"{value:,.3g}"


def _num(value: float) -> str:
    if value == 0 or 1e-3 <= abs(value) < 1e6:
        return f"{value:.6g}"
    return f"{value:.4g}"


def _probability(p: float) -> str:
    """A probability readable near 1: ``1 − 4.3e-08`` rather than ``1``."""
    if p != p:
        return "n/a"
    if p > 0.999 and p < 1:
        return f"1 − {1 - p:.3g}"
    return f"{p:.6g}"


def _finite(value: float) -> float | None:
    """JSON has no infinity or NaN: such a number travels as null."""
    return value if math.isfinite(value) else None


def _share(part: float, total: float) -> float | None:
    if 0 < total < math.inf and 0 <= part < math.inf:
        return part / total
    return None


def _per_call(op: Any, metric: str, model: Mapping[str, float] | None) -> str:
    """The one-call formula of docs/model.md §1 for ``metric``, with the op's numbers."""
    if op.reads != op.reads:  # a verifier row carries no token counts of its own
        return "one verifier call"
    r, w = _num(op.reads + op.history_reads), _num(op.writes)
    model = model or {}
    match metric:
        case "cost":
            m = _num(model["size"]) if "size" in model else "m"
            return f"{m}·({r}·{w} + {w}·({w}−1)/2)"
        case "tokens":
            return f"{r} + {w}"
        case "forward_passes" | "latency":
            return w
        case "dollars":
            pin = _num(model["price_in"]) if "price_in" in model else "price_in"
            pout = _num(model["price_out"]) if "price_out" in model else "price_out"
            return f"({pin}·{r} + {pout}·{w}) / 10^6"
        case _:
            return "1"


def _booster(op: Any) -> str:
    booster = booster_of(op.booster, op.votes, op.retries, op.check)
    return f"vote {booster_text(booster)}" if isinstance(booster, Vote) else booster_text(booster)


def op_node(op: Any, metric: str, total: float, model: Mapping[str, float] | None) -> Json:
    """One op of a stage: its decisions folded into a node, with one decision's samples below."""
    part = float(getattr(op.metrics, metric, 0.0)) if metric != "success" else 0.0
    calls = op.decisions * op.samples
    if metric in ("latency", "latency_calls", "seconds"):
        # latency is a critical path, not a sum over calls (docs/model.md §3)
        formula = f"{metric} = this op's part of the critical path = {_num(part)}"
    else:
        formula = (
            f"{metric} = decisions × samples per decision × one call"
            f" = {_count(op.decisions)} × {_num(op.samples)} × {_per_call(op, metric, model)}"
            f" = {_num(part)}"
        )
    decisions = [
        f"model {op.model}",
        _booster(op),
        f"x = {op.x}",
        f"reads {_num(op.reads)} + history {_num(op.history_reads)}"
        if op.history_reads
        else f"reads {_num(op.reads)}",
        f"writes {_num(op.writes)}",
        f"success/decision {_probability(op.success)}",
    ]
    if op.role == "verifier":
        decisions = [f"model {op.model}", f"checks {op.decisions:,} decisions"]
    if op.role == "judge":
        decisions = [f"model {op.model}", f"picks the sample of {op.decisions:,} decisions"]
    if op.role == "scorer":
        decisions = [f"model {op.model}", f"ranks the candidates of {op.decisions:,} searches"]
    label = op.op if op.role == "op" else f"{op.op} ({op.role})"
    if op.level is not None:
        label += f" level {op.level}"
    sample = {
        "label": "call",
        "kind": "call",
        "decisions": [f"expected {_num(op.samples)} per decision"],
        "count": None,
        "share": None,
        "value": None,
        "formula": f"one call: {metric} = {_per_call(op, metric, model)}",
        "children": [],
    }
    return {
        "label": label,
        "kind": "op",
        "decisions": decisions,
        "count": _count(op.decisions) if op.decisions != 1 else None,
        "share": _share(part, total),
        "value": _finite(part),
        "formula": formula + f"  ({_num(calls)} calls expected)",
        "children": [sample],
    }


def _stage_label(stage: Any) -> str:
    ops = ", ".join(stage.ops)
    over = f" over {stage.over}" if stage.over else ""
    return f"{stage.kind} {ops}{over}"


def stage_node(
    stage: Any, metric: str, total: float, models: Mapping[str, Mapping[str, float]]
) -> Json:
    """One stage: its chunks, its shared decisions, and its ops."""
    part = float(getattr(stage.metrics, metric, 0.0)) if metric != "success" else 0.0
    decisions = [f"{_count(stage.chunks)} chunks" + (f" of x = {stage.x}" if stage.x else "")]
    within = getattr(stage, "within", None)
    if within is not None:  # a nested stage: its chunks are one run's
        decisions[0] += f" per run, {_count(stage.runs)} runs (one per chunk of stage {within + 1})"
    if stage.history:
        decisions.append(f"history {stage.history}")
    if stage.fanin:
        decisions.append(f"fan-in {stage.fanin}, {len(stage.levels)} levels")
    decisions.append(f"success {_probability(stage.success)}")
    children = [op_node(op, metric, total, models.get(op.model)) for op in stage.op_evals]
    formula = f"{metric} = " + " + ".join(
        f"{c['label']} {_num(c['value'])}" for c in children if c["value"] is not None
    )
    return {
        "label": f"stage {stage.index + 1}: {_stage_label(stage)}",
        "kind": "stage",
        "decisions": decisions,
        "count": None,
        "share": _share(part, total),
        "value": _finite(part),
        "formula": formula if children else f"{stage.kind}: exact, in code: free",
        "children": children,
    }


def _nest(nodes: dict[int, Json], within: int, child: Json, evaluation: Any, total: float) -> None:
    """Put a nested stage's node under its enclosing stage's, whose value (and every
    enclosing one's above it) then includes the nested stage's: a node's value is the sum of
    its children's."""
    nodes[within]["children"].append(child)
    value = child["value"] or 0.0
    index: int | None = within
    while index is not None:
        node = nodes[index]
        node["value"] = _finite((node["value"] or 0.0) + value)
        node["share"] = _share(node["value"] or 0.0, total)
        node["formula"] += f" + {child['label'].split(':')[0]} {_num(value)}"
        index = getattr(evaluation.stages[index], "within", None)


def plan_tree(
    evaluation: Any,
    metric: str,
    models: Mapping[str, Mapping[str, float]],
    closed_form: str = "",
) -> Json:
    """The folded tree of one evaluated plan (an ``aalp.model.cost`` ``Evaluation``).

    ``metric`` is the one whose shares are shown (the objective, or ``cost`` when the objective
    is success); ``models`` maps model names to their ``size``, ``price_in`` and
    ``price_out``; ``closed_form`` is the plan's formula in the size parameters, shown on the
    root.
    """
    if metric == "success":
        metric = "cost"
    total = float(getattr(evaluation.metrics, metric))
    stages = []
    nodes: dict[int, Json] = {}
    for s in evaluation.stages:  # a nested stage is a child of its enclosing stage's node
        nodes[s.index] = stage_node(s, metric, total, models)
        within = getattr(s, "within", None)
        if within not in nodes:
            stages.append(nodes[s.index])
            continue
        _nest(nodes, within, nodes[s.index], evaluation, total)
    decisions = [f"{metric} {_num(total)}", f"success {_probability(evaluation.success)}"]
    if not evaluation.feasible:
        decisions.append("infeasible")
    return {
        "label": f"task {evaluation.task}",
        "kind": "task",
        "decisions": decisions,
        "count": None,
        "share": 1.0 if total > 0 else None,
        "value": _finite(total),
        "formula": closed_form or f"{metric} = sum of the stages = {_num(total)}",
        "children": stages,
    }

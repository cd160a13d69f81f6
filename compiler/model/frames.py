"""The shape of a stage under its stage-level decisions: chunks, tree levels and *slots*.

A slot is one place where an op decides: ``count`` decisions of op at granularity ``x``, each
reading ``extra`` more tokens from a conversation (history full). Given the stage-level
decisions (x, history, fan-in), a stage's metrics are the sum over its slots of one decision's
metrics times ``count`` (latency times ``latency_factor``) and its log success the sum of
``count`` times one decision's: this is what lets the optimizer choose each op's model and
booster separately once the stage's shape is fixed (docs/model.md §3).

Chunk counts and reduce levels come from the stage's ``StagePlan`` (``aalp.plan.shape``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aalp.front.expr import EvalError
from aalp.front.ir import ChainStage, MapStage
from aalp.model.schedule import rounds
from aalp.plan.context import Context
from aalp.plan.plan import StagePlan
from aalp.plan.shape import stage_shape, window_cover


@dataclass(frozen=True)
class Slot:
    """``count`` decisions of ``op`` at granularity ``x`` (see the module docstring)."""

    op: str
    x: int
    count: int
    latency_factor: float
    extra: float = 0.0  # mean tokens read from the conversation per call
    max_extra: float | None = None  # the largest such addition (for the context check)
    spread: float = 0.0  # the variance of that addition over the calls (quadratic attention)
    level: int | None = None  # reduce: tree level (1 = the leaves' parents)
    # How many of the slot's decisions an item's result rests on (docs/model.md §3, items):
    # ln(accuracy) is at least the sum over slots of ``weight`` times ln(decision success).
    weight: float = 1.0
    # The values of ``fanin``, ``level`` and ``calls`` for a reduce op whose formulas use them.
    env: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Frame:
    """One stage under its stage-level decisions: its shape (chunks, x, history, fan-in, tree
    levels) and the slots where its ops decide."""

    shape: StagePlan
    slots: tuple[Slot, ...]
    problems: tuple[str, ...]
    # A map's ``success FORMULA`` replaces the product of its calls' successes.
    log_success: float | None = None


def parallel_factor(count: int, workers: float | None) -> float:
    """How a parallel stage's latency scales with its ``count`` equal copies on a pool of
    ``workers``: the list schedule's ``ceil(count/w)`` rounds of one copy (1 with unbounded
    workers, 0 when there are no copies; aalp.model.schedule)."""
    return rounds(count, workers)


def frame_of(ctx: Context, shape: StagePlan) -> Frame:
    """The cost model's frame of a stage's shape: its slots and, for a map with its own
    ``success FORMULA``, that success."""
    match shape.kind:
        case "map" | "chain":
            return _linear(ctx, shape)
        case "reduce":
            return _reduce(ctx, shape)
    return Frame(shape, (), ())


def stage_frame(ctx: Context, index: int, decisions: Mapping[str, Any]) -> Frame:
    """Stage ``index`` under the stage-level decisions in ``decisions`` (x, history, fan-in;
    a reduce also reads the previous stage's x). A missing one raises ``DecisionError``."""
    return frame_of(ctx, stage_shape(ctx, index, decisions))


def _linear(ctx: Context, shape: StagePlan) -> Frame:
    problems = list(shape.problems)
    chunks, x, history = shape.chunks, shape.x, shape.history
    base: dict[str, float] = {}
    for op in shape.ops:
        ox = shape.x_of(op)
        try:
            base[op] = ctx.formula(ctx.op(op).reads, ox) + ctx.formula(ctx.op(op).writes, ox)
        except EvalError:
            base[op] = 0.0
    chain = shape.kind == "chain"
    factor = float(chunks) if chain else parallel_factor(chunks, ctx.workers)
    # Conversation (history full): op o in step j reads R_o + (j−1)·G + P_o (model.md §3).
    step_tokens = math.fsum(base.values())
    slots = []
    before = 0.0
    for op in shape.ops:
        extra, max_extra, spread = 0.0, None, 0.0
        if history == "full":
            extra = before + step_tokens * (chunks - 1) / 2
            max_extra = before + step_tokens * (chunks - 1)
            # (j − 1)·G for j = 1..C is uniform on C points: variance G²·(C² − 1)/12 (in
            # floats: C is an exact count, and C² of a huge one is no float)
            c = float(chunks)
            spread = step_tokens * step_tokens * (c - 1) * (c + 1) / 12  # inf, not an error
        weight = item_weight(ctx, shape)
        slots.append(
            Slot(op, shape.x_of(op), chunks, factor, extra, max_extra, spread, weight=weight)
        )
        before += base[op]
    log_success = None
    stage = ctx.task.stages[shape.index]
    if isinstance(stage, MapStage) and stage.success is not None:
        try:
            p = ctx.formula(stage.success, x, {"calls": float(chunks)})
            log_success = math.log(p) if p > 0 else -math.inf
        except (EvalError, ValueError) as err:
            problems.append(f"cannot evaluate the success of stage {shape.index + 1}: {err}")
            log_success = -math.inf
    return Frame(shape, tuple(slots), tuple(problems), log_success)


def _reduce(ctx: Context, shape: StagePlan) -> Frame:
    if shape.inputs is None:  # no stage before it
        return Frame(shape, (), shape.problems)
    if shape.problems:  # a fan-in below 2
        return Frame(shape, (), shape.problems, -math.inf)
    op = shape.ops[0]
    inp = _input_stage(ctx, shape.index)
    on_path = inp is not None and ctx.items is not None and inp.over == ctx.items
    # an item's leaves: its chunk (or each overlapping window holding it), each with one
    # ancestor per level
    cover = 1.0
    if on_path and isinstance(inp, MapStage) and inp.overlap is not None:
        from aalp.front.numbers import exact

        cover = float(window_cover(exact(inp.overlap, ctx.env)))
    named = uses_node_names(ctx, op)
    slots = tuple(
        Slot(
            op,
            lv.x,
            lv.nodes,
            parallel_factor(lv.nodes, ctx.workers),
            level=level,
            # an item's leaf has one ancestor per level: one node of the level on its path
            weight=min(cover, float(lv.nodes)) if on_path else float(lv.nodes),
            env=node_env(shape.fanin, level, lv.nodes) if named else (),
        )
        for level, lv in enumerate(shape.levels, start=1)
    )
    return Frame(shape, slots, ())


def node_env(fanin: Any, level: int, nodes: int) -> tuple[tuple[str, float], ...]:
    """The names a reduce op's formulas may use at one node: the fan-in f (every node is
    costed as reading f inputs, as every chunk is costed as full), the node's level and the
    calls (nodes) at that level."""
    return (("calls", float(nodes)), ("fanin", float(fanin)), ("level", float(level)))


def uses_node_names(ctx: Context, op: str) -> bool:
    """True when one of the op's formulas names ``fanin``, ``level`` or ``calls``."""
    key = ("node-names", op)
    hit = ctx.memo.get(key)
    if hit is None:
        from aalp.front.expr import iter_names

        o = ctx.op(op)
        exprs = [o.reads, o.writes, o.rival]
        for outcomes in [o.success, *(ms.outcomes for ms in o.success_on)]:
            exprs += [e for out in outcomes for e in (out.weight, out.p)]
        if o.red_flag is not None:
            exprs += [o.red_flag.max_writes, o.red_flag.keep]
        names = {"fanin", "level", "calls"}
        hit = any(r.id in names for e in exprs if e is not None for r in iter_names(e))
        ctx.memo[key] = hit
    return hit


def _input_stage(ctx: Context, index: int) -> MapStage | ChainStage | None:
    """The nearest map or chain stage before stage ``index``."""
    for prev in reversed(ctx.task.stages[:index]):
        if isinstance(prev, MapStage | ChainStage):
            return prev
    return None


def item_weight(ctx: Context, shape: StagePlan) -> float:
    """How many decisions of one slot of a map or chain an item's result rests on (model.md
    §3, items): a map over the items, the one chunk holding it (with overlapping windows, at
    most ``ceil(1/(1 − ρ))`` of them); a chain over the items, every step up to its own, which
    over the C steps averages to the bound ``(C + 1)/2`` (Jensen: the mean of s^j is at least
    s^((C+1)/2)); a stage over other data, all of its decisions."""
    chunks = shape.chunks
    if ctx.items is None or shape.over != ctx.items or chunks == 0:
        return float(chunks)
    if shape.kind == "chain":
        return (float(chunks) + 1.0) / 2.0
    return min(float(chunks), float(window_cover(shape.overlap)))

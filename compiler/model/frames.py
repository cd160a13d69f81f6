"""The shape of a stage under its stage-level decisions: chunks, tree levels and *slots*.

A slot is one place where an op decides: ``count`` decisions of op at granularity ``x``, each
reading ``extra`` more tokens from a conversation (history full). Given the stage-level
decisions (x, history, fan-in), a stage's metrics are the sum over its slots of one decision's
metrics times ``count`` (latency times ``latency_factor``) and its log success the sum of
``count`` times one decision's: this is what lets the optimizer choose each op's model and
booster separately once the stage's shape is fixed (docs/model.md §3).

Chunk counts and reduce levels are computed here and nowhere else in the cost model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from aalp.front.expr import EvalError
from aalp.front.ir import ChainStage, CombineStage, MapStage, ReduceStage, RouteStage
from aalp.model.context import (
    Context,
    DecisionError,
    Number,
    as_int,
    ceil_div,
    exact,
    read_x,
    shared_x_ops,
)


@dataclass(frozen=True)
class Slot:
    """``count`` decisions of ``op`` at granularity ``x`` (see the module docstring)."""

    op: str
    x: int
    count: int
    latency_factor: float
    extra: float = 0.0  # mean tokens read from the conversation per call
    max_extra: float | None = None  # the largest such addition (for the context check)
    level: int | None = None  # reduce: tree level (1 = the leaves' parents)


@dataclass(frozen=True)
class Frame:
    """One stage under its stage-level decisions."""

    index: int
    kind: str  # map | chain | reduce | combine | route
    ops: tuple[str, ...]
    over: str | None
    chunks: int
    x: int | None
    history: str | None
    fanin: int | None
    levels: tuple[tuple[int, int], ...]
    slots: tuple[Slot, ...]
    problems: tuple[str, ...]
    # A map's ``success FORMULA`` replaces the product of its calls' successes.
    log_success: float | None = None


def chunk_count(n: Number, x: int | None, rho: Number | None = None) -> int:
    """Calls of a stage over n units in chunks of x: ``ceil(n/x)``; with overlap ρ (windows of
    x advancing by ``x·(1 − ρ)``) ``1 + ceil(max(0, n − x)/(x·(1 − ρ)))``; n without x.
    Non-increasing in x.

    >>> chunk_count(10, 3), chunk_count(10, 4, Fraction(1, 2)), chunk_count(0, 5)
    (4, 4, 0)
    """
    if x is None:
        return ceil_div(n, 1)
    if rho is None or rho == 0:
        return ceil_div(n, x)
    if n <= 0:
        return 0
    rest = n - x if n > x else 0
    if isinstance(rho, float) or isinstance(n, float):
        return 1 + math.ceil(float(rest) / (x * (1 - float(rho))))
    return 1 + ceil_div(rest, x * (1 - Fraction(rho)))


def reduce_levels(m: int, u: int, n: Number, fanin: int) -> list[tuple[int, int]]:
    """The levels of a tree of fan-in f over m outputs of u units each (n units in all):
    ``(nodes, x)`` per level, nodes = ``ceil(nodes/f)`` and x = ``min(n, u·f^level)`` (the
    units under one node). Nodes are non-decreasing in m, non-increasing in f; x non-decreasing
    in u and f.

    >>> reduce_levels(5, 2, 10, 2)
    [(3, 4), (2, 8), (1, 10)]
    """
    out: list[tuple[int, int]] = []
    nodes, cover = m, u
    while nodes > 1:
        nodes = -(-nodes // fanin)
        cover *= fanin
        out.append((nodes, int(min(n, cover))))
    return out


def parallel_factor(count: int, workers: float | None) -> float:
    """How a parallel stage's latency scales with its ``count`` copies: one copy's latency,
    or total/workers when that is larger (0 when there are no copies)."""
    if count == 0:
        return 0.0
    if workers is None:
        return 1.0
    return max(1.0, count / workers)


def _x_problems(ctx: Context, op: str, x: int, problems: list[str]) -> None:
    g = ctx.op(op).granularity
    if g is None:
        return
    hi = ctx.count(g.data)
    if g.upto is not None:
        hi = min(hi, exact(g.upto, ctx.env))
    if not 1 <= x <= hi:
        problems.append(f"{op}.x = {x} is outside 1..{hi}")


def history_of(ctx: Context, stage: ChainStage, decisions: Mapping[str, Any]) -> str:
    if stage.history != "choose":
        return stage.history
    given = {
        str(getattr(decisions[k], "id", decisions[k]))
        for op in stage.ops
        if (k := f"{op}.history") in decisions
    }
    if not given:
        raise DecisionError(f"missing decision '{stage.ops[0]}.history'", f"{stage.ops[0]}.history")
    if len(given) > 1:
        raise DecisionError(
            f"the ops of one chain disagree on history: {sorted(given)}", f"{stage.ops[0]}.history"
        )
    value = given.pop()
    if value not in ("full", "stateless"):
        raise DecisionError(
            f"history must be full or stateless, not {value!r}", f"{stage.ops[0]}.history"
        )
    return value


def stage_x(
    ctx: Context, stage: MapStage | ChainStage, decisions: Mapping[str, Any], problems: list[str]
) -> int | None:
    """The x shared by the stage's ops whose granularity is over its data (None: one per unit)."""
    shared = shared_x_ops(ctx, stage)
    # The ops share one x: any of them may carry it (the optimizer sets the first one's).
    given = [op for op in shared if f"{op}.x" in decisions]
    if shared and not given:
        read_x(ctx, decisions, shared[0])  # raises: missing decision naming the first op
    xs = {op: read_x(ctx, decisions, op) for op in given}
    if len(set(xs.values())) > 1:
        problems.append(f"ops over '{stage.over}' in one stage must share x, but {xs}")
    for op, x in xs.items():
        _x_problems(ctx, op, x, problems)
    return next(iter(xs.values())) if xs else None


def _stage_chunks(ctx: Context, stage: MapStage | ChainStage, x: int | None, problems: list[str]):
    overlap = getattr(stage, "overlap", None)
    rho = None if overlap is None else exact(overlap, ctx.env)
    if rho is not None and not 0 <= rho < 1:
        problems.append(f"overlap {float(rho):g} must be at least 0 and below 1")
        rho = None
    return chunk_count(ctx.count(stage.over), x, rho)


def _linear(ctx: Context, index: int, stage: MapStage | ChainStage, decisions) -> Frame:
    problems: list[str] = []
    x = stage_x(ctx, stage, decisions, problems)
    chunks = _stage_chunks(ctx, stage, x, problems)
    shared = set(shared_x_ops(ctx, stage))
    chain = isinstance(stage, ChainStage)
    history = history_of(ctx, stage, decisions) if chain else None
    op_x: dict[str, int] = {}
    base: dict[str, float] = {}
    for op in stage.ops:
        op_x[op] = x if op in shared and x is not None else read_x(ctx, decisions, op)
        if op not in shared:
            _x_problems(ctx, op, op_x[op], problems)
        try:
            base[op] = ctx.formula(ctx.op(op).reads, op_x[op]) + ctx.formula(
                ctx.op(op).writes, op_x[op]
            )
        except EvalError:
            base[op] = 0.0
    factor = float(chunks) if chain else parallel_factor(chunks, ctx.workers)
    # Conversation (history full): op o in step j reads R_o + (j−1)·G + P_o (model.md §3).
    step_tokens = math.fsum(base.values())
    slots = []
    before = 0.0
    for op in stage.ops:
        extra, max_extra = 0.0, None
        if history == "full":
            extra = before + step_tokens * (chunks - 1) / 2
            max_extra = before + step_tokens * (chunks - 1)
        slots.append(Slot(op, op_x[op], chunks, factor, extra, max_extra))
        before += base[op]
    log_success = None
    if isinstance(stage, MapStage) and stage.success is not None:
        try:
            p = ctx.formula(stage.success, x, {"calls": float(chunks)})
            log_success = math.log(p) if p > 0 else -math.inf
        except (EvalError, ValueError) as err:
            problems.append(f"cannot evaluate the success of stage {index + 1}: {err}")
            log_success = -math.inf
    return Frame(
        index,
        "chain" if chain else "map",
        stage.ops,
        stage.over,
        chunks,
        x,
        history,
        None,
        (),
        tuple(slots),
        tuple(problems),
        log_success,
    )


def reduce_input(
    ctx: Context, index: int, decisions: Mapping[str, Any]
) -> tuple[int, int, Number] | None:
    """(M, u, N) of the nearest map or chain stage before a reduce: its chunks, units per
    chunk and units in all."""
    for prev in reversed(ctx.task.stages[:index]):
        if isinstance(prev, MapStage | ChainStage):
            x = stage_x(ctx, prev, decisions, [])
            return _stage_chunks(ctx, prev, x, []), (x or 1), ctx.count(prev.over)
    return None


def fanin_of(ctx: Context, stage: ReduceStage, decisions: Mapping[str, Any]) -> int:
    if stage.fanin is not None:
        return as_int(f"{stage.op}.fanin", exact(stage.fanin, ctx.env))
    key = f"{stage.op}.fanin"
    if key not in decisions:
        raise DecisionError(f"missing decision '{key}'", key)
    return as_int(key, decisions[key])


def _reduce(ctx: Context, index: int, stage: ReduceStage, decisions) -> Frame:
    op = stage.op
    fanin = fanin_of(ctx, stage, decisions)
    inp = reduce_input(ctx, index, decisions)
    if inp is None:
        problem = f"reduce '{op}' has no map or chain stage before it"
        return Frame(index, "reduce", (op,), None, 0, None, None, fanin, (), (), (problem,))
    if fanin < 2:
        problem = f"{op}.fanin = {fanin} must be at least 2"
        return Frame(
            index, "reduce", (op,), None, 0, None, None, fanin, (), (), (problem,), -math.inf
        )
    m, u, n = inp
    levels = reduce_levels(m, u, n, fanin)
    slots = tuple(
        Slot(op, x, nodes, parallel_factor(nodes, ctx.workers), level=level)
        for level, (nodes, x) in enumerate(levels, start=1)
    )
    total = sum(nodes for nodes, _x in levels)
    return Frame(index, "reduce", (op,), None, total, None, None, fanin, tuple(levels), slots, ())


def stage_frame(ctx: Context, index: int, decisions: Mapping[str, Any]) -> Frame:
    """Stage ``index`` under the stage-level decisions in ``decisions`` (x, history, fan-in;
    a reduce also reads the previous stage's x). A missing one raises ``DecisionError``."""
    stage = ctx.task.stages[index]
    match stage:
        case MapStage() | ChainStage():
            return _linear(ctx, index, stage, decisions)
        case ReduceStage():
            return _reduce(ctx, index, stage, decisions)
        case CombineStage():
            return Frame(index, "combine", (), None, 1, None, None, None, (), (), ())
        case RouteStage(op=op, classifier=cls):
            return Frame(index, "route", (op, cls), None, 0, None, None, None, (), (), ())
    raise TypeError(f"unknown stage {stage!r}")

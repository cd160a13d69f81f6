"""The shape of a stage under its stage-level decisions: x, chunks, windows, tree levels.

The counting formulas of the language live here and nowhere else: overlapping windows
(``windows``), the nodes and granularity of a reduce tree's levels (``level_nodes``,
``level_x``, ``tree_depth``). They are written once over any number type: the exact counts pass
integers and ``Fraction`` with an exact ceiling, the symbolic cost model passes sympy
expressions with ``sympy.ceiling`` (or no ceiling, asymptotically).

``stage_shape`` gives one stage's ``StagePlan`` without its ops' models and boosters: it is
what the optimizer enumerates (x, history, fan-in) and what ``build_plan`` completes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

from aalp.front.ir import HISTORY_WORDS, ChainStage, CombineStage, MapStage, ReduceStage, RouteStage
from aalp.front.numbers import Number, ceil_div, exact
from aalp.plan.context import Context
from aalp.plan.decisions import as_int, evaluated, read_x, shared_x_ops
from aalp.plan.plan import DecisionError, Level, StagePlan


def windows(n: Any, x: Any, rho: Any, ceil: Callable[[Any], Any], maximum: Callable) -> Any:
    """Calls over n units in windows of x: ``ceil(n/x)``; with overlap ρ (windows advancing by
    ``x·(1 − ρ)``) ``1 + ceil(max(0, n − x)/(x·(1 − ρ)))``. Pass exact n (an int or Fraction)
    for an exact count, or sympy values with sympy's ceiling and Max.

    >>> windows(Fraction(10), 4, Fraction(1, 2), ceil_exact, max)
    4
    """
    if rho is None or (not hasattr(rho, "free_symbols") and rho == 0):
        return ceil(n / x)
    return 1 + ceil(maximum(0, n - x) / stride(x, rho))


def window_cover(rho: Any) -> int:
    """The most windows advancing by ``x·(1 − ρ)`` that hold one unit: ``ceil(1/(1 − ρ))``
    (1 without overlap). Exact for a ``Fraction``.

    >>> window_cover(Fraction(1, 2)), window_cover(Fraction(2, 3)), window_cover(None)
    (2, 3, 1)
    """
    if not rho or not 0 < rho < 1:
        return 1
    return math.ceil(1 / (1 - rho))


def stride(x: Any, rho: Any) -> Any:
    """How far a window of x advances under overlap ρ: ``x·(1 − ρ)`` (x without overlap)."""
    return x if rho is None else x * (1 - rho)


def level_nodes(m: Any, fanin: Any, level: Any, ceil: Callable[[Any], Any]) -> Any:
    """Nodes at ``level`` (1 = the leaves' parents) of a tree of fan-in f over m inputs:
    ``ceil(m/f^level)`` (the same as taking ``ceil(·/f)`` level by level).

    >>> [level_nodes(Fraction(5), 2, j, ceil_exact) for j in (1, 2, 3)]
    [3, 2, 1]
    """
    return ceil(m / fanin**level)


def level_x(n: Any, unit: Any, fanin: Any, level: Any, minimum: Callable) -> Any:
    """Units under one node at ``level``: ``min(n, u·f^level)`` for inputs of u units each."""
    return minimum(n, unit * fanin**level)


def tree_depth(m: Any, fanin: Any, ceil: Callable[[Any], Any], log: Callable[[Any], Any]) -> Any:
    """Levels of a tree of fan-in f over m inputs, ``ceil(log m / log f)``, for symbolic m
    (exact counts stop where one node is left: see ``reduce_levels``)."""
    return ceil(log(m) / log(fanin))


def ceil_exact(value: Number) -> int:
    """``ceil`` of an exact number (a float only when a size is itself a float)."""
    if isinstance(value, float):
        return math.ceil(value)
    q = Fraction(value)
    return -((-q.numerator) // q.denominator)


def chunk_count(n: Number, x: int | None, rho: Number | None = None) -> int:
    """Calls of a stage over n units in chunks of x (``windows``, exactly); n without x.
    Non-increasing in x.

    >>> chunk_count(10, 3), chunk_count(10, 4, Fraction(1, 2)), chunk_count(0, 5)
    (4, 4, 0)
    """
    if x is None:
        return ceil_div(n, 1)
    if rho == 0:
        rho = None
    if rho is not None and n <= 0:
        return 0
    if isinstance(n, float) or isinstance(rho, float):
        return windows(float(n), x, None if rho is None else float(rho), math.ceil, max)
    return windows(Fraction(n), x, None if rho is None else Fraction(rho), ceil_exact, max)


def reduce_levels(m: int, u: int, n: Number, fanin: int) -> list[tuple[int, int]]:
    """The levels of a tree of fan-in f over m outputs of u units each (n units in all):
    ``(nodes, x)`` per level (``level_nodes``, ``level_x``), until one node is left. Nodes are
    non-decreasing in m, non-increasing in f; x non-decreasing in u and f.

    >>> reduce_levels(5, 2, 10, 2)
    [(3, 4), (2, 8), (1, 10)]
    """
    out: list[tuple[int, int]] = []
    level, nodes = 0, m
    while nodes > 1:
        level += 1
        nodes = level_nodes(Fraction(m), fanin, level, ceil_exact)
        out.append((nodes, int(level_x(n, u, fanin, level, min))))
    return out


def x_problems(ctx: Context, op: str, x: int, problems: list[str]) -> None:
    """A problem when ``op.x`` is outside its range."""
    g = ctx.op(op).granularity
    if g is None:
        return
    hi = ctx.count(g.data)
    if g.upto is not None:
        hi = min(hi, exact(g.upto, ctx.env))
    if not 1 <= x <= hi:
        problems.append(f"{op}.x = {x} is outside 1..{hi}")


def history_of(ctx: Context, stage: ChainStage, decisions: Mapping[str, Any]) -> str:
    """A chain's history policy: the spec's, or the decision of ``history choose``."""
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
    if value not in HISTORY_WORDS:
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
        x_problems(ctx, op, x, problems)
    return next(iter(xs.values())) if xs else None


def overlap_of(ctx: Context, stage: MapStage | ChainStage, problems: list[str]) -> Number | None:
    """A map's overlap ρ (None without one, or when it is out of range: a problem then)."""
    overlap = getattr(stage, "overlap", None)
    rho = None if overlap is None else exact(overlap, ctx.env)
    if rho is not None and not 0 <= rho < 1:
        problems.append(f"overlap {float(rho):g} must be at least 0 and below 1")
        return None
    return rho


def fanin_of(ctx: Context, stage: ReduceStage, decisions: Mapping[str, Any]) -> int:
    """A reduce's fan-in: the spec's, or the decision of ``fanin choose``."""
    if stage.fanin is not None:
        return as_int(f"{stage.op}.fanin", exact(stage.fanin, ctx.env))
    key = f"{stage.op}.fanin"
    if key not in decisions:
        raise DecisionError(f"missing decision '{key}'", key)
    return as_int(key, evaluated(ctx, decisions[key]), least=2)


def _linear(ctx: Context, index: int, stage: MapStage | ChainStage, decisions) -> StagePlan:
    problems: list[str] = []
    x = stage_x(ctx, stage, decisions, problems)
    rho = overlap_of(ctx, stage, problems)
    units = ctx.count(stage.over)
    chunks = chunk_count(units, x, rho)
    shared = set(shared_x_ops(ctx, stage))
    chain = isinstance(stage, ChainStage)
    op_x: list[tuple[str, int]] = []
    for op in stage.ops:
        ox = x if op in shared and x is not None else read_x(ctx, decisions, op)
        if op not in shared:
            x_problems(ctx, op, ox, problems)
        op_x.append((op, ox))
    return StagePlan(
        index,
        "chain" if chain else "map",
        stage.ops,
        chunks,
        over=stage.over,
        units=units,
        x=x,
        overlap=rho,
        stride=None if x is None else stride(x, rho),
        history=history_of(ctx, stage, decisions) if chain else None,
        op_x=tuple(op_x),
        problems=tuple(problems),
    )


def reduce_input(
    ctx: Context, index: int, decisions: Mapping[str, Any]
) -> tuple[int, int, Number] | None:
    """(M, u, N) of the nearest map or chain stage before a reduce: its chunks, units per
    chunk and units in all."""
    for prev in reversed(ctx.task.stages[:index]):
        if isinstance(prev, MapStage | ChainStage):
            x = stage_x(ctx, prev, decisions, [])
            units = ctx.count(prev.over)
            return chunk_count(units, x, overlap_of(ctx, prev, [])), (x or 1), units
    return None


def _reduce(ctx: Context, index: int, stage: ReduceStage, decisions) -> StagePlan:
    op = stage.op
    fanin = fanin_of(ctx, stage, decisions)
    inp = reduce_input(ctx, index, decisions)
    if inp is None:
        problem = f"reduce '{op}' has no map or chain stage before it"
        return StagePlan(index, "reduce", (op,), 0, fanin=fanin, problems=(problem,))
    m, u, n = inp
    if fanin < 2:
        problem = f"{op}.fanin = {fanin} must be at least 2"
        return StagePlan(
            index, "reduce", (op,), 0, units=n, fanin=fanin, inputs=m, unit=u, problems=(problem,)
        )
    levels = tuple(Level(nodes, x) for nodes, x in reduce_levels(m, u, n, fanin))
    total = sum(lv.nodes for lv in levels)
    return StagePlan(
        index, "reduce", (op,), total, units=n, fanin=fanin, inputs=m, unit=u, levels=levels
    )


def stage_shape(ctx: Context, index: int, decisions: Mapping[str, Any]) -> StagePlan:
    """Stage ``index`` under the stage-level decisions in ``decisions`` (x, history, fan-in;
    a reduce also reads the previous stage's x, a nested stage its enclosing stage's). A
    missing one raises ``DecisionError``."""
    parent = ctx.task.within[index] if ctx.task.within else None
    shape = _stage_shape(ctx, index, decisions)
    if parent is None:
        return shape
    from aalp.plan.nested import nest

    up = stage_shape(ctx, parent, decisions)
    return nest(ctx, shape, up, item_weight(ctx, up))


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


def _stage_shape(ctx: Context, index: int, decisions: Mapping[str, Any]) -> StagePlan:
    stage = ctx.task.stages[index]
    match stage:
        case MapStage() | ChainStage():
            return _linear(ctx, index, stage, decisions)
        case ReduceStage():
            return _reduce(ctx, index, stage, decisions)
        case CombineStage(how=how):
            return StagePlan(index, "combine", (), 1, how=how)
        case RouteStage(op=op, classifier=cls):
            return StagePlan(index, "route", (op, cls), 0, classifier=cls)
    raise TypeError(f"unknown stage {stage!r}")

"""The shape of a nested stage: how often it runs and how its enclosing chunks scale it.

A stage nested in a map or chain (``map plan over questions { chain hop over hops }``) runs
once per chunk of the enclosing stage, with the same decisions every time (docs/model.md §3,
nested stages). Given the enclosing stage's shape P (itself possibly nested):

- ``runs = P.runs · P.chunks``: its calls, cost and ``ln(success)`` are ``runs`` times one
  run's;
- ``outer_latency = P.outer_latency · f_P``, with ``f_P = P.chunks`` for a chain (its chunks
  run one after another) and ``ceil(P.chunks / w_P)`` rounds for a map on ``w_P`` workers (1
  when unbounded): one enclosing chunk's latency (its own ops' and its nested stages') times f_P;
- ``share``: the workers one run has, ``floor(w_P / min(P.chunks, w_P))`` (at least 1) under
  a map (its running chunks split the workers), ``w_P`` under a chain, None when unbounded;
- ``outer_weight``: how many runs an item of the task rests on, ``P.outer_weight`` times the
  decisions of P's slot on the item's path (``aalp.plan.shape.item_weight``).
"""

from __future__ import annotations

from dataclasses import replace

from aalp.plan.context import Context
from aalp.plan.plan import StagePlan
from aalp.plan.pool import rounds


def parallel_factor(count: int, workers: float | None) -> float:
    """How a parallel stage's latency scales with its ``count`` equal copies on a pool of
    ``workers``: the list schedule's ``ceil(count/w)`` rounds of one copy (1 with unbounded
    workers, 0 when there are no copies; ``aalp.plan.pool``)."""
    return rounds(count, workers)


def workers_of(ctx: Context, shape: StagePlan) -> float | None:
    """The workers one run of a stage has: the task's at the top level, else its share."""
    return ctx.workers if shape.within is None else shape.share


def chunk_factor(ctx: Context, shape: StagePlan) -> float:
    """How one chunk's latency scales to the stage's (``parallel_factor``)."""
    if shape.kind == "chain":
        return float(shape.chunks)
    return parallel_factor(shape.chunks, workers_of(ctx, shape))


def nest(ctx: Context, shape: StagePlan, parent: StagePlan, weight: float) -> StagePlan:
    """``shape`` as run inside ``parent`` (the enclosing stage's shape), whose slot an item
    rests on ``weight`` decisions of (``aalp.plan.shape.item_weight``)."""
    w = workers_of(ctx, parent)
    share = None
    if w is not None:
        running = max(1, min(parent.chunks, int(w)))
        share = w if parent.kind == "chain" else float(max(1, int(w // running)))
    return replace(
        shape,
        within=parent.index,
        runs=parent.runs * parent.chunks,
        outer_latency=parent.outer_latency * chunk_factor(ctx, parent),
        share=share,
        outer_weight=parent.outer_weight * weight,
    )

"""Bounds of nested stages over boxes of decisions: ``aalp.plan.nested`` over ranges.

A nested stage's frame is one run's (``bounds_stage.frame_bounds`` of the stage alone) scaled
by its enclosing stages: counts and ``ln(success)`` by the runs, latency by the enclosing
chunks' factor, the item weight by the runs an item rests on; its own latency factor is
recomputed for the workers one run has. Every function of the enclosing chunk count used
here is monotone in it, so the ends of the count's range enclose it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

from aalp.front.ir import ChainStage
from aalp.front.nesting import enclosing
from aalp.model.frames import parallel_factor
from aalp.optimizer import bounds_stage as bs
from aalp.optimizer.interval import Interval
from aalp.plan.context import Context
from aalp.plan.decisions import shared_x_ops

ONE = Interval(1.0, 1.0)


@dataclass(frozen=True)
class Outer:
    """Enclosures of a nested stage's runs, enclosing latency factor, workers of one run
    (None: unbounded) and runs an item rests on."""

    runs: Interval
    latency: Interval
    share: Interval | None
    weight: Interval


def outer(ctx: Context, index: int, box: Mapping[str, bs.Range]) -> Outer | None:
    """The enclosures for stage ``index`` (None at the top level)."""
    parent = enclosing(ctx.task, index)
    if parent is None:
        return None
    up = outer(ctx, parent, box)
    w = None if ctx.workers is None else Interval(ctx.workers, ctx.workers)
    runs, lat, share, weight = (
        (ONE, ONE, w, ONE)
        if up is None
        else (
            up.runs,
            up.latency,
            up.share,
            up.weight,
        )
    )
    stage = ctx.task.stages[parent]
    shared = shared_x_ops(ctx, stage)
    xr = box[f"{shared[0]}.x"] if shared else None
    chunks, _ok = bs._chunks(ctx, stage, xr)
    c_lo, c_hi = bs._ends(chunks)
    if isinstance(stage, ChainStage):
        factor, inner_share = chunks, share
    else:
        factor = Interval(parallel_factor(c_lo, _hi(share)), parallel_factor(c_hi, _lo(share)))
        inner_share = None
        if share is not None:  # w / min(C, w), at least 1: falls as C grows
            inner_share = Interval(
                max(1.0, share.lo / max(1, min(c_hi, share.lo))),
                max(1.0, share.hi / max(1, min(c_lo, share.hi))),
            )
    item = bs._linear_weight(ctx, stage, chunks) or chunks
    return Outer(runs * chunks, lat * factor, inner_share, weight * item)


def _lo(v: Interval | None) -> float | None:
    return None if v is None else v.lo


def _hi(v: Interval | None) -> float | None:
    return None if v is None else v.hi


def nested_bounds(
    ctx: Context, index: int, box: Mapping[str, bs.Range], fb: bs.FrameBounds
) -> bs.FrameBounds:
    """``fb`` (one run of stage ``index``) as the stage runs inside its enclosing stages."""
    o = outer(ctx, index, box)
    if o is None:
        return fb
    chain = isinstance(ctx.task.stages[index], ChainStage)
    slots = []
    for s in fb.slots:
        own = s.latency_factor
        if not chain:  # a map's chunks or a tree level's nodes on the workers of one run
            own = Interval(
                parallel_factor(math.ceil(s.count.lo), _hi(o.share)),
                parallel_factor(math.floor(s.count.hi), _lo(o.share))
                if math.isfinite(s.count.hi)
                else math.inf,
            )
        weight = s.weight
        if ctx.measure == "accuracy":
            weight = (s.count if weight is None else weight) * o.weight
        slots.append(
            replace(
                s,
                count=s.count * o.runs,
                latency_factor=own * o.latency,
                weight=weight,
                units=None,  # count·x >= n holds per run, not for the runs together
            )
        )
    log_hi = fb.log_hi * o.runs.lo if fb.log_hi < 0 else fb.log_hi
    return bs.FrameBounds(tuple(slots), log_hi, fb.possible)

"""One block's search space: its shapes (stage-level decisions), evaluated and not yet.

A block's integer stage-level decisions (granularities, fan-ins) have ranges up to 2^64. The
search evaluates some *shapes* exactly (``optimize_units``) and covers the rest by *regions*:
boxes of shapes, each represented by optimistic points (lower bounds of the metrics, an upper
bound of the success over every shape and option in the box, from ``aalp.optimizer.bounds_stage``).
The optimizer merges real and optimistic points together: a plan built only of real points that
beats every optimistic one is the optimum; otherwise the optimistic points in the way are
refined (a region split, or enumerated when small; a gap of counts evaluated in its middle).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aalp.front import expr as ex
from aalp.front.ir import VOTE_KINDS, ChainStage, MapStage, ReduceStage, Task
from aalp.optimizer import bounds_stage as bs
from aalp.optimizer import candidates as cand
from aalp.optimizer import units as ou
from aalp.optimizer.bounds_nested import nested_bounds
from aalp.optimizer.pareto import METRIC_KEYS, Point, merge, pareto
from aalp.optimizer.work import Work
from aalp.plan.space import Block, Space, Value, count_of

# A region of at most this many shapes is enumerated rather than split.
ENUMERATE = 8
# Count ranges of a region's optimistic points: [lo], then blocks growing fourfold.
COUNT_BLOCK_GROWTH = 4


@dataclass
class Var:
    """An integer stage-level decision: a granularity shared by ``keys`` or a fan-in."""

    keys: tuple[str, ...]
    lo: int
    hi: int
    n: int | None  # units split into chunks of this x (for snapping), None otherwise
    values: list[int] = field(default_factory=list)
    snap_ok: bool = False
    feeds: int | None = None  # a fan-in: the index of the x whose chunks it merges

    @property
    def key(self) -> str:
        return self.keys[0]


@dataclass(frozen=True)
class RegionRef:
    block: int
    region: int


@dataclass
class Region:
    box: tuple[tuple[int, int], ...]  # per var
    history: tuple[str, ...]  # per history decision


def _chunk_stage(task: Task, op: str, data: str) -> MapStage | ChainStage | None:
    for s in task.stages:
        if isinstance(s, MapStage | ChainStage) and op in s.ops and s.over == data:
            return s
    return None


def linear_ops(task: Task) -> set[str]:
    """Ops that run in a map or chain stage (their x is a decision; a reduce's is not)."""
    return {o for s in task.stages if isinstance(s, MapStage | ChainStage) for o in s.ops}


def _previous_linear(task: Task, reduce_op: str) -> MapStage | ChainStage | None:
    from aalp.front.nesting import input_stage

    for i, st in enumerate(task.stages):
        if isinstance(st, ReduceStage) and st.op == reduce_op:
            prev = input_stage(task, i)
            return None if prev is None else task.stages[prev]
    return None


def _monotone(task: Task, ops: tuple[str, ...], env: Mapping[str, float], xs: list[int]) -> bool:
    """Reads and writes never fall and success never rises as x grows (on the candidates)."""
    for name in ops:
        op = task.op(name)
        grows = [op.reads, op.writes]
        falls = [o.p for o in op.success] + [o.p for s in op.success_on for o in s.outcomes]
        for formulas, sign in ((grows, 1), (falls, -1)):
            for f in formulas:
                prev = None
                for x in xs:
                    try:
                        v = sign * ex.evaluate(f, {**env, "x": float(x)})
                    except ex.EvalError:
                        return False
                    if prev is not None and v < prev:
                        return False
                    prev = v
    return True


def defaults(space: Space, task: Task, pins: Mapping[str, Value]) -> dict[str, Value]:
    """A plan to fill the decisions a block does not set: x at its smallest, the first usable
    model, no booster, fan-in 2, stateless history (pins override)."""
    d: dict[str, Value] = {}
    lin = linear_ops(task)
    for os_ in space.ops:
        if os_.x is not None and os_.op in lin:
            d[f"{os_.op}.x"] = os_.x.lo
        if os_.models:
            d[f"{os_.op}.model"] = os_.models[0]
        d[f"{os_.op}.vote"] = "none"
    for b in space.blocks:
        for op, dom in b.fanin:
            d[f"{op}.fanin"] = dom.lo
        for op, _opts in b.history:
            d[f"{op}.history"] = "stateless"
    d.update(pins)
    # A pinned vote kind without its count: the smallest count of that kind (what a plan
    # that cannot run at all is shown with; the search chooses the count otherwise).
    for os_ in space.ops:
        kind = d.get(f"{os_.op}.vote")
        if kind in VOTE_KINDS and f"{os_.op}.votes" not in d:
            lows = [b.lo for b in os_.boosters if b.kind == kind]
            d[f"{os_.op}.votes"] = lows[0] if lows else (3 if kind == "majority" else 1)
    return d


class BlockSearch:
    """The search state of one block under one set of pins."""

    def __init__(
        self,
        index: int,
        space: Space,
        task: Task,
        block: Block,
        checked: Any,
        ctx: Any,
        pins: Mapping[str, Value],
        latency: bool,
        counter: Work,
    ):
        self.index = index
        self.task = task
        self.block = block
        self.ctx = ctx
        self.pins = pins
        self.vars = _make_vars(space, task, block, checked, pins)
        self.history = [
            (op, (str(pins[f"{op}.history"]),) if f"{op}.history" in pins else opts)
            for op, opts in block.history
        ]
        self.units = ou.make_units(space, ctx, block, pins, latency)
        self.evaluator = ou.PartEvaluator(ctx, latency, counter)
        self.states: dict[tuple, ou.FamilyState] = {}
        self.shapes: dict[tuple, list | None] = {}  # shape key -> frames (None: cannot run)
        self.cache: dict[tuple, list[Point]] = {}  # (shape key, dims) -> points
        self.regions: dict[int, Region] = {}
        self.next_region = 0

    # -- shapes --------------------------------------------------------------------------

    def shape_decisions(self, key: tuple) -> dict[str, Value]:
        nv = len(self.vars)
        d: dict[str, Value] = {}
        for var, val in zip(self.vars, key[:nv], strict=True):
            for k in var.keys:
                d[k] = val
        for (op, _opts), h in zip(self.history, key[nv:], strict=True):
            d[f"{op}.history"] = h
        return d

    def canonical(self, key: tuple) -> tuple:
        """A fan-in at or above the number of inputs M builds the same one-level tree as M."""
        out = list(key)
        for i, var in enumerate(self.vars):
            if var.feeds is None:
                continue
            xv = self.vars[var.feeds]
            if xv.n is None:
                continue
            m = -(-xv.n // out[var.feeds])
            if out[i] > m:
                out[i] = max(var.lo, m)
        return tuple(out)

    def frames(self, key: tuple, base: Mapping[str, Value]) -> list | None:
        if key not in self.shapes:
            shape = {**base, **self.shape_decisions(key)}
            self.shapes[key] = ou.shape_frames(self.ctx, self.block, shape)
        return self.shapes[key]

    def shape_points(self, key: tuple, base: Mapping[str, Value], dims: list[int]) -> list[Point]:
        """The block's points (real, and optimistic for count gaps) at one shape."""
        ck = (key, tuple(dims))
        hit = self.cache.get(ck)
        if hit is not None:
            return hit
        frames = self.frames(key, base)
        if frames is None:
            self.cache[ck] = []
            return []
        head = Point(ou.decisions_tuple(self.shape_decisions(key)), ou.NO_METRICS, 0.0, key)
        const = [head]
        log_const = math.fsum(fr.log_success for fr in frames if fr.log_success is not None)
        if log_const:
            const = [Point(head.decisions, head.metrics, log_const, key)]
        sets = [const]
        for ui, unit in enumerate(self.units):
            pts = ou.unit_points(
                self.index, ui, unit, key, self.states, self.evaluator, frames, dims
            )
            if not pts:
                self.cache[ck] = []
                return []
            sets.append(pts)
        out = merge(sets, dims)
        self.cache[ck] = out
        return out

    def invalidate(self, key: tuple) -> None:
        for ck in [c for c in self.cache if c[0] == key]:
            del self.cache[ck]

    # -- candidates and regions -----------------------------------------------------------

    def initial_shapes(self, env: Mapping[str, float], base: Mapping[str, Value]) -> list[tuple]:
        """The first shapes to evaluate: a few values of each variable (``optimize_candidates``)
        and every history; the whole box becomes the first region."""
        for var in self.vars:
            if var.lo == var.hi:
                var.values = [var.lo]
                continue
            vals = cand.initial(var.lo, var.hi, var.n)
            ops = tuple(k.split(".", 1)[0] for k in var.keys)
            if var.n is not None and var.keys[0].endswith(".x"):
                var.snap_ok = _monotone(self.task, ops, env, vals)
                if var.snap_ok:
                    vals = cand.snapped(vals, var.n, var.lo, var.hi)
            var.values = vals
        hist = [list(opts) for _op, opts in self.history]
        keys: list[tuple] = [()]
        for values in [v.values for v in self.vars] + hist:
            keys = [(*k, v) for k in keys for v in values]
        shapes = list(dict.fromkeys(self.canonical(k) for k in keys))
        box = tuple((v.lo, v.hi) for v in self.vars)
        for h in _product([list(opts) for _op, opts in self.history]):
            if any(lo < hi for lo, hi in box):
                self.add_region(Region(box, h))
        return shapes

    def add_region(self, region: Region) -> None:
        self.regions[self.next_region] = region
        self.next_region += 1

    def region_points(self, rid: int, base: Mapping[str, Value], dims: list[int]) -> list[Point]:
        """Optimistic points covering every shape and option of a region."""
        region = self.regions[rid]
        box = {}
        for var, (lo, hi) in zip(self.vars, region.box, strict=True):
            for k in var.keys:
                box[k] = (lo, hi)
        for k, v in base.items():
            if k.endswith((".x", ".fanin")) and k not in box and isinstance(v, int):
                box[k] = (v, v)
        hist = {op: h for (op, _o), h in zip(self.history, region.history, strict=True)}
        fbs = []
        for i in self.block.stages:
            stage = self.task.stages[i]
            h = None
            if isinstance(stage, ChainStage):
                h = stage.history if stage.history != "choose" else hist.get(stage.ops[0])
            fb = nested_bounds(self.ctx, i, box, bs.frame_bounds(self.ctx, i, box, h))
            if not fb.possible:
                return []
            fbs.append(fb)
        ref = RegionRef(self.index, rid)
        lo_key = tuple(lo for lo, _hi in region.box) + region.history
        head = Point(
            ou.decisions_tuple(self.shape_decisions(lo_key)),
            ou.NO_METRICS,
            math.fsum(fb.log_hi for fb in fbs),
            lo_key,
            pseudo=(ref,),
        )
        sets = [[head]]
        for unit in self.units:
            pts = self._unit_bounds(unit, fbs, dims)
            if not pts:
                return []
            sets.append(pts)
        return merge(sets, dims)

    def _unit_bounds(self, unit: ou.Unit, fbs: list, dims: list[int]) -> list[Point]:
        ctx = self.ctx
        out: list[Point] = []
        for ci, config in enumerate(unit.configs):
            cfg = dict(config)
            part_sets = []
            for op in unit.parts:
                uses = [
                    (s, ctx.routes.get(s.op) == op and s.op != op)
                    for fb in fbs
                    for s in fb.slots
                    if s.op == op or (ctx.routes.get(s.op) == op and ctx.routed(s.op, cfg[s.op]))
                ]
                if not uses:
                    continue
                pts = []
                for fi, fam in enumerate(unit.fams.get((op, cfg[op]), [])):
                    vmodel = cfg.get(fam.booster.check) if fam.booster.check else None
                    for bi, (lo, hi) in enumerate(_count_blocks(fam)):
                        value = self._family_bound(fam, lo, hi, uses, vmodel)
                        if value is not None:
                            rep = "inf" if math.isinf(lo) else int(lo)
                            d = ou.decisions_tuple(fam.decisions(rep))
                            pts.append(Point(d, value[0], value[1], (ci, fi, bi)))
                if not pts:
                    part_sets = None
                    break
                part_sets.append(pareto(pts, dims))
            if part_sets is None:
                continue
            fixed = ou.decisions_tuple({f"{o}.model": m for o, m in config})
            out.extend(merge([[Point(fixed, ou.NO_METRICS, 0.0, (ci,))], *part_sets], dims))
        return pareto(out, dims)

    def _family_bound(self, fam, lo, hi, uses, vmodel):
        self.evaluator.counter.spend(len(uses))  # bounds count as work, like evaluations
        booster = fam.bounds(lo, hi, vmodel)
        total = bs.NONE_OPTION
        for slot, as_router in uses:
            extra = bs.ZERO if as_router else slot.extra
            max_lo = 0.0 if as_router else slot.max_extra_lo
            node = () if as_router else slot.env
            d = bs.decision_bounds(
                self.ctx, fam.op, slot.x, fam.model, booster, extra, max_lo, node
            )
            if d is None:
                return None
            total = total + bs.contribution(slot, d)
        lows = tuple(m.lo for m in total.metrics)
        if not self.evaluator.latency:
            lows = ou._no_latency(lows)
        return lows, total.log_hi

    def split(self, rid: int) -> list[tuple]:
        """Refine a region: enumerate its shapes when few, else split its widest variable.
        Returns the shapes to evaluate now."""
        region = self.regions.pop(rid)
        sizes = [hi - lo + 1 for lo, hi in region.box]
        total = math.prod(sizes) if sizes else 1
        if total <= ENUMERATE:
            keys: list[tuple] = [()]
            for lo, hi in region.box:
                keys = [(*k, v) for k in keys for v in range(lo, hi + 1)]
            return list(dict.fromkeys(self.canonical((*k, *region.history)) for k in keys))
        i = max(range(len(sizes)), key=lambda j: (_width(region.box[j]), -j))
        lo, hi = region.box[i]
        mid = _midpoint(lo, hi)
        for part in ((lo, mid), (mid + 1, hi)):
            box = list(region.box)
            box[i] = part
            self.add_region(Region(tuple(box), region.history))
        return []


def _width(r: tuple[int, int]) -> float:
    lo, hi = r
    if hi <= lo:
        return 0.0
    return math.log(hi + 1) - math.log(lo) if lo > 0 else float(hi - lo)


def _midpoint(lo: int, hi: int) -> int:
    """Where to split ``lo .. hi``: geometrically over wide ranges, else in the middle."""
    if lo >= 1 and hi > 4 * lo:
        mid = math.isqrt(lo * hi)
        return min(max(mid, lo), hi - 1)
    return (lo + hi) // 2


def _count_blocks(fam: ou.Family) -> list[tuple[float, float | None]]:
    """The count ranges of a family's optimistic points: its first count, then ranges growing
    fourfold; an unbounded family ends at ``COUNT_LIMIT`` (retry's ``inf`` included when it
    has one: an upper end of None)."""
    if fam.kind == "none":
        return [(0, 0)]
    first, last = fam.first(), fam.last()
    step = fam.booster.step or 1
    top = ou.COUNT_LIMIT if last is None else min(last, ou.COUNT_LIMIT)
    out: list[tuple[float, float | None]] = []
    lo, size = first, 1
    while lo <= top:
        hi = min(lo + (size - 1) * step, top)
        out.append((lo, hi))
        lo, size = hi + step, size * COUNT_BLOCK_GROWTH
    if fam.booster.inf:
        if out:
            out[-1] = (out[-1][0], None)
        else:
            out.append((math.inf, None))
    return out


def _product(lists: list[list[str]]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = [()]
    for options in lists:
        out = [(*acc, o) for acc in out for o in options]
    return out


def _make_vars(
    space: Space, task: Task, block: Block, checked: Any, pins: Mapping[str, Value]
) -> list[Var]:
    lin = linear_ops(task)
    vars_: list[Var] = []
    grouped: set[str] = set()
    for group in block.shared_x:
        grouped.update(group)
        os_ = space.op(group[0])
        if os_.x is None or group[0] not in lin:
            continue
        vars_.append(_x_var(task, checked, group, os_.x.lo, os_.x.hi, os_.x_data))
    for name in block.ops:
        os_ = space.op(name)
        if name in grouped or os_.x is None or name not in lin:
            continue
        vars_.append(_x_var(task, checked, (name,), os_.x.lo, os_.x.hi, os_.x_data))
    for op, dom in block.fanin:
        feeds = None
        prev = _previous_linear(task, op)
        if prev is not None:
            feeds = next(
                (i for i, v in enumerate(vars_) if any(f"{o}.x" in v.keys for o in prev.ops)),
                None,
            )
        vars_.append(Var((f"{op}.fanin",), dom.lo, dom.hi, None, feeds=feeds))
    for v in vars_:
        pinned = [pins[k] for k in v.keys if k in pins]
        if pinned:
            p = int(pinned[0])
            v.lo = v.hi = p
            v.n = None
    return vars_


def _x_var(task: Task, checked: Any, ops: tuple[str, ...], lo: int, hi: int, data: Any) -> Var:
    stage = _chunk_stage(task, ops[0], data) if data else None
    n = None
    if stage is not None and not (isinstance(stage, MapStage) and stage.overlap is not None):
        n = count_of(checked, data)
    return Var(tuple(f"{o}.x" for o in ops), lo, hi, n)


__all__ = ["METRIC_KEYS", "BlockSearch", "RegionRef", "defaults", "linear_ops"]

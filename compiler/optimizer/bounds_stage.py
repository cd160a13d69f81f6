"""Bounds of stages and decisions over boxes of stage-level decisions (for the optimizer's proofs).

The interval counterpart of ``model.frames`` and ``model.cost.decision_eval``: given ranges of
x (and fan-in) instead of values, ``frame_bounds`` encloses each slot's granularity, decision
count, latency factor and conversation reads, and ``decision_bounds`` one decision's metrics
and success for a model and a booster over a range of counts. Chunk counts and tree levels come
from the same functions as the cost model's (``chunk_count``, ``reduce_levels``), evaluated at
the ends of the ranges where they are monotone.

Everything here is an *enclosure*: the value of every plan in the box lies inside. A result of
``None`` means no plan in the box can run (a call that overflows the context, a red flag that
discards every answer, voting whose right answer is never the most likely one).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from aalp.front.ir import LATENCY_METRICS, ChainStage, MapStage, ReduceStage
from aalp.front.numbers import exact
from aalp.model.frames import parallel_factor, uses_node_names
from aalp.model.metrics import METRIC_FIELDS
from aalp.optimizer import bounds as bd
from aalp.optimizer import bounds_judge as bj
from aalp.optimizer import interval as iv
from aalp.optimizer import polynomial as poly
from aalp.optimizer.interval import Interval
from aalp.plan.context import Context
from aalp.plan.decisions import shared_x_ops
from aalp.plan.shape import chunk_count, reduce_levels, window_cover

INF = math.inf
ZERO = Interval(0.0, 0.0)
METRICS = METRIC_FIELDS  # calls, forward_passes, cost, tokens, dollars, latency, latency_calls
LAT = tuple(METRICS.index(m) for m in LATENCY_METRICS)


@dataclass(frozen=True)
class SlotBounds:
    op: str
    x: Interval
    count: Interval
    latency_factor: Interval
    extra: Interval = ZERO
    max_extra_lo: float = 0.0
    overridden: bool = False  # the stage's success formula replaces this slot's success
    # n when the slot's count is ceil(n/x) for its own x (so count·x >= n), else None
    units: float | None = None
    # the decisions on an item's path when the optimizer carries accuracy and they are not
    # all of the slot's (docs/model.md §3, items); None: ``count``
    weight: Interval | None = None
    # a reduce node's fanin, level and calls, for an op whose formulas use them
    env: tuple[tuple[str, Interval], ...] = ()


@dataclass(frozen=True)
class FrameBounds:
    slots: tuple[SlotBounds, ...]
    log_hi: float = 0.0  # ln of the stage's success formula, bounded above (0: none)
    possible: bool = True


@dataclass(frozen=True)
class OptionBounds:
    """One option's contribution over a box: metric enclosures and ln(success) from above.

    For one decision, ``per_unit`` bounds each metric divided by x from below and
    ``log_per_unit_hi`` ln(success)/x from above, where the formulas allow it (polynomials in
    x, ``optimize.polynomial``): a slot of ``count >= n/x`` decisions then totals at least n times
    them, which interval arithmetic alone cannot see."""

    metrics: tuple[Interval, ...]
    log_hi: float
    per_unit: tuple[float, ...] | None = None
    log_per_unit_hi: float | None = None

    def __add__(self, other: OptionBounds) -> OptionBounds:
        return OptionBounds(
            tuple(a + b for a, b in zip(self.metrics, other.metrics, strict=True)),
            self.log_hi + other.log_hi,
        )


NONE_OPTION = OptionBounds(tuple(ZERO for _ in METRICS), 0.0)


def _env(ctx: Context, x: Interval) -> dict[str, Interval]:
    base = ctx.memo.get("interval-env")
    if base is None:
        base = {k: Interval(v, v) for k, v in ctx.fenv.items()}
        ctx.memo["interval-env"] = base
    return {**base, "x": x}


def formula(ctx: Context, expr, x: Interval, extra: Mapping[str, Interval] | None = None):
    env = _env(ctx, x)
    if extra:
        env.update(extra)
    return iv.evaluate(expr, env)


Range = tuple[int, int]


def of_range(r: Range) -> Interval:
    """An integer range as an interval of floats that holds it (outward where inexact)."""
    lo, hi = float(r[0]), float(r[1])
    return Interval(
        lo if lo <= r[0] else math.nextafter(lo, -INF),
        hi if hi >= r[1] else math.nextafter(hi, INF),
    )


def _chunks(ctx: Context, stage, x: Range | None) -> tuple[Interval, bool]:
    n = ctx.count(stage.over)
    overlap = getattr(stage, "overlap", None)
    rho = None if overlap is None else exact(overlap, ctx.env)
    ok = rho is None or 0 <= rho < 1
    if not ok:
        rho = None
    if x is None:
        c = chunk_count(n, None)
        return of_range((c, c)), ok
    return of_range((chunk_count(n, x[1], rho), chunk_count(n, x[0], rho))), ok


def _linear(ctx: Context, stage, box: Mapping[str, Range], history: str | None) -> FrameBounds:
    shared = shared_x_ops(ctx, stage)
    xr = box[f"{shared[0]}.x"] if shared else None
    x = of_range(xr) if xr is not None else None
    chunks, ok = _chunks(ctx, stage, xr)
    chain = isinstance(stage, ChainStage)
    op_x: dict[str, Interval] = {}
    base: dict[str, Interval] = {}
    for op in stage.ops:
        if op in shared and x is not None:
            op_x[op] = x
        elif ctx.op(op).granularity is not None:
            op_x[op] = of_range(box[f"{op}.x"])
        else:
            op_x[op] = Interval(1.0, 1.0)
        o = ctx.op(op)
        base[op] = (formula(ctx, o.reads, op_x[op]) + formula(ctx, o.writes, op_x[op])).clamp(
            0.0, INF
        )
    if chain:
        factor = chunks
    else:
        c_lo, c_hi = _ends(chunks)
        factor = Interval(parallel_factor(c_lo, ctx.workers), parallel_factor(c_hi, ctx.workers))
    step = ZERO
    for b in base.values():
        step = step + b
    overridden = isinstance(stage, MapStage) and stage.success is not None
    # count·x >= n holds for the ops over the stage's data, without overlapping windows
    plain = getattr(stage, "overlap", None) is None and history != "full" and x is not None
    n = float(ctx.count(stage.over)) if plain else None
    slots = []
    before = ZERO
    for op in stage.ops:
        extra, max_lo = ZERO, 0.0
        if history == "full":
            extra = before + step * (chunks - 1.0) * 0.5
            max_lo = (before + step * (chunks - 1.0)).lo
        units = n if op in shared else None
        weight = _linear_weight(ctx, stage, chunks)
        slots.append(
            SlotBounds(op, op_x[op], chunks, factor, extra, max_lo, overridden, units, weight)
        )
        before = before + base[op]
    log_hi = 0.0
    if overridden:
        p = formula(ctx, stage.success, x or Interval(1.0, 1.0), {"calls": chunks})
        log_hi = math.log(p.hi) if p.hi > 0 else -INF
        if p.hi <= 0:
            ok = False
    return FrameBounds(tuple(slots), log_hi, ok)


def _linear_weight(ctx: Context, stage, chunks: Interval) -> Interval | None:
    """``aalp.model.frames.item_weight`` over a range of chunk counts (None: the count)."""
    if ctx.measure != "accuracy" or ctx.items is None or stage.over != ctx.items:
        return None
    if isinstance(stage, ChainStage):
        return Interval((chunks.lo + 1.0) / 2.0, (chunks.hi + 1.0) / 2.0)
    overlap = getattr(stage, "overlap", None)
    cover = float(window_cover(None if overlap is None else exact(overlap, ctx.env)))
    return Interval(min(cover, max(chunks.lo, 0.0)), cover)


def _ends(v: Interval) -> Range:
    """The integer range inside an interval that holds whole numbers."""
    lo = math.ceil(v.lo) if math.isfinite(v.lo) else 0
    hi = math.floor(v.hi) if math.isfinite(v.hi) else 2**1000
    return lo, max(lo, hi)


def _reduce(ctx: Context, index: int, stage: ReduceStage, box: Mapping[str, Range]):
    from aalp.front.nesting import input_stage

    i = input_stage(ctx.task, index)
    prev = None if i is None else ctx.task.stages[i]
    if prev is None:
        return FrameBounds((), 0.0, True)
    shared = shared_x_ops(ctx, prev)
    u = box[f"{shared[0]}.x"] if shared else (1, 1)
    m, _ok = _chunks(ctx, prev, u if shared else None)
    m_lo, m_hi = _ends(m)
    n = ctx.count(prev.over)
    if stage.fanin is not None:
        f = int(exact(stage.fanin, ctx.env))
        f_lo, f_hi = f, f
    else:
        f_lo, f_hi = box[f"{stage.op}.fanin"]
    if f_hi < 2:
        return FrameBounds((), -INF, False)
    f_lo = max(2, f_lo)
    on_path = ctx.measure == "accuracy" and ctx.items is not None and prev.over == ctx.items
    rho = getattr(prev, "overlap", None)
    cover = float(window_cover(None if rho is None else exact(rho, ctx.env)))
    fewest = reduce_levels(m_lo, u[0], n, f_hi)
    most = reduce_levels(m_hi, u[1], n, f_lo)
    slots = []
    for level in range(1, len(most) + 1):
        nodes_hi = most[level - 1][0]
        nodes_lo = fewest[level - 1][0] if level <= len(fewest) else 0
        x_lo = int(min(n, u[0] * f_lo**level))
        x_hi = int(min(n, u[1] * f_hi**level))
        factor = Interval(
            parallel_factor(nodes_lo, ctx.workers), parallel_factor(nodes_hi, ctx.workers)
        )
        nodes = of_range((nodes_lo, nodes_hi))
        weight = None
        if on_path:  # one node per leaf of an item (none if the level may not be there)
            weight = Interval(min(cover, float(nodes_lo)), cover)
        env: tuple[tuple[str, Interval], ...] = ()
        if uses_node_names(ctx, stage.op):
            lv = float(level)
            env = (("calls", nodes), ("fanin", of_range((f_lo, f_hi))), ("level", Interval(lv, lv)))
        slots.append(
            SlotBounds(stage.op, of_range((x_lo, x_hi)), nodes, factor, weight=weight, env=env)
        )
    return FrameBounds(tuple(slots), 0.0, True)


def frame_bounds(
    ctx: Context, index: int, box: Mapping[str, Range], history: str | None = None
) -> FrameBounds:
    """Enclosures of stage ``index``'s slots over ``box`` (decision key -> integer range:
    every ``op.x`` and ``op.fanin`` the stage reads; one-value ranges for fixed ones)."""
    stage = ctx.task.stages[index]
    match stage:
        case MapStage() | ChainStage():
            fb = _linear(ctx, stage, box, history if isinstance(stage, ChainStage) else None)
        case ReduceStage():
            fb = _reduce(ctx, index, stage, box)
        case _:
            return FrameBounds(())
    return fb  # one run's: a nested stage's is scaled by ``bounds_nested.nested_bounds``


# ---------------------------------------------------------------------------------------------
# one decision
# ---------------------------------------------------------------------------------------------


def _outcomes(ctx: Context, op: str, x: Interval, model: str, env=None):
    o = ctx.op(op)
    outcomes = o.success
    for ms in o.success_on:
        if ms.model == model:
            outcomes = ms.outcomes
    weights, succ, rivals = [], [], []
    rival = None if o.rival is None else formula(ctx, o.rival, x, env).clamp(0.0, 1.0)
    for out in outcomes:
        weights.append(formula(ctx, out.weight, x, env).clamp(0.0, INF))
        a = formula(ctx, out.p, x, env).clamp(0.0, 1.0)
        succ.append(a)
        wrong = Interval(1.0 - a.hi, 1.0 - a.lo)
        if rival is None:
            rivals.append(wrong)
        else:
            rivals.append(Interval(min(rival.lo, wrong.lo), min(rival.hi, wrong.hi)))
    return weights, succ, rivals


def _keep(ctx: Context, op: str, x: Interval, writes: Interval, env=None) -> Interval | None:
    rf = ctx.op(op).red_flag
    if rf is None:
        return Interval(1.0, 1.0)
    if rf.max_writes is not None and writes.lo > formula(ctx, rf.max_writes, x, env).hi:
        return None  # every response is longer than the red flag's limit
    if rf.keep is None:
        return Interval(1.0, 1.0)
    v = formula(ctx, rf.keep, x, env).clamp(0.0, 1.0)
    return None if v.hi <= 0.0 else v


@dataclass(frozen=True)
class Booster:
    """A booster over a range of counts: ``kind`` none | ahead_by | majority | retry; counts
    ``(lo, hi)`` (``hi`` None: unbounded; retry's ``inf`` is ``math.inf``)."""

    kind: str
    lo: float = 0
    hi: float | None = 0
    check: str | None = None
    verifier_model: str | None = None
    beam: tuple[int, int] = (0, 0)  # an expand's (keep, depth)


def _boost(ctx: Context, shape: _Shape, x: Interval, b: Booster):
    weights, succ, rivals = shape.outcomes
    v = shape.keep
    parts = []
    for a, r in zip(succ, rivals, strict=True):
        match b.kind:
            case "none":
                part = bd.single(a, v)
            case "ahead_by":
                hi = None if b.hi is None or math.isinf(b.hi) else int(b.hi)
                part = bd.ahead_by(a, r, v, (int(b.lo), hi))
            case "majority":
                part = bd.majority(a, v, (int(b.lo), int(b.hi or b.lo)))
            case "judge":
                c = _verifier_accuracy(ctx, b, x)
                part = bj.judge(a, c, v, (b.lo, INF if b.hi is None else b.hi))
            case "expand":
                c = _verifier_accuracy(ctx, b, x)
                keep, depth = b.beam
                part = bj.expand(a, c, v, (b.lo, b.hi if b.hi is not None else b.lo), keep, depth)
            case "retry" if b.check == "exact":
                part = bd.retry_exact(a, v, (b.lo, INF if b.hi is None else b.hi))
            case _:
                c = _verifier_accuracy(ctx, b, x)
                part = bd.retry_verifier(a, c, v, (b.lo, INF if b.hi is None else b.hi))
        if part is None:
            return None
        parts.append(part)
    return parts[0] if len(parts) == 1 else bd.mixture(weights, parts)


def _verifier_accuracy(ctx: Context, b: Booster, x: Interval) -> Interval:
    weights, succ, _ = _outcomes(ctx, b.check or "", x, b.verifier_model or "")
    lo = math.fsum(w.lo * a.lo for w, a in zip(weights, succ, strict=True))
    hi = math.fsum(w.hi * a.hi for w, a in zip(weights, succ, strict=True))
    return Interval(lo, hi).clamp(0.0, 1.0)


def _call(info, reads: Interval, writes: Interval, spread: Interval = ZERO) -> list[Interval]:
    """One call's metrics (``aalp.model.cost.call_metrics``) over the ranges. Reads are
    clamped at 0 before they are squared (quadratic attention), so the prefill's R·(R − 1)/2
    is bounded on a range where it is monotone above R = 1/2."""
    one = Interval(1.0, 1.0)
    dollars = (reads * info.price_in + writes * info.price_out) * 1e-6
    return [
        one,
        writes,
        bd.call_cost(info.size, reads, writes, info.quadratic, spread),
        reads + writes,
        dollars,
        writes,
        one,
        _seconds(info, reads, writes),
    ]


def _seconds(info, reads: Interval, writes: Interval) -> Interval:
    """One call's seconds over the ranges (0 without a speed): linear, increasing in both."""
    pace = info.pace
    if pace is None:
        return ZERO
    return reads * pace.per_read + writes * pace.per_write + pace.overhead


@dataclass(frozen=True)
class _Shape:
    """What a decision's bounds take from the op, the model and the range of x alone."""

    reads: Interval
    writes: Interval
    keep: Interval
    outcomes: tuple
    call: list[Interval]  # one call's metrics, without conversation reads
    per_unit: list[float]  # one call's metrics per unit of x, from below


def _shape(ctx: Context, op: str, model: str, x: Interval, node: tuple = ()) -> _Shape | None:
    key = ("shape", op, model, x.lo, x.hi, node)
    hit = ctx.memo.get(key, False)
    if hit is not False:
        return hit
    info = ctx.models.get(model)
    out = None
    env = dict(node) if node else None
    if info is not None:
        o = ctx.op(op)
        reads = formula(ctx, o.reads, x, env).clamp(0.0, INF)
        writes = formula(ctx, o.writes, x, env).clamp(0.0, INF)
        v = _keep(ctx, op, x, writes, env)
        if v is not None:
            per_unit = (
                [(m * iv.reciprocal(x)).lo for m in _call(info, reads, writes)]
                if node
                else _call_per_unit(ctx, op, info, x, reads, writes)
            )
            out = _Shape(
                reads,
                writes,
                v,
                _outcomes(ctx, op, x, model, env),
                _call(info, reads, writes),
                per_unit,
            )
    ctx.memo[key] = out
    return out


def decision_bounds(
    ctx: Context,
    op: str,
    x: Interval,
    model: str,
    booster: Booster,
    extra: Interval = ZERO,
    max_extra_lo: float = 0.0,
    node: tuple[tuple[str, Interval], ...] = (),
) -> OptionBounds | None:
    """One decision of ``op`` on ``model`` with ``booster`` over ``x`` (without its router's
    call, which the optimizer bounds separately); None when no point of the box can run.
    ``node``: a reduce node's ``fanin``, ``level`` and ``calls`` over ranges."""
    info = ctx.models.get(model)
    shape = _shape(ctx, op, model, x, node)
    if info is None or shape is None:
        return None
    if shape.reads.lo + max_extra_lo + shape.writes.lo > info.context:
        return None
    boost = _boost(ctx, shape, x, booster)
    if boost is None:
        return None
    call = shape.call
    if extra.hi != 0.0:
        # a conversation's reads vary over the chain's steps; their variance, G²·(C² − 1)/12,
        # is at most the square of their mean's growth (C + 1 ≤ 3·(C − 1) for C ≥ 2), so at
        # most extra² (model.md §3): the bound stays true without knowing G and C apart
        spread = Interval(0.0, extra.hi * extra.hi)
        call = _call(info, shape.reads + extra, shape.writes, spread)
    metrics = [m * boost.samples for m in call]
    for i in LAT:
        metrics[i] = call[i] * boost.rounds
    per_unit = None
    if extra.hi == 0.0:
        per_unit = [p * boost.samples.lo for p in shape.per_unit]
        for i in LAT:
            per_unit[i] = shape.per_unit[i] * boost.rounds.lo
    log_pu = _log_per_unit(ctx, op, model, x) if booster.kind == "none" and not node else None
    if booster.kind == "retry" and booster.check != "exact":
        vinfo = ctx.models.get(booster.verifier_model or "")
        vshape = _shape(ctx, booster.check or "", booster.verifier_model or "", x)
        if vinfo is None or vshape is None:
            return None
        if vshape.reads.lo + vshape.writes.lo > vinfo.context:
            return None
        per = boost.tries * iv.reciprocal(vshape.keep)
        metrics = [m + c * per for m, c in zip(metrics, vshape.call, strict=True)]
        if per_unit is not None:
            per_unit = [p + v * per.lo for p, v in zip(per_unit, vshape.per_unit, strict=True)]
    if booster.kind == "expand":
        scored = _scorer_metrics(ctx, booster, x, shape.writes, boost.tries)
        if scored is None:
            return None
        metrics = [m + j for m, j in zip(metrics, scored, strict=True)]
        per_unit = None
    if booster.kind == "judge":
        judged = _judge_metrics(ctx, booster, x, shape.writes)
        if judged is None:
            return None
        metrics = [m + j for m, j in zip(metrics, judged, strict=True)]
        per_unit = None  # the judge's reads grow with n: no per-unit bound is claimed
    return OptionBounds(
        tuple(metrics),
        boost.log_success_hi,
        tuple(max(0.0, p) for p in per_unit) if per_unit is not None else None,
        log_pu,
    )


def _scorer_metrics(ctx: Context, b: Booster, x: Interval, writes: Interval, tries):
    """A beam's scorer over the box: one call per candidate (``tries`` of them), each reading
    its reads plus the candidate, a level's calls at once (latency: at least one call per
    level, exactly that without red flags); None if it cannot run."""
    info = ctx.models.get(b.verifier_model or "")
    sshape = _shape(ctx, b.check or "", b.verifier_model or "", x)
    if info is None or sshape is None:
        return None
    reads = sshape.reads + writes.clamp(0.0, INF)
    if reads.lo + sshape.writes.lo > info.context:
        return None
    per = tries * iv.reciprocal(sshape.keep)
    depth = float(b.beam[1])
    levels = Interval(depth, depth) if sshape.keep.lo >= 1.0 else Interval(depth, INF)
    out = [m * per for m in _call(info, reads, sshape.writes)]
    call = _call(info, reads, sshape.writes)
    for i in LAT:
        out[i] = call[i] * levels
    return out


def _judge_metrics(ctx: Context, b: Booster, x: Interval, writes: Interval):
    """The judge's call over the box: it reads its own reads plus n candidates of the op's
    writes, once per decision (``1/v`` calls with its red flags); None if it cannot run."""
    info = ctx.models.get(b.verifier_model or "")
    jshape = _shape(ctx, b.check or "", b.verifier_model or "", x)
    if info is None or jshape is None:
        return None
    n = Interval(b.lo, INF if b.hi is None else b.hi)
    reads = jshape.reads + n * writes.clamp(0.0, INF)
    if reads.lo + jshape.writes.lo > info.context:
        return None
    per = iv.reciprocal(jshape.keep)
    if b.lo < 2:  # n = 1 (a pin) calls no judge
        per = Interval(0.0, per.hi)
    return [m * per for m in _call(info, reads, jshape.writes)]


def _polys(ctx: Context, op: str):
    """(reads, writes) of ``op`` as polynomials in x, or None (cached per context)."""
    key = ("polys", op)
    if key not in ctx.memo:
        o = ctx.op(op)
        r, w = poly.as_poly(o.reads, ctx.fenv), poly.as_poly(o.writes, ctx.fenv)
        ctx.memo[key] = (r, w) if r is not None and w is not None else None
    return ctx.memo[key]


def _call_per_unit(ctx: Context, op: str, info, x: Interval, reads, writes) -> list[float]:
    """Lower bounds of one call's metrics divided by x, over x."""
    ps = _polys(ctx, op)
    if ps is None:
        return [(m * iv.reciprocal(x)).lo for m in _call(info, reads, writes)]
    r, w = ps
    one = {0: 1.0}
    rw, tri = poly.mul(r, w), poly.mul(w, poly.add(w, one, -1.0))
    if rw is None or tri is None:  # degree too high to expand: bound by intervals instead
        return [(m * iv.reciprocal(x)).lo for m in _call(info, reads, writes)]
    cost = poly.scale(poly.add(rw, poly.scale(tri, 0.5)), info.size)
    if info.quadratic:  # the prefill, m·R·(R − 1)/2
        pre = poly.mul(r, poly.add(r, one, -1.0))
        if pre is None:
            return [(m * iv.reciprocal(x)).lo for m in _call(info, reads, writes)]
        cost = poly.add(cost, poly.scale(pre, 0.5 * info.size))
    tokens = poly.add(r, w)
    priced = poly.add(poly.scale(r, info.price_in), poly.scale(w, info.price_out))
    dollars = poly.scale(priced, 1e-6)
    out = []
    pace = info.pace
    timed = {0: 0.0}
    if pace is not None:
        timed = poly.add(poly.scale(r, pace.per_read), poly.scale(w, pace.per_write))
        timed = poly.add(timed, {0: pace.overhead})
    for p in (one, w, cost, tokens, dollars, w, one, timed):
        out.append(poly.bounds(poly.shift(p, -1), x).lo)
    return out


def _log_per_unit(ctx: Context, op: str, model: str, x: Interval) -> float | None:
    """An upper bound of ln(success)/x over x for an unboosted call, when ln(success) is a
    polynomial in x (one outcome only)."""
    key = ("logpoly", op, model)
    if key not in ctx.memo:
        o = ctx.op(op)
        outcomes = o.success
        for ms in o.success_on:
            if ms.model == model:
                outcomes = ms.outcomes
        lp = poly.as_log_poly(outcomes[0].p, ctx.fenv) if len(outcomes) == 1 else None
        ctx.memo[key] = lp
    lp = ctx.memo[key]
    if lp is None:
        return None
    return poly.bounds(poly.shift(lp, -1), x).hi


def contribution(slot: SlotBounds, d: OptionBounds) -> OptionBounds:
    """A slot's part of its stage (``aalp.model.cost.contribution`` over ranges). With ``units``
    (count·x >= n) a total is also at least n times the per-unit bound."""
    metrics = [m * slot.count for m in d.metrics]
    for i in LAT:
        metrics[i] = d.metrics[i] * slot.latency_factor
    if slot.units is not None and d.per_unit is not None:
        chain_like = slot.latency_factor == slot.count
        for i, pu in enumerate(d.per_unit):
            if i in LAT and not chain_like:
                continue
            floor = slot.units * pu
            if floor > metrics[i].lo:
                metrics[i] = Interval(floor, max(floor, metrics[i].hi))
    # ln(success) of the decisions the carried reliability counts: all of the slot's, or the
    # ones on an item's path (``weight``, when the optimizer carries accuracy)
    counted = slot.count if slot.weight is None else slot.weight
    unbounded = slot.overridden or counted.lo == 0 or d.log_hi == 0.0
    log_hi = 0.0 if unbounded else d.log_hi * counted.lo
    if (
        not slot.overridden
        and slot.weight is None
        and slot.units is not None
        and d.log_per_unit_hi is not None
    ):
        log_hi = min(log_hi, slot.units * min(0.0, d.log_per_unit_hi))
    return OptionBounds(tuple(metrics), log_hi)

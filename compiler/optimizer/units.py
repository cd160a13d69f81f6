"""The options of a block, op by op, and its exact Pareto set at one shape.

Once a block's stage-level decisions (its *shape*: granularities, fan-ins, histories) are fixed,
its stages' metrics are sums over slots (``aalp.model.frames``) and each op's model and booster
only change the slots where that op decides. So the block splits into *units*, ops whose
choices interact (an op with the router that classifies for it and the verifier that checks
it), and each unit into *parts*, one per op with a booster to choose, whose metrics add once
the unit's models are fixed (a *config*). The block's Pareto set at a shape is the merge of its
units' sets, each the union over configs of the merge of its parts' sets: never the product of
every op's choices.

A part's options are *families*: a model and a booster kind over a range of counts (votes,
retries). Counts are evaluated lazily, densely at first and then doubling; the ranges between
evaluated counts, and beyond the last one, are *gaps*, kept as optimistic points (bounds over the
gap, from ``aalp.optimizer.bounds_stage``) so that the search can prove them useless or refine them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from operator import add
from typing import Any

from aalp.front.ir import VOTE_KINDS
from aalp.model.cost import contribution_values, decision_eval, measure_log
from aalp.model.frames import Frame, Slot, stage_frame
from aalp.optimizer import bounds_stage as bs
from aalp.optimizer.pareto import METRIC_KEYS, Point, merge, pareto
from aalp.optimizer.work import Work
from aalp.plan.plan import Choice, DecisionError, Expand, Judge, Retry, Vote
from aalp.plan.space import Block, Booster, Space, Value

# Counts evaluated one by one before the doubling starts, and the largest count ever searched.
DENSE_COUNTS = 8
COUNT_LIMIT = 1_000_000
# Ahead-by-k's rounds (its latency) take a linear solve of 2k − 1 states: its counts stop at
# ``ROUNDS_LIMIT`` when the search decides on latency, and at ``AHEAD_LIMIT`` otherwise (the
# plan chosen is evaluated in full, latency included).
ROUNDS_LIMIT = 512
AHEAD_LIMIT = 2048
INITIAL_COUNTS = 64  # the first evaluation stops here; the counts above are a gap
NEARLY_SURE = 1e-30  # the first evaluation stops at counts this close to certain success
NO_METRICS = tuple(0.0 for _ in METRIC_KEYS)


@dataclass(frozen=True)
class Family:
    """The options of one op that differ only in a count: a model and a booster kind."""

    op: str
    model: str
    booster: Booster
    capped: bool = False  # its counts were cut at ``count_limit`` (no max, or a larger one)

    @property
    def kind(self) -> str:
        return self.booster.kind

    def first(self) -> int:
        return self.booster.lo

    def last(self) -> int | None:
        """The largest finite count (None: unbounded)."""
        b = self.booster
        return 0 if b.kind == "none" else b.hi

    def next_count(self, count: int) -> int:
        return count + (self.booster.step or 1)

    def snap(self, count: int) -> int:
        """The nearest count of the family at or above ``count`` (odd K for majority)."""
        b = self.booster
        step = b.step or 1
        if count <= b.lo:
            return b.lo
        return b.lo + -(-(count - b.lo) // step) * step

    def decisions(self, count: Value) -> dict[str, Value]:
        return {f"{self.op}.model": self.model, **self.booster.decisions(self.op, count)}

    def choice(self, count: Value, verifier_model: str | None) -> Choice:
        b = self.booster
        match b.kind:
            case "none":
                return Choice(self.model)
            case "ahead_by" | "majority":
                return Choice(self.model, Vote(b.kind, int(count)))
            case "judge":
                return Choice(self.model, Judge(b.check, int(count)), verifier_model)
            case "expand":
                keep, depth = b.beam
                return Choice(self.model, Expand(b.check, int(count), keep, depth), verifier_model)
            case _:
                vm = None if b.check == "exact" else verifier_model
                limit = None if count == "inf" else int(count)
                return Choice(self.model, Retry(b.check, limit), vm)

    def bounds(self, lo: float, hi: float | None, verifier_model: str | None) -> bs.Booster:
        b = self.booster
        return bs.Booster(
            b.kind,
            lo,
            hi,
            b.check or None,
            None if b.check == "exact" else verifier_model,
            b.beam,
        )


def count_limit(kind: str, latency: bool) -> int:
    """The largest count searched for a booster (without ``max``, or with a larger one)."""
    if kind == "ahead_by":
        return ROUNDS_LIMIT if latency else AHEAD_LIMIT
    return COUNT_LIMIT


def families(
    space: Space,
    op: str,
    model: str,
    pins: Mapping[str, Value],
    latency: bool = False,
) -> list[Family]:
    """The families of ``op`` on ``model`` that the pins allow; a count without ``max`` is
    searched up to ``count_limit``.

    A pinned vote kind or count that no ``allow`` line covers (a baseline's design) is
    honoured as given: the cost model then reports why it cannot run.
    """
    os_ = space.op(op)
    vote, votes, retries = (pins.get(f"{op}.{f}") for f in ("vote", "votes", "retries"))
    out = []
    for b in os_.boosters:
        if retries is not None:
            if b.kind != "retry":
                continue
            if retries == "inf":
                if not b.inf:
                    continue
                b = Booster("retry", 0, -1, 1, b.check, inf=True)
            elif not (b.lo <= int(retries) and (b.hi is None or int(retries) <= b.hi)):
                continue
            else:
                b = Booster("retry", int(retries), int(retries), 1, b.check)
        elif vote is not None:
            if b.kind != str(vote) and not (vote == "none" and b.kind == "none"):
                continue
            if votes is not None and b.kind in VOTE_KINDS:
                k = int(votes)
                if k < b.lo or (b.hi is not None and k > b.hi) or (k - b.lo) % b.step:
                    continue
                b = replace(b, lo=k, hi=k)
        elif votes is not None:
            if b.kind not in VOTE_KINDS:
                continue
            k = int(votes)
            if k < b.lo or (b.hi is not None and k > b.hi) or (k - b.lo) % b.step:
                continue
            b = replace(b, lo=k, hi=k)
        out.append(Family(op, model, b))
    if not out and (vote is not None or votes is not None or retries is not None):
        out.append(Family(op, model, _as_given(space, op, vote, votes, retries)))
    capped = []
    for f in out:
        b = f.booster
        top = count_limit(b.kind, latency)
        if b.kind != "none" and (b.hi is None or b.hi > top):
            top -= (top - b.lo) % (b.step or 1)
            f = Family(op, model, replace(b, hi=top), True)
        capped.append(f)
    return capped


def _as_given(space: Space, op: str, vote: Any, votes: Any, retries: Any) -> Booster:
    """A pinned booster outside the allowed ones: one family with the pinned values, the count
    at its smallest when only the kind is pinned."""
    if retries is not None:
        check = next((b.check for b in space.op(op).boosters if b.kind == "retry"), "exact")
        if retries == "inf":
            return Booster("retry", 0, -1, 1, check, inf=True)
        return Booster("retry", int(retries), int(retries), 1, check)
    kind = str(vote) if vote is not None else "ahead_by"
    if kind == "none":
        return Booster("none")
    k = int(votes) if votes is not None else (3 if kind == "majority" else 1)
    return Booster(kind, k, k, 2 if kind == "majority" else 1)


def capped_note(fam: Family) -> str:
    """Why a family's counts stop where they do (said when the search reached that far)."""
    kind, top, op = fam.kind, fam.last() or 0, fam.op
    what = "votes" if kind in VOTE_KINDS else "retries"
    why = (
        "their rounds, the latency of the vote, take a linear solve of 2k - 1 states"
        if kind == "ahead_by"
        else "no program runs more samples for one decision"
    )
    return f"{op}: counts of {kind} {what} above {top:,} were not searched ({why})"


@dataclass
class Unit:
    """Ops whose choices interact; ``parts`` have a booster to choose; ``configs`` assign a
    model to every op of the unit."""

    ops: tuple[str, ...]
    parts: tuple[str, ...]
    configs: tuple[tuple[tuple[str, str], ...], ...]
    fams: dict[tuple[str, str], list[Family]]
    verifier: dict[str, str | None]  # op -> the LLM op that verifies its retries (if any)


def make_units(
    space: Space,
    ctx: Any,
    block: Block,
    pins: Mapping[str, Value],
    latency: bool = False,
) -> list[Unit]:
    """The block's units, in the spec's op order."""
    ops = list(block.ops)
    parent = {o: o for o in ops}

    def find(a: str) -> str:
        while parent[a] != a:
            a = parent[a]
        return a

    def union(a: str, b: str) -> None:
        if a in parent and b in parent:
            ra, rb = find(a), find(b)
            if ra != rb:
                keep, drop = sorted((ra, rb), key=ops.index)
                parent[drop] = keep

    verifier: dict[str, str | None] = {}
    for o in ops:
        if o in ctx.routes:
            union(o, ctx.routes[o])
        check = next(
            (
                b.check
                for b in space.op(o).boosters
                if b.kind in ("retry", "judge", "expand") and b.check != "exact"
            ),
            None,
        )
        verifier[o] = check
        for b in space.op(o).boosters:
            if b.kind in ("retry", "judge", "expand") and b.check != "exact":
                union(o, b.check)
    groups: dict[str, list[str]] = {}
    for o in ops:
        groups.setdefault(find(o), []).append(o)
    units = []
    for members in groups.values():
        models: list[list[tuple[str, str]]] = []
        for o in members:
            pinned = pins.get(f"{o}.model")
            choices = [str(pinned)] if pinned is not None else list(space.op(o).models)
            models.append([(o, m) for m in choices])
        configs = _product(models)
        fams = {
            (o, m): families(space, o, m, pins, latency)
            for o in members
            for m in ([str(pins[f"{o}.model"])] if f"{o}.model" in pins else space.op(o).models)
        }
        units.append(Unit(tuple(members), tuple(members), tuple(configs), fams, verifier))
    return units


def _product(lists: list[list[tuple[str, str]]]) -> list[tuple[tuple[str, str], ...]]:
    out: list[tuple[tuple[str, str], ...]] = [()]
    for options in lists:
        out = [(*acc, o) for acc in out for o in options]
    return out


# ---------------------------------------------------------------------------------------------
# one shape
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Use:
    """A slot where a part's op decides: as itself, or as the router of a routed op."""

    slot: Slot
    as_router: bool
    overridden: bool  # the stage's success formula replaces the slots' successes


def uses(ctx: Any, frames: list[Frame], op: str, config: Mapping[str, str]) -> list[Use]:
    """The slots where ``op``'s choice matters under ``config`` (model per op)."""
    out = []
    for fr in frames:
        over = fr.log_success is not None
        for s in fr.slots:
            if s.op == op:
                out.append(Use(s, False, over))
            elif ctx.routes.get(s.op) == op and ctx.routed(s.op, config.get(s.op, "")):
                out.append(Use(s, True, over))
    return out


@dataclass
class Gap:
    """Counts of a family not evaluated yet: ``lo .. hi`` (hi None: unbounded)."""

    lo: int
    hi: int | None


@dataclass
class FamilyState:
    """A family's evaluated counts at one shape and config, and its gaps."""

    family: Family
    points: dict[Value, tuple[tuple[float, ...], float] | None] = field(default_factory=dict)
    gaps: list[Gap] = field(default_factory=list)
    done: bool = False
    bounds: dict[tuple, tuple | None] = field(default_factory=dict)  # gap (lo, hi) -> bound
    at_limit: bool = False  # the search refined the gap that ends at a capped family's limit


class PartEvaluator:
    """Evaluates a part's options at one shape through the cost model (exact) and its gaps
    through the bounds (optimistic)."""

    def __init__(self, ctx: Any, latency: bool, counter: Work):
        self.ctx = ctx
        self.latency = latency
        self.counter = counter

    def exact(
        self, fam: Family, count: Value, part_uses: list[Use], vmodel: str | None
    ) -> tuple[tuple[float, ...], float] | None:
        """(metrics, ln success) of the family at ``count`` summed over the uses; None when
        it cannot run."""
        choice = fam.choice(count, vmodel)
        total: tuple[float, ...] | None = None
        log = 0.0
        for u in part_uses:
            s = u.slot
            extra = 0.0 if u.as_router else s.extra
            max_extra = None if u.as_router else s.max_extra
            self.counter.spend(1)
            try:
                d = decision_eval(
                    self.ctx,
                    fam.op,
                    s.x,
                    choice,
                    extra,
                    max_extra,
                    alone=True,
                    latency=self.latency,
                    spread=0.0 if u.as_router else s.spread,
                    env=() if u.as_router else s.env,
                )
            except DecisionError:
                return None
            if d.problems:
                return None
            m, _ = contribution_values(s, d)
            lg = measure_log(self.ctx, s, d)  # ln(success), or the accuracy bound's part
            total = m if total is None else tuple(map(add, total, m))
            if not u.overridden:
                log += lg
        return (NO_METRICS if total is None else total), log

    def bound(
        self, fam: Family, lo: int, hi: int | None, part_uses: list[Use], vmodel: str | None
    ) -> tuple[tuple[float, ...], float] | None:
        """Optimistic (metrics, ln success) over the counts ``lo .. hi``; None when no count
        of the range can run."""
        self.counter.spend(len(part_uses))
        booster = fam.bounds(lo, COUNT_LIMIT if hi is None else hi, vmodel)
        total = bs.NONE_OPTION
        for u in part_uses:
            s = u.slot
            weight = None
            if self.ctx.measure == "accuracy" and s.weight != s.count:
                weight = bs.Interval(s.weight, s.weight)
            node = () if u.as_router else tuple((k, bs.Interval(v, v)) for k, v in s.env)
            slot = bs.SlotBounds(
                fam.op,
                bs.of_range((s.x, s.x)),
                bs.of_range((s.count, s.count)),
                bs.Interval(s.latency_factor, s.latency_factor),
                bs.ZERO if u.as_router else bs.Interval(s.extra, s.extra),
                0.0 if u.as_router or s.max_extra is None else s.max_extra,
                u.overridden,
                weight=weight,
            )
            d = bs.decision_bounds(
                self.ctx, fam.op, slot.x, fam.model, booster, slot.extra, slot.max_extra_lo, node
            )
            if d is None:
                return None
            total = total + bs.contribution(slot, d)
        lows = tuple(m.lo for m in total.metrics)
        if not self.latency:
            lows = _no_latency(lows)
        return lows, total.log_hi


def _no_latency(metrics: tuple[float, ...]) -> tuple[float, ...]:
    out = list(metrics)
    for i in bs.LAT:
        out[i] = math.nan
    return tuple(out)


def initial_counts(fam: Family) -> Iterator[int]:
    """Counts evaluated first: the first ``DENSE_COUNTS`` counts, then doubling."""
    count = fam.first()
    last = fam.last()
    i = 0
    while last is None or count <= last:
        if count > INITIAL_COUNTS:
            return
        yield count
        i += 1
        count = fam.next_count(count) if i < DENSE_COUNTS else fam.snap(count * 2)


def decisions_tuple(d: Mapping[str, Value]) -> tuple[tuple[str, Value], ...]:
    return tuple(sorted(d.items()))


@dataclass(frozen=True)
class GapRef:
    """Which gap an optimistic point stands for."""

    block: int
    shape: tuple
    unit: int
    config: int
    op: str
    family: int
    lo: int
    hi: int | None


def shape_frames(ctx: Any, block: Block, shape: Mapping[str, Value]) -> list[Frame] | None:
    """The frames of the block's stages at a shape; None when the shape cannot run."""
    frames = []
    for i in block.stages:
        try:
            fr = stage_frame(ctx, i, shape)
        except DecisionError:
            return None
        if fr.problems:
            return None
        frames.append(fr)
    return frames


def unit_points(
    block: int,
    unit_index: int,
    unit: Unit,
    shape_key: tuple,
    states: dict[tuple, FamilyState],
    evaluator: PartEvaluator,
    frames: list[Frame],
    dims: list[int],
) -> list[Point]:
    """The unit's points at a shape (real and optimistic), over every config."""
    ctx = evaluator.ctx
    out: list[Point] = []
    for ci, config in enumerate(unit.configs):
        cfg = dict(config)
        part_sets = []
        fixed = {f"{o}.model": m for o, m in config}
        for op in unit.parts:
            part_uses = uses(ctx, frames, op, cfg)
            if not part_uses:
                continue
            pts: list[Point] = []
            for fi, fam in enumerate(unit.fams.get((op, cfg[op]), [])):
                check = fam.booster.check
                vmodel = cfg.get(check) if check and check != "exact" else None
                key = (shape_key, unit_index, ci, op, fi)
                st = states.get(key)
                if st is None:
                    st = _start(fam, part_uses, vmodel, evaluator)
                    states[key] = st
                pts.extend(_family_points(st, block, key, part_uses, vmodel, evaluator, fi, ci))
            if not pts:
                part_sets = None
                break
            part_sets.append(pareto(pts, dims, keep_pseudo=True))
        if part_sets is None:
            continue
        base = Point(decisions_tuple(fixed), NO_METRICS, 0.0, (ci,))
        merged = merge([[base], *part_sets], dims)
        out.extend(merged)
    return pareto(out, dims, keep_pseudo=True)


def _start(fam: Family, part_uses: list[Use], vmodel: str | None, ev: PartEvaluator) -> FamilyState:
    st = FamilyState(fam)
    last_done: int | None = None
    for count in initial_counts(fam):
        value = ev.exact(fam, count, part_uses, vmodel)
        st.points[count] = value
        if last_done is not None and count > fam.next_count(last_done):
            st.gaps.append(Gap(fam.next_count(last_done), count - (fam.booster.step or 1)))
        last_done = count
        if value is None:
            st.done = True  # the family cannot run at this shape (context, red flag, ...)
            break
        if value[1] == 0.0:
            break  # success is 1 in floating point: more only costs more
        if value[1] > -NEARLY_SURE and fam.kind != "majority":
            # within 1e-30 of certain: the counts above are left to a gap, which the search
            # refines only if a target needs them (success rises with these counts)
            nxt = fam.next_count(count)
            last = fam.last()
            if (last is None or nxt <= last) and nxt <= COUNT_LIMIT:
                st.gaps.append(Gap(nxt, last))
            break
    else:
        if last_done is not None:
            last = fam.last()
            nxt = fam.next_count(last_done)
            if (last is None or nxt <= last) and nxt <= COUNT_LIMIT:
                st.gaps.append(Gap(nxt, last))
    if fam.booster.inf:
        st.points["inf"] = ev.exact(fam, "inf", part_uses, vmodel)
    return st


def _family_points(
    st: FamilyState,
    block: int,
    key: tuple,
    part_uses: list[Use],
    vmodel: str | None,
    ev: PartEvaluator,
    fi: int,
    ci: int,
) -> list[Point]:
    fam = st.family
    out = []
    for count, value in st.points.items():
        if value is None:
            continue
        order = (ci, fi, count if isinstance(count, int) else COUNT_LIMIT + 1)
        out.append(Point(decisions_tuple(fam.decisions(count)), value[0], value[1], order))
    if st.done:
        return out
    for gap in st.gaps:
        gk = (gap.lo, gap.hi)
        if gk not in st.bounds:
            st.bounds[gk] = _gap_bound(st, gap, part_uses, vmodel, ev)
        b = st.bounds[gk]
        if b is None:
            continue
        ref = GapRef(block, key[0], key[1], ci, fam.op, fi, gap.lo, gap.hi)
        order = (ci, fi, gap.lo)
        out.append(Point(decisions_tuple(fam.decisions(gap.lo)), b[0], b[1], order, pseudo=(ref,)))
    return out


def _gap_bound(
    st: FamilyState, gap: Gap, part_uses: list[Use], vmodel: str | None, ev: PartEvaluator
) -> tuple[tuple[float, ...], float] | None:
    """Optimistic (metrics, ln success) over a gap of counts.

    Votes and retries only add samples and only raise success as their count grows (ahead-by
    and retries always; majority only when every input's success exceeds 1/2, so majority
    is bounded by ``optimize.bounds`` instead): the count evaluated just below the gap bounds its
    metrics from below, the one just above its success from above (the tail of an unbounded
    family: success 1)."""
    fam = st.family
    if fam.kind == "majority":
        return ev.bound(fam, gap.lo, gap.hi, part_uses, vmodel)
    finite = [c for c, v in st.points.items() if isinstance(c, int) and v is not None]
    below = max((c for c in finite if c < gap.lo), default=None)
    above = [c for c in finite if gap.hi is not None and c > gap.hi]
    if below is None:
        return ev.bound(fam, gap.lo, gap.hi, part_uses, vmodel)
    metrics = st.points[below][0]  # type: ignore[index]
    if above:
        log_hi = st.points[min(above)][1]  # type: ignore[index]
    elif st.points.get("inf") is not None:
        log_hi = st.points["inf"][1]  # type: ignore[index]
    else:
        top = ev.bound(fam, gap.lo, gap.hi, part_uses, vmodel)
        if top is None:
            return None
        log_hi = top[1]
    return metrics, log_hi


def refine_gap(
    st: FamilyState, ref: GapRef, part_uses: list[Use], vmodel: str | None, ev: PartEvaluator
) -> None:
    """Evaluate one count of a gap (the middle; twice the first for an unbounded tail) and
    split the gap around it."""
    fam = st.family
    gap = next((g for g in st.gaps if g.lo == ref.lo and g.hi == ref.hi), None)
    if gap is None:
        return
    st.gaps.remove(gap)
    if fam.capped and gap.hi == fam.last():
        st.at_limit = True
    step = fam.booster.step or 1
    hi = COUNT_LIMIT if gap.hi is None else gap.hi
    # geometric steps over a wide gap (as doubling would), the middle over a narrow one
    mid = math.isqrt(gap.lo * hi) if gap.lo >= 1 and hi > 4 * gap.lo else (gap.lo + hi) // 2
    count = min(max(fam.snap(mid), gap.lo), hi)
    value = ev.exact(fam, count, part_uses, vmodel)
    st.points[count] = value
    if value is None:
        st.done = True
        st.gaps.clear()
        return
    if count > gap.lo:
        st.gaps.append(Gap(gap.lo, count - step))
    saturated = value[1] == 0.0
    if count + step <= hi and not saturated:
        st.gaps.append(Gap(count + step, gap.hi))
    st.gaps.sort(key=lambda g: g.lo)

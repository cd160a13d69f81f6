"""The search for the optimum: merge the blocks' real and optimistic points, refine until proven.

Each block contributes the exact points of the shapes evaluated so far and optimistic points
for what is not evaluated (regions of shapes, gaps of counts): see ``optimize_search``. Metrics
add across blocks and success multiplies, so the exact merge of the blocks' Pareto sets
(``optimize_pareto.merge``) ranks every combination. The best combination of real points only
that meets every requirement (re-verified by one full evaluation) is the optimum once no
optimistic combination ranks above it by more than the tolerance below; until then the
optimistic points ahead of it are refined, best first.

The answer is the optimum of the model up to ``TOLERANCE`` (relative): a region whose bound is
within it of the plan found is not searched further (floating-point sums cannot decide closer
ties). ``deadline`` stops the search early with the best plan proven so far and the gap to the
best bound still open.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aalp.front.ir import LATENCY_METRICS, Task
from aalp.model.reliability import success_meets
from aalp.optimizer import repeat_part as rpart
from aalp.optimizer import units as ou
from aalp.optimizer.evaluate import Evaluator, View
from aalp.optimizer.lagrange import CAP_MARGIN, ROUNDING, Completion, cheap_plan
from aalp.optimizer.pareto import INDEX, METRIC_KEYS, LivePoints, Point, merge, pareto
from aalp.optimizer.search import BlockSearch, RegionRef, defaults
from aalp.optimizer.types import Requirement, Solution
from aalp.optimizer.work import SearchCut, Work
from aalp.plan.space import Space, Value, env_of

# Bounds are applied with this relative slack while pruning (so a plan on the boundary is never
# lost to rounding in a partial sum) and then checked exactly on the full evaluation.
SLACK = 1e-9
TOLERANCE = 1e-9
REFINE_BATCH = 24
MAX_ITERATIONS = 20_000
HARD_CAP_FLOOR = 20_000  # decisions a round may overrun a budget by before it is cut


class Solver:
    """Everything about one task that does not change between solves (pins aside)."""

    def __init__(self, checked: Any, task: Task, space: Space, method: str = "dp"):
        self.checked = checked
        self.method = method  # "dp" (optimize_pareto.merge) or "cpsat" (optimize_cpsat)
        self.task = task
        self.space = space
        self.env = env_of(checked)
        self.evaluator = Evaluator(checked, task)
        self.ctx = self.evaluator.ctx
        self.notes: list[str] = []
        self.counter = Work()  # decisions evaluated by the searches
        self.deadline: float | None = None
        self.progress: Callable[[str], None] | None = None
        self.stopped = False  # a deadline cut a search short
        self.folds: tuple = ()  # repeated groups among other stages (optimizer.repeat_part)

    def searches(self, pins: Mapping[str, Value], latency: bool) -> Searches:
        base = defaults(self.space, self.task, pins)
        blocks, shapes = [], []
        for i, b in enumerate(self.space.blocks):
            st = BlockSearch(
                i, self.space, self.task, b, self.checked, self.ctx, pins, latency, self.counter
            )
            shapes.append(list(dict.fromkeys(st.initial_shapes(self.env, base))))
            blocks.append(st)
        return Searches(blocks, base, shapes)

    def plan(self, decisions: Mapping[str, Value], reqs: Sequence[Requirement]) -> Solution:
        view = self.evaluator(decisions)
        return make_plan(view, decisions, reqs)


@dataclass
class Searches:
    """The searches of every block under one set of pins, with the shapes evaluated."""

    blocks: list[BlockSearch]
    base: dict[str, Value]
    shapes: list[list[tuple]]

    def real_points(self, dims: list[int]) -> list[list[Point]]:
        return [
            pareto([p for k in keys for p in b.shape_points(k, self.base, dims)], dims, False)
            for b, keys in zip(self.blocks, self.shapes, strict=True)
        ]


def make_plan(view: View, decisions: Mapping[str, Value], reqs: Sequence[Requirement]) -> Solution:
    metrics = dict(zip(METRIC_KEYS, view.metrics, strict=True))
    problems = list(view.reasons)
    meets = view.valid
    for r in reqs:
        value = view.success if r.metric == "success" else metrics.get(r.metric, math.inf)
        if r.floor is not None:
            value = view.evaluation.value(r.metric)
            ok = success_meets(view.evaluation.log_accuracy, r.floor)
        elif r.metric == "success" and r.cmp == ">=":
            bound = r.exact if r.exact is not None else r.bound
            ok = success_meets(math.fsum(st.log_success for st in view.stages), bound)
        else:
            ok = r.holds(value)
        if not ok:
            meets = False
            problems.append(f"{r.metric} = {value:.6g} does not meet {r}")
    return Solution(
        dict(sorted(decisions.items())),
        view.evaluation,
        metrics,
        view.success,
        view.valid,
        meets,
        tuple(problems),
    )


def dims_and_bounds(
    metric: str, reqs: Sequence[Requirement]
) -> tuple[list[int], dict[int, float], float]:
    """The metrics a Pareto set must keep (the objective and every bounded one), the upper
    bounds by metric index, and the least success (each with ``SLACK``)."""
    dims: list[int] = []
    if metric != "success":
        dims.append(INDEX[metric])
    upper: dict[int, float] = {}
    min_success = 0.0
    for r in reqs:
        if r.floor is not None:  # accuracy or errors: the optimizer carries ln(accuracy)
            min_success = max(min_success, float(r.floor) * (1 - SLACK))
            continue
        if r.metric == "success":
            if r.cmp == ">=":
                min_success = max(min_success, r.bound * (1 - SLACK))
            continue
        if r.metric in INDEX and r.cmp == "<=":
            i = INDEX[r.metric]
            upper[i] = min(upper.get(i, math.inf), r.bound * (1 + SLACK))
            if i not in dims:
                dims.append(i)
    if not dims:
        dims.append(INDEX["cost"])
    return dims, upper, min_success


def needs_latency(metric: str, reqs: Sequence[Requirement]) -> bool:
    """True when the objective or a bound is a latency (seconds too: a vote's rounds)."""
    return metric in LATENCY_METRICS or any(r.metric in LATENCY_METRICS for r in reqs)


def rank(p: Point, sense: str, metric: str) -> tuple:
    """The order in which plans are preferred: the objective, then success, real before
    optimistic, then the stable candidate order."""
    pseudo = 1 if p.pseudo else 0
    if metric == "success":
        return (-p.log_success, p.metrics[INDEX["cost"]], pseudo, p.order)
    if sense == "maximize":
        return (-p.metric(metric), -p.log_success, pseudo, p.order)
    return (p.metric(metric), -p.log_success, pseudo, p.order)


def _beats(p: Point, best: Point | None, sense: str, metric: str) -> bool:
    """Could the plans behind optimistic ``p`` beat ``best`` by more than ``TOLERANCE``?"""
    if best is None:
        return True
    if metric == "success":
        fp, fb = -p.log_success, -best.log_success  # failure, in logs
        return fp < fb * (1 - TOLERANCE) - 1e-300
    vp, vb = p.metric(metric), best.metric(metric)
    if sense == "maximize":
        return vp > vb * (1 + TOLERANCE) + 1e-300
    return vp < vb * (1 - TOLERANCE) - 1e-300


@dataclass
class Outcome:
    plan: Solution | None
    searches: Searches
    proven: bool  # False when the deadline stopped the search
    gap: float | None = None  # best optimistic objective still open, when not proven
    log_gap: float | None = None  # ln of that optimistic point's success


def solve(
    solver: Solver,
    pins: Mapping[str, Value],
    sense: str,
    metric: str,
    reqs: Sequence[Requirement],
    *,
    latency: bool = False,
    budget: int | None = None,
) -> Outcome:
    """The best plan under ``pins`` (None when nothing meets the requirements), proven, or the
    best found when ``budget`` decisions have been evaluated (or the solver's deadline passed):
    then ``proven`` is False and ``gap`` the best objective no plan can beat."""
    last: list[Outcome | None] = [None]
    limit = None if budget is None else solver.counter.n + budget
    # A hard cap past the budget (a round may overrun it) and the deadline, checked during
    # the rounds too (optimize_work): a cut keeps the last plan proven feasible.
    cap = None if limit is None else limit + max(budget or 0, HARD_CAP_FLOOR)
    try:
        with solver.counter.limits(cap, solver.deadline):
            return _rounds(solver, pins, sense, metric, reqs, latency, limit, last)
    except SearchCut as cut:
        # a solve's own cap is part of its search; a deadline or the optimization's ceiling
        # cuts the result short
        solver.stopped = solver.stopped or str(cut) in ("deadline", "ceiling")
        if last[0] is None:  # cut before the first round: no plan, the searches as built
            return Outcome(None, solver.searches(pins, latency), False)
        return last[0]


def _gaps(ranked: Sequence[Point], metric: str) -> tuple[float | None, float | None]:
    """The objective and ln(success) of the best optimistic point still open."""
    top = next((p for p in ranked if p.pseudo), None)
    return (None, None) if top is None else (top.metric(metric), top.log_success)


def _rounds(solver: Solver, pins, sense, metric, reqs, latency: bool, limit, last) -> Outcome:
    """The rounds of ``solve`` (same arguments, the budget as the counter's ``limit``);
    ``last[0]`` holds the outcome to report if a round is cut."""
    dims, upper, min_success = dims_and_bounds(metric, reqs)
    latency = latency or needs_latency(metric, reqs)
    found = solver.searches(pins, latency)
    last[0] = Outcome(None, found, False)
    region_cache: dict[tuple, list[Point]] = {}
    min_log = math.log(min_success) if min_success > 0 else -math.inf
    live = [
        LivePoints(dims, *rpart.live_bounds(solver.folds, i, upper, min_success))
        for i in range(len(found.blocks))
    ]
    # The shapes still alive in each block, and how many of the block's shapes were seen.
    shapes: list[list[tuple]] = [[] for _ in found.blocks]
    seen = [0] * len(found.blocks)
    incumbent: float | None = None  # the objective of the last round's plan
    for iteration in range(MAX_ITERATIONS):
        sets = []
        for i, (b, alive) in enumerate(zip(found.blocks, live, strict=True)):
            shapes[i].extend(found.shapes[i][seen[i] :])
            seen[i] = len(found.shapes[i])
            sources = []
            for k in shapes[i]:
                alive.alive(("shape", k), b.shape_points(k, found.base, dims))
                sources.append(("shape", k))
            for rid in list(b.regions):
                if alive.is_dead(("region", rid)):
                    continue
                ck = (b.index, rid)  # a cache of this solve: its dims do not change
                if ck not in region_cache:
                    region_cache[ck] = b.region_points(rid, found.base, dims)
                alive.alive(("region", rid), region_cache[ck])
                sources.append(("region", rid))
            sets.append(alive.pareto(sources))
            shapes[i] = [k for k in shapes[i] if not alive.is_dead(("shape", k))]
        sets = rpart.fold_sets(sets, solver.folds, dims)
        bounds = (dims, upper, min_success, min_log)
        args = (solver, found, sets, bounds, incumbent, metric, sense, reqs, last)
        plan, best, refs, gaps = _separable_round(*args)
        if best is None:
            ranked, plan, best = _capped_best(*args)
            refs, gaps = _ranked_refs(ranked, best, sense, metric), _gaps(ranked, metric)
        incumbent = None if best is None else best.metric(metric)
        if not refs:
            _limit_notes(solver, found)
            return Outcome(plan, found, True)
        late = solver.deadline is not None and time.monotonic() > solver.deadline
        if late or (limit is not None and solver.counter.n > limit):
            solver.stopped = solver.stopped or late
            return Outcome(plan, found, False, *gaps)
        if solver.progress is not None and iteration % 8 == 7:
            solver.progress(f"{solver.counter.n:,} decisions evaluated")
        for ref in refs[:REFINE_BATCH]:
            _refine(found, ref, region_cache)
    raise RuntimeError("the optimizer did not converge")  # a bug: the ranges always shrink


def _ranked_refs(ranked: list[Point], best: Point | None, sense: str, metric: str) -> list:
    """The references of the optimistic points ranked ahead of ``best`` that could beat it,
    best first, a batch at most."""
    refs: list = []
    for p in ranked:
        if p is best:
            break
        if p.pseudo and _beats(p, best, sense, metric):
            refs.extend(r for r in p.pseudo if r not in refs)
            if len(refs) >= REFINE_BATCH:
                break
    return refs


def _separable_round(solver, found, sets, bounds, incumbent, metric, sense, reqs, last):
    """A round that never merges optimistic points: the best real plan by a capped merge of
    the real points alone, then each optimistic point held against it one at a time, with
    every other set relaxed (``Completion.others``): a plan through an optimistic point costs
    at least that point's metric plus the least the other sets add to reach the success
    target, so when no point's bound beats the plan, nothing unevaluated can. Returns
    ``(plan, best, refs, gaps)``, the refs best bound first; ``best`` None when this round
    does not apply (not minimizing the first pruned metric, a set with no real point, no real
    plan meeting the requirements), and the caller ranks the full merge instead."""
    dims, _upper, _min_success, min_log = bounds
    real = [[p for p in s if not p.pseudo] for s in sets]
    if not (sense == "minimize" and dims[0] == INDEX.get(metric) and all(real)):
        return None, None, [], (None, None)
    _ranked, plan, best = _capped_best(
        solver, found, real, bounds, incumbent, metric, sense, reqs, last
    )
    if best is None:
        return None, None, [], (None, None)
    comp = Completion.of(sets, dims[0], min_log)
    if comp is None:
        return None, None, [], (None, None)
    d, value = dims[0], best.metric(metric)
    bounded = []
    for k, s in enumerate(sets):
        for q in s:
            if q.pseudo:
                rest = comp.others(k, min_log - q.log_success)
                if rest == math.inf:
                    continue  # no plan through q reaches the success target
                low = q.metrics[d] + rest - ROUNDING * (abs(q.metrics[d]) + abs(rest))
                bounded.append((low, k, rank(q, sense, metric), q))
    bounded.sort(key=lambda t: t[:3])
    refs: list = []
    for low, _k, _r, q in bounded:
        if low < value * (1 - TOLERANCE) - 1e-300:
            refs.extend(r for r in q.pseudo if r not in refs)
            if len(refs) >= REFINE_BATCH:
                break
    gap = bounded[0][0] if bounded else None
    last[0] = Outcome(plan, found, False, gap, None)
    return plan, best, refs, (gap, None)


def _capped_best(solver, found, sets, bounds, incumbent, metric, sense, reqs, last):
    """``_best``, with the merge capped at a plan known to exist (the last round's, or the
    Lagrangian plan) when minimizing the first pruned metric; merged again in full when the
    capped merge holds no plan at most that good that meets the requirements."""
    dims, upper, min_success, min_log = bounds
    args = (solver, found, sets, dims, upper, min_success)
    if metric == "success" and sense == "maximize":
        floor = _success_floor(sets, upper, incumbent)
        if floor is not None:
            lo = floor - CAP_MARGIN * abs(floor) - 1e-300
            capped = (solver, found, sets, dims, upper, max(min_success, math.exp(lo)))
            bound = ((dims[0], math.inf), Completion.of(sets, dims[0], lo))
            ranked, plan, best = _best(*capped, bound, metric, sense, reqs, last)
            if best is not None and best.log_success >= lo:
                return ranked, plan, best
        return _best(*args, (None, None), metric, sense, reqs, last)
    cap, completion, known = None, None, incumbent
    if sense == "minimize" and dims[0] == INDEX.get(metric):
        known, completion = _known_plan(sets, dims[0], min_log, upper, incumbent)
    if known is not None:
        cap = (dims[0], known * (1 + CAP_MARGIN) + 1e-300)
    ranked, plan, best = _best(*args, (cap, completion), metric, sense, reqs, last)
    if cap is not None and (best is None or best.metric(metric) > known):
        ranked, plan, best = _best(*args, (None, None), metric, sense, reqs, last)
    return ranked, plan, best


def _success_floor(
    sets: list[list[Point]], upper: dict[int, float], incumbent: float | None
) -> float | None:
    """The ln(success) some real plan reaches: each set's most reliable real point when
    together they meet the upper bounds, else the last round's plan (None: neither)."""
    known = math.log(incumbent) if incumbent is not None and incumbent > 0 else None
    real = [[p for p in s if not p.pseudo] for s in sets]
    if not all(real):
        return known
    picks = [max(s, key=lambda p: p.log_success) for s in real]
    if all(math.fsum(p.metrics[i] for p in picks) <= u for i, u in upper.items()):
        value = math.fsum(p.log_success for p in picks)
        if math.isfinite(value):
            return value if known is None else max(known, value)
    return known


def _known_plan(
    sets: list[list[Point]],
    d: int,
    min_log: float,
    upper: dict[int, float],
    incumbent: float | None,
) -> tuple[float | None, Completion | None]:
    """A metric some real plan of ``sets`` reaches (the last round's plan, or the Lagrangian
    plan when cheaper or the first) and the completion bounds that prune the merge below it."""
    quick = cheap_plan(sets, d, min_log, upper)
    if quick is None:
        return incumbent, None if incumbent is None else Completion.of(sets, d, min_log)
    value = math.fsum(p.metrics[d] for p in quick[1])
    known = value if incumbent is None else min(incumbent, value)
    return known, Completion.of(sets, d, min_log)


def _best(solver, found, sets, dims, upper, min_success, bound, metric, sense, reqs, last):
    """The merged plans ranked, the best real one that meets the requirements (re-evaluated
    in full) and its point. With ``bound = (cap, completion)`` the merge leaves out plans whose
    objective exceeds the cap: the ranking up to a plan below the cap is the same."""
    cap, completion = bound
    merged = merge(sets, dims, upper, min_success, cap, completion)
    ranked = sorted(merged, key=lambda q: rank(q, sense, metric))
    for p in ranked:
        if p.pseudo:
            continue
        candidate = solver.plan({**found.base, **dict(p.decisions)}, reqs)
        if candidate.meets:
            last[0] = Outcome(candidate, found, False, *_gaps(ranked, metric))
            return ranked, candidate, p
    return ranked, None, None


def _limit_notes(solver: Solver, found: Searches) -> None:
    """Say where the search reached a count limit (the counts above it were not searched)."""
    for b in found.blocks:
        for st in b.states.values():
            if st.at_limit:
                note = ou.capped_note(st.family)
                if note not in solver.notes:
                    solver.notes.append(note)


def _refine(found: Searches, ref: Any, region_cache: dict) -> None:
    if isinstance(ref, RegionRef):
        b = found.blocks[ref.block]
        if ref.region not in b.regions:
            return
        new = b.split(ref.region)
        region_cache.pop((ref.block, ref.region), None)
        known = set(found.shapes[ref.block])
        found.shapes[ref.block].extend(k for k in new if k not in known)
        return
    assert isinstance(ref, ou.GapRef)
    b = found.blocks[ref.block]
    st = b.states[(ref.shape, ref.unit, ref.config, ref.op, ref.family)]
    unit = b.units[ref.unit]
    cfg = dict(unit.configs[ref.config])
    frames = b.frames(ref.shape, found.base)
    part_uses = ou.uses(b.ctx, frames or [], ref.op, cfg)
    check = st.family.booster.check
    vmodel = cfg.get(check) if check and check != "exact" else None
    ou.refine_gap(st, ref, part_uses, vmodel, b.evaluator)
    b.invalidate(ref.shape)


def solve_cpsat(
    solver: Solver,
    sets: list[list[Point]],
    base: dict[str, Value],
    sense: str,
    metric: str,
    reqs: Sequence[Requirement],
) -> Solution | None:
    """The best plan by CP-SAT over the blocks' Pareto sets (real points); a plan the full
    evaluation rejects is excluded and the model solved again (as the merge tries its next)."""
    from aalp.optimizer import cpsat as optimize_cpsat

    _dims, upper, min_success = dims_and_bounds(metric, reqs)
    bounds = optimize_cpsat.Bounds(min_success, upper)
    rejected: list[tuple[int, ...]] = []
    while (choice := optimize_cpsat.solve(sets, (sense, metric), bounds, rejected)) is not None:
        p = optimize_cpsat.total(sets, choice)
        plan = solver.plan({**base, **dict(p.decisions)}, reqs)
        if plan.meets:
            return plan
        rejected.append(choice)
    return None

"""Pareto sets of partial plans and their exact merge across blocks.

A *point* is a partial plan: the decisions of some blocks, their summed metrics and their
success (a product). Metrics add across blocks and success multiplies, so a point dominated in
every metric that matters (and in success) within a block stays dominated in every completion:
pruning each block to its Pareto set and merging the sets pairwise, pruning again after each
merge, is an exact dynamic program over the blocks (see docs/explain.md).
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from operator import add
from typing import Any, NamedTuple

from aalp.model.metrics import METRIC_FIELDS as METRIC_KEYS

INDEX = {k: i for i, k in enumerate(METRIC_KEYS)}
# Below this many pairs forming every pair is quicker than the sweep (the result is the same).
SWEEP_FROM = 512
# The margin, relative to the sums' size, by which a line bound must pass a cap before the
# pairs after it are skipped: far above floating-point rounding and the bounds' own margin.
ROUNDING_SLACK = 1e-6
# Two ln(success) closer than this, relative, are the same success: sums of the same factors in
# another order differ in their last bits, and without it such noise alone keeps plans that
# are costlier and no more reliable (their number grows with the blocks merged).
LOG_TIE = 1e-13


class Point(NamedTuple):
    """A partial plan: decisions (sorted ``(key, value)`` pairs), metrics, success, tie key.

    A point with ``pseudo`` references is *optimistic*: it stands for decisions not evaluated
    yet (a range of x, of counts), with lower bounds of the metrics and an upper bound of the
    success; the references say which ranges (the search refines them). Optimistic points
    never prune real ones, so a Pareto set keeps every real point that could be optimal.
    (A named tuple: a merge makes many of them, and most are dropped at once.)
    """

    decisions: tuple[tuple[str, int | str], ...]
    metrics: tuple[float, ...]
    log_success: float  # ln(success): products of tiny successes must not underflow to ties
    order: tuple[int, ...]  # candidate indices: the stable tie-break
    pseudo: tuple = ()

    @property
    def success(self) -> float:
        return math.exp(self.log_success)

    def metric(self, name: str) -> float:
        return self.success if name == "success" else self.metrics[INDEX[name]]


def _key(p: Point, dims: Sequence[int]) -> tuple:
    return (*(p.metrics[d] for d in dims), -p.log_success, 1 if p.pseudo else 0, p.order)


def pareto(points: Iterable[Point], dims: Sequence[int], keep_pseudo: bool = True) -> list[Point]:
    """The points not dominated in ``dims`` (minimized) and success (maximized).

    Real points are dominated only by real ones; an optimistic point by any point. (A plan
    behind an optimistic point that dominates it ranks after that point, so the search
    refines the point first; every round of the search starts from all its points again.)
    Among exact ties the real point, then the one with the smallest ``order``, is kept, so
    the result is deterministic. With one dim, ln(success) within ``LOG_TIE`` (relative) of
    a kept point's counts as a tie, so a costlier point must be more reliable by more than
    that: each prune then loses at most that much ln(success), ``blocks · LOG_TIE`` over a
    merge (1e-9 relative for 10^4 blocks, the requirements' own slack). The result is sorted
    by the first dim, then success (descending). ``keep_pseudo=False`` drops optimistic
    points altogether.
    """
    pts = [p for p in points if keep_pseudo or not p.pseudo]
    rows = sorted(((_key(p, dims), i) for i, p in enumerate(pts)), key=lambda r: r[0])
    return [pts[r[1]] for r in _undominated(rows, len(dims))]


def _undominated(rows: list[tuple], n: int) -> list[tuple]:
    """The rows not dominated, of rows ``(key, ...)`` sorted by key, where a key is
    ``(*metrics in the dims, -log_success, pseudo flag, order)`` (the rules of ``pareto``)."""
    if n == 1:
        out: list[tuple] = []
        best_real = best_all = None  # the best log-success kept so far (None: none kept)
        for r in rows:
            key = r[0]
            lg, pseudo = -key[1], key[2]
            best = best_all if pseudo else best_real
            if best is None or lg > _tie(best):
                out.append(r)
                best_all = lg if best_all is None else max(best_all, lg)
                if not pseudo:
                    best_real = lg if best_real is None else max(best_real, lg)
        return out
    if n == 2:
        return _pareto2(rows)
    kept: list[tuple] = []
    real: list[tuple[float, tuple]] = []
    every: list[tuple[float, tuple]] = []
    for r in rows:
        key = r[0]
        vec, lg, pseudo = key[:n], -key[n], key[n + 1]
        dominated = False
        for q_log, q_vec in every if pseudo else real:
            if q_log >= lg and all(a <= b for a, b in zip(q_vec, vec, strict=True)):
                dominated = True
                break
        if not dominated:
            kept.append(r)
            every.append((lg, vec))
            if not pseudo:
                real.append((lg, vec))
    return kept


class _Stairs:
    """Non-dominated (second metric, success) pairs, sorted by the metric, success rising."""

    def __init__(self) -> None:
        self.lats: list[float] = []
        self.logs: list[float] = []

    def dominates(self, lat: float, lg: float) -> bool:
        i = bisect.bisect_right(self.lats, lat)
        return i > 0 and self.logs[i - 1] >= lg

    def add(self, lat: float, lg: float) -> None:
        i = bisect.bisect_right(self.lats, lat)
        j = i
        while j < len(self.lats) and self.logs[j] <= lg:
            j += 1
        self.lats[i:j] = [lat]
        self.logs[i:j] = [lg]


def _pareto2(rows: list[tuple]) -> list[tuple]:
    """Two dims and success, in O(n log n): the rows come sorted by the first dim, so a row is
    dominated iff an earlier one has the second metric no larger and success no smaller;
    the earlier non-dominated pairs form a staircase (one of real points, one of all)."""
    real, every = _Stairs(), _Stairs()
    kept: list[tuple] = []
    for r in rows:
        key = r[0]
        lat, lg, pseudo = key[1], -key[2], key[3]
        if (every if pseudo else real).dominates(lat, lg):
            continue
        kept.append(r)
        if not every.dominates(lat, lg):  # a real point behind an optimistic one adds nothing
            every.add(lat, lg)
        if not pseudo:
            real.add(lat, lg)
    return kept


def combine(a: Point, b: Point) -> Point:
    """Two partial plans over disjoint blocks as one."""
    return _joined(a, b)._replace(decisions=tuple(sorted(a.decisions + b.decisions)))


def _joined(a: Point, b: Point) -> Point:
    """``combine`` with the decisions only concatenated: inside a merge, where nothing reads
    them, they are sorted once for the points that survive (``_sorted``)."""
    return Point(
        a.decisions + b.decisions,
        tuple(map(add, a.metrics, b.metrics)),
        a.log_success + b.log_success,
        a.order + b.order,
        a.pseudo + b.pseudo,
    )


def _sorted(points: list[Point]) -> list[Point]:
    """The points with their decisions in order."""
    return [p._replace(decisions=tuple(sorted(p.decisions))) for p in points]


def merge(
    sets: Sequence[Sequence[Point]],
    dims: Sequence[int],
    upper: dict[int, float] | None = None,
    min_success: float = 0.0,
    cap: tuple[int, float] | None = None,
    completion: Any = None,
) -> list[Point]:
    """The Pareto set of whole plans: one point from each set, combined.

    ``upper`` bounds metrics (index -> bound) and ``min_success`` bounds success from below:
    since metrics only grow and success only shrinks as blocks are added, a partial plan that
    breaks a bound is dropped at once (it cannot be completed into a plan that meets it).
    The sets are merged pairwise (``merge_two``), each merge pruned to its Pareto set.
    ``cap = (d, top)`` drops a partial plan as soon as its metric ``d`` plus the least the
    remaining sets can add exceeds ``top``: the result is then the same below ``top`` (less
    what lies near it), a shortcut for a search that only looks below a plan it knows. With a
    ``completion`` (``aalp.optimizer.lagrange.Completion`` of these sets) a partial plan is
    also dropped when the least any completion meeting the success target must add, by its
    Lagrangian bound, takes it past ``top``.
    """
    acc: list[Point] = [Point((), tuple(0.0 for _ in METRIC_KEYS), 0.0, ())]
    upper = upper or {}
    rest = _rest_least(sets, cap[0]) if cap is not None else []
    for k, s in enumerate(sets):
        bounds = upper
        if cap is not None:
            d, top = cap
            bounds = {**upper, d: min(upper.get(d, math.inf), top - rest[k])}
            if completion is not None:
                acc = _merge_bounded(acc, s, dims, bounds, min_success, completion, k + 1, top)
                continue
        acc = merge_two(acc, s, dims, bounds, min_success)
    return _sorted(acc)


def _merge_bounded(
    a: Sequence[Point],
    b: Sequence[Point],
    dims: Sequence[int],
    upper: dict[int, float],
    min_success: float,
    completion: Any,
    k: int,
    top: float,
) -> list[Point]:
    """``merge_two`` of ``a`` and ``b`` keeping only the pairs that ``completion`` can still
    complete below ``top`` from set ``k`` on (their totals are tested before a point is made).

    The pairs are walked in order of ``completion``'s supporting line: ``b`` ranked by
    ``metric - lam * ln(success)``, each ``a[i]`` stops at the first ``b[j]`` whose line bound
    (no more than the chain's, so no more than any completion's) passes ``top``, as do all
    after it."""
    d, lam = completion.d, completion.lam
    keep = completion.keep
    floor = completion.lines[k] + (lam * completion.min_log if lam else 0.0)
    own = [_line(q, d, lam) for q in b]
    ranked = sorted(range(len(b)), key=own.__getitem__)
    line = [own[j] for j in ranked]
    scale = abs(top) + abs(floor) + max(map(abs, line), default=0.0)
    picked = []
    for i, p in enumerate(a):
        pm, pl = p.metrics[d], p.log_success
        # the line bound of the pair (p, q) is pm - lam*pl + line(q) + floor; a margin far
        # above its rounding keeps every pair ``keep`` itself would keep
        limit = top - floor - (pm - lam * pl) + ROUNDING_SLACK * (scale + abs(pm - lam * pl))
        for j, q_line in zip(ranked, line, strict=True):
            if q_line > limit:
                break
            q = b[j]
            lg = pl + q.log_success
            if math.exp(lg) >= min_success and keep(pm + q.metrics[d], lg, k, top):
                picked.append((i, j))
    out = []
    for i, j in sorted(picked):
        c = _joined(a[i], b[j])
        if all(c.metrics[m] <= u for m, u in upper.items()):
            out.append(c)
    return pareto(out, dims)


def _line(q: Point, d: int, lam: float) -> float:
    """``q``'s rank on a supporting line, ``metric - lam * ln(success)`` (NaN first: never
    skipped)."""
    v = q.metrics[d] - lam * q.log_success if lam else q.metrics[d]
    return v if v == v else -math.inf


def _rest_least(sets: Sequence[Sequence[Point]], d: int) -> list[float]:
    """Per set, the least metric ``d`` the sets after it can add (0 after the last)."""
    least = [min((p.metrics[d] for p in s), default=math.inf) for s in sets]
    return [math.fsum(least[k + 1 :]) for k in range(len(sets))]


def merge_two(
    a: Sequence[Point],
    b: Sequence[Point],
    dims: Sequence[int],
    upper: dict[int, float],
    min_success: float = 0.0,
) -> list[Point]:
    """``pareto`` of every combination of a point of ``a`` with one of ``b`` that meets the
    bounds, exactly (the same points, ties broken alike; their decisions left for ``merge``
    to sort).

    With one dim, ``b`` a Pareto set and more than ``SWEEP_FROM`` pairs it is a sorted sweep
    (``_sweep``) whose work follows the size of the answer rather than ``len(a) * len(b)``;
    otherwise every pair is formed.
    """
    if len(dims) == 1 and len(a) * len(b) > SWEEP_FROM:
        picked = _sweep(a, b, dims[0], upper, min_success)
        if picked is not None:
            return pareto([_joined(a[i], b[j]) for i, j in picked], dims)

    return _product(a, b, dims, upper, min_success)


def _product(
    a: Sequence[Point],
    b: Sequence[Point],
    dims: Sequence[int],
    upper: dict[int, float],
    min_success: float,
) -> list[Point]:
    """``pareto`` of every pair that meets the bounds, the pairs ranked by their sums alone:
    a point is made only for a pair that survives (the sums are those ``combine`` makes)."""
    rows = []
    bounds = list(upper.items())
    for i, p in enumerate(a):
        pm, pl, pp = p.metrics, p.log_success, 1 if p.pseudo else 0
        for j, q in enumerate(b):
            lg = pl + q.log_success
            qm = q.metrics
            if not math.exp(lg) >= min_success or not all(pm[k] + qm[k] <= u for k, u in bounds):
                continue  # (so that a NaN breaks a bound, as in ``merge_two``)
            key = (
                *(pm[d] + qm[d] for d in dims),
                -lg,
                pp or (1 if q.pseudo else 0),
                p.order + q.order,
            )
            rows.append((key, i, j))
    rows.sort(key=lambda r: r[0])
    return [_joined(a[r[1]], b[r[2]]) for r in _undominated(rows, len(dims))]


def _sweep(
    a: Sequence[Point],
    b: Sequence[Point],
    d: int,
    upper: dict[int, float],
    min_success: float,
) -> list[tuple[int, int]] | None:
    """The pairs ``(i, j)`` of ``a[i]`` and ``b[j]`` that may survive the Pareto pruning in
    dim ``d`` and success, in the order of the full product (a superset of the survivors:
    ``pareto`` of these pairs equals ``pareto`` of every pair). None when ``b`` is not a
    staircase (its real and its optimistic points each with success rising along ``d``).

    Each ``a[i]`` walks ``b``'s real and optimistic staircases; the walks are merged in order
    of the summed metric (a heap). A pair is dropped when a pair kept at a strictly smaller
    metric has no less success (a real one for a real pair), and its walk then jumps (a
    bisection) to the first pair with more success than that: such dropped pairs have a
    strictly smaller key in ``pareto``'s order behind them, so they cannot survive. Floating
    point sums are monotone, so the walks stay sorted and the jumps exact.
    """
    stairs: tuple[list[int], list[int]] = ([], [])  # indices into b: real, optimistic
    for j in sorted(range(len(b)), key=lambda j: _key(b[j], (d,))):
        stairs[1 if b[j].pseudo else 0].append(j)
    logs = [[b[j].log_success for j in st] for st in stairs]
    cost = [[b[j].metrics[d] for j in st] for st in stairs]
    for lg in logs:
        if any(y < x for x, y in itertools.pairwise(lg)):
            return None
    if any(math.isnan(p.metrics[d]) for p in (*a, *b)):
        return None
    bound = upper.get(d, math.inf)
    others = [(i, u) for i, u in upper.items() if i != d]

    def first(w: int, j: int, la: float, pred: Callable[[float], bool]) -> int:
        """The first index at or after ``j`` of staircase ``w`` whose pair passes ``pred``."""
        lg = logs[w]
        return bisect.bisect_left(range(len(lg)), True, lo=j, key=lambda k: pred(la + lg[k]))

    def passes(s: float) -> bool:
        return math.exp(s) >= min_success

    heap: list[tuple[float, int, int, int]] = []

    def push(i: int, w: int, j: int) -> None:
        if j < len(stairs[w]):
            heapq.heappush(heap, (a[i].metrics[d] + cost[w][j], i, w, j))

    for i, p in enumerate(a):
        for w in (0, 1):
            push(i, w, first(w, 0, p.log_success, passes) if min_success > 0 else 0)
    best_real: float | None = None  # over kept pairs at a strictly smaller metric
    best_all: float | None = None
    level = -math.inf
    level_real: float | None = None  # over kept pairs at the current metric
    level_all: float | None = None
    picked: list[tuple[int, int]] = []
    while heap:
        c, i, w, j = heapq.heappop(heap)
        if not c <= bound:
            break  # every pair left has at least this metric
        if c > level:
            best_real, best_all = _max(best_real, level_real), _max(best_all, level_all)
            level, level_real, level_all = c, None, None
        p, q = a[i], b[stairs[w][j]]
        la = p.log_success
        s = la + q.log_success
        real = not p.pseudo and w == 0
        best = best_real if real else best_all
        if not passes(s):
            push(i, w, first(w, j + 1, la, passes))
        elif best is not None and s <= (top := _tie(best)):
            push(i, w, first(w, j + 1, la, lambda t, top=top: t > top))
        elif all(p.metrics[k] + q.metrics[k] <= u for k, u in others):
            picked.append((i, stairs[w][j]))
            level_all = _max(level_all, s)
            if real:
                level_real = _max(level_real, s)
            push(i, w, j + 1)
        else:
            push(i, w, j + 1)
    return sorted(picked)


def _tie(lg: float) -> float:
    """The greatest ln(success) that is the same success as ``lg`` (``LOG_TIE``)."""
    return lg + LOG_TIE * abs(lg) if math.isfinite(lg) else lg


def _max(x: float | None, y: float | None) -> float | None:
    return y if x is None else x if y is None else max(x, y)


def dominated_by(front: Sequence[Point], dims: Sequence[int]) -> Callable[[Point], bool]:
    """A test: is a point weakly dominated (in ``dims``, minimized, and success) by a point of
    ``front`` other than itself (itself: the same decisions and order, even as another object,
    since a source evaluated again makes new points of the same plans)? With one dim it is a
    bisection into the front sorted by that metric, with a running best success; otherwise a
    scan of the (small) front."""
    if len(dims) == 1:
        (d,) = dims
        ordered = sorted(front, key=lambda q: (q.metrics[d], -q.log_success))
        values = [q.metrics[d] for q in ordered]
        best: list[float] = []
        for q in ordered:
            best.append(q.log_success if not best else max(best[-1], q.log_success))
        # the same plan (a source evaluated again makes new points of it) never beats itself
        members = {(q.decisions, q.order) for q in front}

        def one(p: Point) -> bool:
            if (p.decisions, p.order) in members:
                return False
            i = bisect.bisect_right(values, p.metrics[d])
            return i > 0 and best[i - 1] >= p.log_success

        return one

    def many(p: Point) -> bool:
        vec = [p.metrics[d] for d in dims]
        return any(
            (q.decisions, q.order) != (p.decisions, p.order)
            and q.log_success >= p.log_success
            and all(q.metrics[d] <= v for d, v in zip(dims, vec, strict=True))
            for q in front
        )

    return many


class LivePoints:
    """A block's points, source by source (a shape, a region), with what can never matter
    removed for good: points that break a bound, and points weakly dominated by a real point
    (real points are never withdrawn, so such a point stays dominated; an optimistic point
    dominated only by optimistic ones is kept, since those may be refined away). Each round
    of the search then sorts only the points still alive.

    A source with no point alive is *dead*: every plan behind it breaks a bound or is
    dominated by a real plan, and refining it only describes the same plans more precisely,
    so the search skips it from then on (``is_dead``)."""

    def __init__(self, dims: Sequence[int], upper: dict[int, float], min_log: float) -> None:
        self.dims = list(dims)
        self.upper = upper
        self.min_log = min_log
        self.sources: dict[Any, tuple[list[Point], list[Point]]] = {}  # key -> (raw, alive)
        self.front: tuple[int, ...] = ()
        self.beaten: Callable[[Point], bool] = lambda p: False
        self.dead: set[Any] = set()

    def is_dead(self, key: Any) -> bool:
        return key in self.dead

    def alive(self, key: Any, raw: list[Point]) -> list[Point]:
        """The points of source ``key`` still alive (``raw`` is the source's current list:
        a new list object starts the source afresh)."""
        hit = self.sources.get(key)
        if hit is not None and hit[0] is raw:
            return hit[1]
        kept = [
            p
            for p in raw
            if p.log_success >= self.min_log
            and all(p.metrics[i] <= b for i, b in self.upper.items())
            and not self.beaten(p)
        ]
        if kept:
            self.sources[key] = (raw, kept)
        else:
            self.sources.pop(key, None)
            self.dead.add(key)
        return kept

    def pareto(self, keys: Sequence[Any]) -> list[Point]:
        """The Pareto set of the sources ``keys`` (every other source is forgotten)."""
        keys = [k for k in keys if k not in self.dead]
        wanted = set(keys)
        for k in [k for k in self.sources if k not in wanted]:
            del self.sources[k]
        points = [p for k in keys for p in self.sources[k][1]]
        out = pareto(points, self.dims)
        real = [p for p in out if not p.pseudo]
        front = tuple(id(p) for p in real)
        if real and front != self.front:
            self.front = front
            self.beaten = beaten = dominated_by(real, self.dims)
            for k in keys:
                raw, pts = self.sources[k]
                kept = [p for p in pts if not beaten(p)]
                if kept:
                    self.sources[k] = (raw, kept)
                else:
                    del self.sources[k]
                    self.dead.add(k)
        return out

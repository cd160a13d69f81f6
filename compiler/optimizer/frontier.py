"""The Pareto frontiers shown beside a plan, computed only at the points shown.

The frontier of an objective against success over many blocks can hold thousands of plans
(a 20-stage spec: about 2,000), of which a report shows at most ``FRONTIER_POINTS``. Rather
than merge the whole set and thin it, each shown point is solved for: the cheapest plan whose
success reaches a level, for levels spread evenly in ln(−ln success) (so failures of 10^-3 and
10^-9 are as far apart as successes of 0.5 and 0.01) between the cheapest plan's and the most
reliable one's, plus the requirement's own level. Each solve is an exact capped merge of the
blocks' Pareto sets (``aalp.optimizer.lagrange``), so every point shown is a true Pareto point
of the plans evaluated: no plan evaluated is cheaper at that success or more reliable at that
cost.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

from aalp.optimizer.lagrange import CAP_MARGIN, Completion, cheap_plan
from aalp.optimizer.pareto import METRIC_KEYS, Point, merge
from aalp.optimizer.types import FrontierPoint
from aalp.plan.space import Value

FRONTIER_POINTS = 24


def cheapest_at(
    sets: Sequence[Sequence[Point]],
    dims: Sequence[int],
    upper: dict[int, float],
    min_log: float,
    whole: Callable[[], list[Point]] | None = None,
    bounds: Callable[[], Completion | None] | None = None,
) -> Point | None:
    """The plan of least metric ``dims[0]`` (then most success, then the stable order) with
    ln(success) at least ``min_log`` and every upper bound met; None when there is none.

    Without a Lagrangian plan to cap the merge (one that breaks an upper bound), the answer is
    read from the whole merge under the upper bounds, ``whole()`` when given (a frontier asks
    at many levels: the Pareto set filtered by success is the filtered set's Pareto set).
    ``bounds()`` gives the sets' completion bounds at any level, to be moved to this one (a
    frontier shares their chains)."""
    d = dims[0]
    min_success = math.exp(min_log) if math.isfinite(min_log) else 0.0
    shared = bounds() if bounds is not None else None
    real = shared is not None and not any(p.pseudo for s in sets for p in s)
    quick = cheap_plan(sets, d, min_log, upper, shared.hulls if real else None)
    if quick is None:
        merged = whole() if whole is not None else merge(sets, dims, upper, min_success)
    else:
        top = math.fsum(p.metrics[d] for p in quick[1])
        cap = (d, top * (1 + CAP_MARGIN) + 1e-300)
        completion = shared.at(min_log) if shared else Completion.of(sets, dims[0], min_log)
        merged = merge(sets, dims, upper, min_success, cap, completion)
    meeting = [p for p in merged if p.log_success >= min_log]
    return min(meeting, key=lambda p: (p.metrics[d], -p.log_success, p.order), default=None)


def levels(low: float, high: float, count: int) -> list[float]:
    """``count`` ln(success) levels from ``low`` to ``high`` (both kept), evenly spread in
    ln(−ln success)."""
    if count < 2 or not low < high:
        return [low]
    tiny = 1e-300

    def u(lg: float) -> float:
        return math.log(max(-lg, tiny))

    a, b = u(low), u(high)
    return [-math.exp(a + (b - a) * i / (count - 1)) for i in range(count)]


def success_frontier(
    sets: Sequence[Sequence[Point]],
    dims: Sequence[int],
    upper: dict[int, float],
    also: Sequence[float] = (),
) -> list[Point]:
    """The frontier of ``dims[0]`` against success at ``FRONTIER_POINTS`` levels (and at the
    ln(success) levels ``also``), sorted by the metric; each point is better in success than
    the one before it by more than rounding."""
    merged: list[list[Point]] = []
    chains: list[Completion | None] = []

    def whole() -> list[Point]:
        if not merged:
            merged.append(merge(sets, dims, upper))
        return merged[0]

    def bounds() -> Completion | None:
        if not chains:
            chains.append(Completion.of(sets, dims[0], -math.inf))
        return chains[0]

    cheapest = cheapest_at(sets, dims, upper, -math.inf, whole, bounds)
    if cheapest is None:
        return []
    best_log = math.fsum(max(p.log_success for p in s) for s in sets)
    best_log -= 1e-9 * abs(best_log)  # the most reliable plan's own sum may round below it
    found = {cheapest.decisions: cheapest}
    low = max(cheapest.log_success, -1e300)
    last = cheapest  # the cheapest at the last level solved is the cheapest up to its success
    for lg in sorted([*levels(low, best_log, FRONTIER_POINTS - 1), *also]):
        if lg > last.log_success:
            p = cheapest_at(sets, dims, upper, lg, whole, bounds)
            if p is None:
                break  # no plan reaches this level, nor any above it
            found.setdefault(p.decisions, p)
            last = p
    return strictly_better(sorted(found.values(), key=lambda p: (p.metrics[dims[0]], p.order)))


def strictly_better(points: Sequence[Point]) -> list[Point]:
    """Points sorted by the metric, kept when better in success than the last kept by more
    than rounding (ahead-by-1 is a single sample: such plans tie on both axes)."""
    out: list[Point] = []
    for p in points:
        if not out or p.log_success > out[-1].log_success + 1e-12 * max(
            1.0, abs(out[-1].log_success)
        ):
            out.append(p)
    return out


def latency_frontier(points: Sequence[Point], fm: int) -> list[Point]:
    """The points Pareto in (metric ``fm``, latency), both minimized."""
    lat = METRIC_KEYS.index("latency")
    out: list[Point] = []
    best = math.inf
    for p in sorted(points, key=lambda q: (q.metrics[fm], q.metrics[lat], q.order)):
        if p.metrics[lat] < best:
            out.append(p)
            best = p.metrics[lat]
    return out


def thin(points: Sequence[Point], base: Mapping[str, Value]) -> tuple[FrontierPoint, ...]:
    """At most ``FRONTIER_POINTS`` points, evenly spread, always keeping both ends."""
    if len(points) > FRONTIER_POINTS:
        n = len(points) - 1
        idx = sorted({round(i * n / (FRONTIER_POINTS - 1)) for i in range(FRONTIER_POINTS)})
        points = [points[i] for i in idx]
    return tuple(
        FrontierPoint(
            dict(sorted({**base, **dict(p.decisions)}.items())),
            dict(zip(METRIC_KEYS, p.metrics, strict=True)),
            p.success,
        )
        for p in points
    )

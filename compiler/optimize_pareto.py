"""Pareto sets of partial plans and their exact merge across blocks.

A *point* is a partial plan: the decisions of some blocks, their summed metrics and their
success (a product). Metrics add across blocks and success multiplies, so a point dominated in
every metric that matters (and in success) within a block stays dominated in every completion:
pruning each block to its Pareto set and merging the sets pairwise, pruning again after each
merge, is an exact dynamic program over the blocks (see docs/explain.md).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .cost_types import METRIC_FIELDS as METRIC_KEYS

INDEX = {k: i for i, k in enumerate(METRIC_KEYS)}


@dataclass(frozen=True)
class Point:
    """A partial plan: decisions (sorted ``(key, value)`` pairs), metrics, success, tie key.

    A point with ``pseudo`` references is *optimistic*: it stands for decisions not evaluated
    yet (a range of x, of counts), with lower bounds of the metrics and an upper bound of the
    success; the references say which ranges (the search refines them). Optimistic points
    never prune real ones, so a Pareto set keeps every real point that could be optimal.
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
    the result is deterministic. The result is sorted by the first dim, then success
    (descending). ``keep_pseudo=False`` drops optimistic points altogether.
    """
    ordered = sorted(
        (p for p in points if keep_pseudo or not p.pseudo), key=lambda p: _key(p, dims)
    )
    if len(dims) == 1:
        out: list[Point] = []
        best_real = best_all = -math.inf
        for p in ordered:
            if p.log_success > (best_all if p.pseudo else best_real) or not out:
                out.append(p)
                best_all = max(best_all, p.log_success)
                if not p.pseudo:
                    best_real = max(best_real, p.log_success)
        return out
    if len(dims) == 2:
        return _pareto2(ordered, dims[1])
    kept: list[Point] = []
    real: list[tuple[float, list[float]]] = []
    every: list[tuple[float, list[float]]] = []
    for p in ordered:
        vec = [p.metrics[d] for d in dims]
        dominated = False
        for q_log, q_vec in every if p.pseudo else real:
            if q_log >= p.log_success and all(a <= b for a, b in zip(q_vec, vec, strict=True)):
                dominated = True
                break
        if not dominated:
            kept.append(p)
            every.append((p.log_success, vec))
            if not p.pseudo:
                real.append((p.log_success, vec))
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


def _pareto2(ordered: list[Point], second: int) -> list[Point]:
    """Two dims and success, in O(n log n): the points come sorted by the first dim, so p is
    dominated iff an earlier point has the second metric no larger and success no smaller;
    the earlier non-dominated pairs form a staircase (one of real points, one of all)."""
    real, every = _Stairs(), _Stairs()
    kept: list[Point] = []
    for p in ordered:
        lat, lg = p.metrics[second], p.log_success
        if (every if p.pseudo else real).dominates(lat, lg):
            continue
        kept.append(p)
        if not every.dominates(lat, lg):  # a real point behind an optimistic one adds nothing
            every.add(lat, lg)
        if not p.pseudo:
            real.add(lat, lg)
    return kept


def combine(a: Point, b: Point) -> Point:
    """Two partial plans over disjoint blocks as one."""
    return Point(
        tuple(sorted(a.decisions + b.decisions)),
        tuple(x + y for x, y in zip(a.metrics, b.metrics, strict=True)),
        a.log_success + b.log_success,
        a.order + b.order,
        a.pseudo + b.pseudo,
    )


def merge(
    sets: Sequence[Sequence[Point]],
    dims: Sequence[int],
    upper: dict[int, float] | None = None,
    min_success: float = 0.0,
) -> list[Point]:
    """The Pareto set of whole plans: one point from each set, combined.

    ``upper`` bounds metrics (index -> bound) and ``min_success`` bounds success from below:
    since metrics only grow and success only shrinks as blocks are added, a partial plan that
    breaks a bound is dropped at once (it cannot be completed into a plan that meets it).
    """
    upper = upper or {}

    def ok(p: Point) -> bool:
        return p.success >= min_success and all(p.metrics[i] <= b for i, b in upper.items())

    acc: list[Point] = [Point((), tuple(0.0 for _ in METRIC_KEYS), 0.0, ())]
    for s in sets:
        nxt = [c for a in acc for b in s if ok(c := combine(a, b))]
        acc = pareto(nxt, dims)
    return acc

"""Lagrangian bounds for the merge of blocks: a quick plan to cap it, and the least a partial
plan must still add to be completed.

The merge minimizes a metric ``d`` that adds across blocks subject to a least ln(success) that
also adds. For any multiplier ``lam >= 0`` and any completion of a partial plan ``(c, l)`` (its
metric and ln(success) so far) by one point ``(c_j, l_j)`` of each remaining set that meets the
target,

    C = c + sum c_j >= c + sum c_j - lam * (l + sum l_j - min_log)
      >= c - lam * l + lam * min_log + sum_j min_p (c_p - lam * l_p)      (weak duality).

The best such bound over every ``lam`` is the linear relaxation of the remaining choice (each
set replaced by its convex hull): the lower envelope of the Minkowski sum of the hulls, a convex
chain (``Completion``). A partial plan whose metric plus that least exceeds a known plan's
metric cannot lead to a better plan and is dropped. The known plan comes from the same
relaxation: each set's point that minimizes ``c - lam * l`` at the least ``lam`` whose plan
meets the target (``cheap_plan``). It is a real plan, so its metric is a valid cap, and it is
usually the optimum or within one set's step of it.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

from aalp.optimizer.pareto import Point

# A round merges only the plans within this margin of a plan known to exist (that plan, or one
# as good, is still there); the margin keeps rounding of partial sums out of the way.
CAP_MARGIN = 1e-6
# Relative size of the rounding a bound is allowed before it drops a plan.
ROUNDING = 1e-9
# How far past the most success a completion can add a need may be and still count as met.
TOUCH = 1e-12


def hull(s: Sequence[Point], d: int) -> list[Point]:
    """The points of ``s`` that minimize ``metric - lam * log_success`` for some ``lam >= 0``:
    the lower convex hull from the least metric (most success among ties) to the most success
    (least metric among ties), in that order."""
    ordered = sorted(s, key=lambda p: (p.log_success, p.metrics[d], p.order))
    start = min(s, key=lambda p: (p.metrics[d], -p.log_success, p.order))
    out: list[Point] = [start]
    for p in ordered:
        # right of the start only, the least metric of each success (the first in this order)
        if p.log_success <= out[-1].log_success:
            continue
        while len(out) >= 2 and _turns(out[-2], out[-1], p, d):
            out.pop()
        out.append(p)
    return out


def _turns(a: Point, b: Point, c: Point, d: int) -> bool:
    """Is ``b`` on or above the segment from ``a`` to ``c`` (so never a unique minimizer)?"""
    la, lb, lc = a.log_success, b.log_success, c.log_success
    ca, cb, cc = a.metrics[d], b.metrics[d], c.metrics[d]
    return (cb - ca) * (lc - la) >= (cc - ca) * (lb - la)


def cheap_plan(
    sets: Sequence[Sequence[Point]],
    d: int,
    min_log: float,
    upper: dict[int, float],
    hulls: Sequence[list[Point]] | None = None,
) -> tuple[float, list[Point]] | None:
    """``(lam, picks)``: one real point per set meeting ``min_log`` in summed log-success and
    every upper bound: each set's minimizer of ``metric - lam * log_success`` at the least
    multiplier whose minimizers meet it (a sweep over the sets' hull breakpoints); None when
    no multiplier gives such a plan (a set without real points, an unreachable target, a
    bound the relaxation breaks). ``hulls``: the sets' real points' hulls, when known (a
    frontier asks at many levels)."""
    if hulls is None:
        usable = [
            [p for p in s if not p.pseudo and math.isfinite(p.log_success + p.metrics[d])]
            for s in sets
        ]
        if not all(usable):
            return None
        hulls = [hull(s, d) for s in usable]
    at = [0] * len(hulls)
    total = math.fsum(h[0].log_success for h in hulls)
    steps = sorted(
        (
            (h[i + 1].metrics[d] - h[i].metrics[d]) / (h[i + 1].log_success - h[i].log_success),
            k,
            i,
        )
        for k, h in enumerate(hulls)
        for i in range(len(h) - 1)
    )
    lam = 0.0
    for slope, k, i in steps:
        if total >= min_log:
            break
        lam, at[k] = slope, i + 1
        total += hulls[k][i + 1].log_success - hulls[k][i].log_success
    picks = [h[i] for h, i in zip(hulls, at, strict=True)]
    if math.fsum(p.log_success for p in picks) < min_log:
        return None
    for j, u in upper.items():
        if math.fsum(p.metrics[j] for p in picks) > u:
            return None
    return lam, picks


@dataclass(frozen=True)
class Completion:
    """The least metric that sets ``k, k+1, ...`` must add to bring a partial plan's
    ln(success) up to ``min_log``: the linear relaxation of picking one point per set (each
    set replaced by its convex hull), whose optimum over the remaining sets is the lower
    envelope of their Minkowski sum, a convex chain from (the least metrics' success, their
    sum) to (the most success, its least metric). ``chains[k]`` holds its breakpoints, as
    ln(success) and metric.

    Below the chain lies one of its supporting lines, ``lines[k] + lam * need`` (weak duality
    at the multiplier ``lam`` where the whole chain meets ``min_log``): a bound that splits
    into a sum over the sets, so a merge can rank each set's points by ``metric - lam *
    ln(success)`` and stop at the first pair the line already rules out (``pairs``)."""

    d: int
    min_log: float
    hulls: tuple[list[Point], ...]
    chains: tuple[Chain, ...]  # sets k, k+1, ... (the last: none)
    lam: float = 0.0
    lines: tuple[float, ...] = ()  # per k: sets k, ...: the sum of their least metric - lam * l
    # per k, the chain of every set but k (``others``), built when first asked
    merged: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, sets: Sequence[Sequence[Point]], d: int, min_log: float) -> Completion | None:
        """The completion bounds of ``sets`` (real and optimistic points alike); None when a
        set has no point of finite metric and success."""
        usable = [[p for p in s if math.isfinite(p.log_success + p.metrics[d])] for s in sets]
        if not all(usable):
            return None
        hulls = tuple(hull(s, d) for s in usable)
        suffix = _chains(reversed(hulls), d)
        return cls(d, -math.inf, hulls, tuple(reversed(suffix))).at(min_log)

    def at(self, min_log: float) -> Completion:
        """The same sets' bounds for the target ``min_log`` (the chains are shared)."""
        lam = _slope_at(self.chains[0], min_log)
        least = [min(p.metrics[self.d] - lam * p.log_success for p in h) for h in self.hulls]
        lines = [0.0] * (len(least) + 1)
        for k in range(len(least) - 1, -1, -1):
            lines[k] = lines[k + 1] + least[k]
        return replace(self, min_log=min_log, lam=lam, lines=tuple(lines), merged=self.merged)

    @cached_property
    def prefix(self) -> tuple[Chain, ...]:
        """The chains of sets 0 .. k-1 (the first: none), for ``others``."""
        return tuple(_chains(self.hulls, self.d))

    def least(self, k: int, need: float) -> float:
        """The least metric sets ``k, ...`` add to gain ``need`` in ln(success) (inf: they
        cannot)."""
        xs, ys = self.chains[k]
        if not need > xs[0]:  # NaN: no target (-inf) less a point's -inf, so no need
            return ys[0]
        if need > xs[-1] + TOUCH * (1.0 + abs(need) + abs(xs[-1])):
            return math.inf
        i = bisect.bisect_left(xs, need)
        if i >= len(xs):
            return ys[-1]
        x1, y1, x2, y2 = xs[i - 1], ys[i - 1], xs[i], ys[i]
        return y1 + (y2 - y1) * (need - x1) / (x2 - x1) if x2 > x1 else y2

    def others(self, k: int, need: float) -> float:
        """The least metric every set but ``k`` adds to gain ``need`` in ln(success) (inf:
        they cannot): the two chains on either side of ``k``, walked together (their merged
        chain is built once per ``k``)."""
        xs, ys, dxs, dys = self._around(k)
        if not need > xs[0]:  # NaN: no target (-inf) less a point's -inf, so no need
            return ys[0]
        i = bisect.bisect_left(xs, need)  # the first breakpoint at or past the need
        if i < len(xs):
            return ys[i - 1] + dys[i - 1] * (need - xs[i - 1]) / dxs[i - 1]
        x, y = xs[-1], ys[-1]
        return y if need <= x + TOUCH * (1.0 + abs(need) + abs(x)) else math.inf

    def _around(self, k: int) -> tuple[list[float], list[float], list[float], list[float]]:
        """The chain of every set but ``k``: breakpoints and the edges between them."""
        hit = self.merged.get(k)
        if hit is None:
            (px, py), (sx, sy) = self.prefix[k], self.chains[k + 1]
            xs, ys, dxs, dys = [px[0] + sx[0]], [py[0] + sy[0]], [], []
            for _slope, dx, dy in heapq.merge(_edges(px, py), _edges(sx, sy)):
                xs.append(xs[-1] + dx)
                ys.append(ys[-1] + dy)
                dxs.append(dx)
                dys.append(dy)
            hit = self.merged[k] = (xs, ys, dxs, dys)
        return hit

    def keep(self, metric: float, log_success: float, k: int, top: float) -> bool:
        """Can a partial plan of these totals (sets before ``k`` merged) be completed with a
        metric at most ``top`` and ln(success) at least ``min_log``?"""
        rest = self.least(k, self.min_log - log_success)
        if rest == math.inf:
            return False
        # rounding of the sums never drops a plan
        return metric + rest <= top + ROUNDING * (abs(metric) + abs(rest) + abs(top))


Chain = tuple[tuple[float, ...], tuple[float, ...]]  # breakpoints: ln(success)s, metrics


def _slope_at(chain: Chain, need: float) -> float:
    """The slope (metric per ln(success)) of the chain where it reaches ``need``: 0 when its
    start already does, its last edge's past its end (any ``lam >= 0`` gives a valid line)."""
    xs, ys = chain
    if not need > xs[0]:
        return 0.0
    i = min(bisect.bisect_left(xs, need), len(xs) - 1)
    while i > 0 and not xs[i] > xs[i - 1]:
        i -= 1
    if i == 0:
        return 0.0
    return max(0.0, (ys[i] - ys[i - 1]) / (xs[i] - xs[i - 1]))


def _chains(hulls: Iterable[list[Point]], d: int) -> list[Chain]:
    """The chains of the Minkowski sums of the first 0, 1, 2, ... hulls: each adds the
    next hull's start to the start and merges its edges in by slope."""
    out: list[Chain] = [((0.0,), (0.0,))]
    edges: list[tuple[float, float, float]] = []  # (slope, d success, d metric), sorted
    x0 = y0 = 0.0
    for h in hulls:
        x0 += h[0].log_success
        y0 += h[0].metrics[d]
        own = []
        for a, b in itertools.pairwise(h):
            dx, dy = b.log_success - a.log_success, b.metrics[d] - a.metrics[d]
            own.append((dy / dx, dx, dy))
        edges = list(heapq.merge(edges, own))
        xs, ys = [x0], [y0]
        for _slope, dx, dy in edges:
            xs.append(xs[-1] + dx)
            ys.append(ys[-1] + dy)
        out.append((tuple(xs), tuple(ys)))
    return out


def _edges(xs: tuple[float, ...], ys: tuple[float, ...]) -> list[tuple[float, float, float]]:
    """A chain's edges as ``(slope, d success, d metric)``, in the chain's (slope) order."""
    return [
        ((y2 - y1) / (x2 - x1), x2 - x1, y2 - y1)
        for (x1, x2), (y1, y2) in zip(itertools.pairwise(xs), itertools.pairwise(ys), strict=True)
        if x2 > x1
    ]

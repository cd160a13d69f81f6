"""The worker pool: the makespan of a list schedule of calls on w workers (docs/model.md §3).

A list schedule starts the calls in the plan's order, each on the first worker to come free
(ties: the lowest-numbered worker). For ``count`` calls of equal length L the makespan is
``ceil(count/w)·L`` (every round of w calls ends together); for calls of unequal length it is
computed exactly by ``list_makespan`` and lies within Graham's bounds
``max(total/w, longest) <= makespan <= total/w + (1 − 1/w)·longest``.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable

from aalp.plan.pool import rounds

__all__ = ["graham_bounds", "list_makespan", "rounds"]


def list_makespan(durations: Iterable[float], workers: int | None) -> float:
    """The makespan of the list schedule of ``durations`` (in order) on ``workers`` workers
    (None: one worker per call, the longest call).

    >>> list_makespan([3, 1, 1, 1, 2], 2)  # the 2 starts at 3, when both workers are free
    5.0
    """
    lengths = [float(d) for d in durations]
    if not lengths:
        return 0.0
    if workers is None or workers >= len(lengths):
        return max(lengths)
    free = [0.0] * max(1, int(workers))  # the time each worker comes free
    for d in lengths:
        heapq.heappush(free, heapq.heappop(free) + d)
    return max(free)


def graham_bounds(durations: Iterable[float], workers: int) -> tuple[float, float]:
    """Graham's bounds on any list schedule's makespan: ``max(total/w, longest)`` below,
    ``total/w + (1 − 1/w)·longest`` above."""
    lengths = [float(d) for d in durations]
    if not lengths:
        return 0.0, 0.0
    total, longest = math.fsum(lengths), max(lengths)
    return max(total / workers, longest), total / workers + (1 - 1 / workers) * longest

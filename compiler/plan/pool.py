"""The worker pool's rounds: how many lengths of one call equal calls take on w workers
(docs/model.md §3). The list schedule of unequal calls is in ``aalp.model.schedule``; this
rule sits in the plan because a nested stage's shape already scales by it."""

from __future__ import annotations

import math


def rounds(count: int, workers: float | None) -> float:
    """How many lengths of one call ``count`` equal calls take on ``workers`` workers:
    ``ceil(count/w)`` (1 with unbounded workers, 0 without calls).

    >>> rounds(10, 4), rounds(8, 4), rounds(3, None), rounds(0, 2)
    (3.0, 2.0, 1.0, 0.0)
    """
    if count == 0:
        return 0.0
    if workers is None:
        return 1.0
    w = max(1, math.floor(workers))
    return float(-(-count // w))

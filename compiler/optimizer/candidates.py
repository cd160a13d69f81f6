"""Candidate values for integer decisions with astronomically large ranges.

A granularity x ranges over ``[1, N]`` with N up to 2^64; a fan-in over ``[2, M]``. The
optimizer never enumerates them. It starts from a bounded set (every value up to ``DENSE``, a
geometric ladder to the top, and the x that give the first few chunk counts) and then refines
around the chosen value until its neighbours are adjacent integers, which finds the optimum of
any objective that is unimodal along the ladder. Unimodality is checked numerically on the
candidates; where it fails, the optimizer refines around every local minimum and says so.

Chunk counts: a stage over N units in chunks of x makes ``ceil(N/x)`` calls, so for each count C
only the smallest x giving it, ``ceil(N/C)``, can be optimal when reads and writes grow and
success falls with x (checked on the op's formulas): ``snap`` maps x to it.
"""

from __future__ import annotations

from collections.abc import Iterable

DENSE = 12
RATIO = 1.5
FIRST_COUNTS = 12
REFINE_POINTS = 10


def snap(x: int, n: int) -> int:
    """The smallest x' with ``ceil(n/x') == ceil(n/x)``: same calls, smaller (cheaper) calls.

    >>> snap(7, 20), snap(10, 20), snap(15, 20)
    (7, 10, 10)
    """
    if n <= 0 or x >= n:
        return min(x, max(n, 1))
    chunks = -(-n // x)
    return -(-n // chunks)


def initial(lo: int, hi: int, n: int | None = None) -> list[int]:
    """The starting candidates in ``[lo, hi]``; ``n`` the unit count when x makes chunks."""
    if hi < lo:
        return []
    out = set(range(lo, min(hi, lo + DENSE - 1) + 1))
    v = float(lo + DENSE)
    while v < hi:
        out.add(int(v))
        v *= RATIO
    out.add(hi)
    if n is not None:
        for c in range(1, FIRST_COUNTS + 1):
            x = -(-n // c)
            if lo <= x <= hi:
                out.add(x)
    return sorted(out)


def snapped(values: Iterable[int], n: int | None, lo: int, hi: int) -> list[int]:
    """``values`` snapped to the smallest x per chunk count (kept inside ``[lo, hi]``)."""
    if n is None:
        return sorted(set(values))
    return sorted({v2 for v in values if lo <= (v2 := snap(v, n)) <= hi})


def around(values: list[int], chosen: int, lo: int, hi: int) -> list[int]:
    """New candidates strictly between ``chosen``'s neighbours in ``values`` (empty when the
    neighbours are already adjacent integers)."""
    i = values.index(chosen)
    left = values[i - 1] if i > 0 else lo
    right = values[i + 1] if i + 1 < len(values) else hi
    out: set[int] = set()
    for a, b in ((left, chosen), (chosen, right)):
        if b - a <= 1:
            continue
        if b - a <= REFINE_POINTS + 1:
            out.update(range(a + 1, b))
            continue
        step = (b - a) / (REFINE_POINTS + 1)
        out.update(int(a + step * j) for j in range(1, REFINE_POINTS + 1))
    out.discard(chosen)
    return sorted(v for v in out if lo <= v <= hi and v not in values)


def local_minima(values: list[int], score: dict[int, float]) -> list[int]:
    """The candidates whose score is no larger than their neighbours' (missing scores = inf)."""
    inf = float("inf")
    out = []
    for i, v in enumerate(values):
        s = score.get(v, inf)
        if s == inf:
            continue
        left = score.get(values[i - 1], inf) if i > 0 else inf
        right = score.get(values[i + 1], inf) if i + 1 < len(values) else inf
        if s <= left and s <= right:
            out.append(v)
    return out

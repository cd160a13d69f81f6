"""Beam search over an op's steps, ranked by a scoring op (``expand OP by SCORE width b keep w
depth d``; docs/model.md §2, expand).

One decision is a search of ``d`` levels. Level 1 expands the root into b candidates; every
later level expands each of the (at most w) nodes kept into b candidates. SCORE labels every
candidate good or bad, right with probability c on either kind (its success), independently;
the nodes kept are the labelled-good ones first, then the labelled-bad ones, in random order
within a label (so a good candidate is ranked above a bad one with probability exactly
c² + c·(1 − c) = c). A candidate is good when its parent is good and the op's step is right
(probability a); a child of a bad node is bad. The decision's answer is the best-ranked
candidate of level d: success is the probability that it is good.

The number of good nodes kept is a Markov chain on 0..w, computed exactly level by level
(``success``): with G good parents among k kept, the m = k·b candidates hold X ~ Bin(G·b, a)
good ones; of them Y ~ Bin(X, c) are labelled good, and Z ~ Bin(m − X, 1 − c) of the bad
ones; the w kept take min(w, Y + Z) of the labelled-good candidates and the rest from the
labelled-bad ones, each draw hypergeometric.
"""

from __future__ import annotations

import math
from functools import lru_cache

from aalp.front.ir import BEAM_MAX_CANDIDATES as MAX_CANDIDATES


def kept(b: int, w: int, d: int) -> list[int]:
    """Nodes expanded at each level 1..d: 1 at the root, then min(w, b·previous)."""
    out, k = [], 1
    for _ in range(d):
        out.append(k)
        k = min(w, k * b)
    return out


def calls(b: int, w: int, d: int) -> int:
    """OP calls of one search (SCORE makes as many): ``Σ_ℓ k_ℓ·b`` over the d levels, that is
    ``b + (d − 1)·w·b`` once w ≤ b."""
    return sum(k * b for k in kept(b, w, d))


def _binom(n: int, p: float) -> list[float]:
    """P[Bin(n, p) = i] for i = 0..n."""
    if p <= 0.0:
        return [1.0] + [0.0] * n
    if p >= 1.0:
        return [0.0] * n + [1.0]
    return [math.comb(n, i) * p**i * (1.0 - p) ** (n - i) for i in range(n + 1)]


def _hyper(total: int, good: int, draws: int) -> list[float]:
    """P[j good among ``draws`` drawn without replacement from ``total`` holding ``good``]."""
    out = [0.0] * (draws + 1)
    whole = math.comb(total, draws)
    for j in range(max(0, draws - (total - good)), min(draws, good) + 1):
        out[j] = math.comb(good, j) * math.comb(total - good, draws - j) / whole
    return out


def _level(g: int, k: int, b: int, keep: int, a: float, c: float) -> list[float]:
    """P[good nodes kept = j], j = 0..keep', for one level from g good of k parents
    (keep' = min(keep, k·b))."""
    m = k * b
    top = min(keep, m)
    out = [0.0] * (top + 1)
    for x, px in enumerate(_binom(g * b, a)):
        if px == 0.0:
            continue
        for y, py in enumerate(_binom(x, c)):
            if py == 0.0:
                continue
            for z, pz in enumerate(_binom(m - x, 1.0 - c)):
                p = px * py * pz
                if p == 0.0:
                    continue
                labelled = y + z
                if labelled >= top:
                    for j, ph in enumerate(_hyper(labelled, y, top)):
                        out[j] += p * ph
                else:
                    rest = top - labelled  # drawn from the labelled-bad candidates
                    for j, ph in enumerate(_hyper(m - labelled, x - y, rest)):
                        out[y + j] += p * ph
    return out


@lru_cache(maxsize=4096)
def success(a: float, c: float, b: int, w: int, d: int) -> float:
    """The probability that the best-ranked candidate of level d is good (exact).

    >>> round(success(0.5, 1.0, 2, 1, 1), 6)  # a perfect scorer: some candidate good
    0.75
    >>> round(success(0.5, 0.5, 2, 1, 1), 6)  # a coin for a scorer: one sample
    0.5
    """
    if b * w > MAX_CANDIDATES:
        raise ValueError(f"a beam of width {b} keeping {w}: over {MAX_CANDIDATES} candidates")
    state = {1: 1.0}  # good nodes kept -> probability; the root is good
    levels = kept(b, w, d)
    for i, k in enumerate(levels):
        keep = 1 if i == len(levels) - 1 else w  # the last level keeps the answer
        nxt: dict[int, float] = {}
        for g, pg in state.items():
            for j, pj in enumerate(_level(g, k, b, keep, a, c)):
                if pj:
                    nxt[j] = nxt.get(j, 0.0) + pg * pj
        state = nxt
    return min(1.0, max(0.0, state.get(1, 0.0)))


def rounds(b: int, w: int, d: int, v: float) -> float:
    """Expected rounds of the op: each level draws its k·b candidates at once, red-flagged
    ones again together (``majority_rounds`` of the level's candidates)."""
    from aalp.model.reliability import majority_rounds

    return math.fsum(majority_rounds(k * b, v) for k in kept(b, w, d))


def boosted(a: float, c: float, b: int, w: int, d: int, v: float = 1.0):
    """The search as one boosted decision: its success, ``calls/v`` samples of the op, its
    rounds, and ``tries`` = the candidates the scorer labels (one scorer call each)."""
    from aalp.model.reliability import Boosted

    s = success(a, c, b, w, d)
    n = calls(b, w, d)
    return Boosted(s, 1.0 - s, n / v, rounds(b, w, d, v), float(n))

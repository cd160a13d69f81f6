"""Beam searches in the Monte Carlo run (``aalp.model.montecarlo``): every candidate, label
and tie of the search drawn, as docs/model.md §2 (expand) states it, independently of the
exact chain of ``aalp.model.beam``."""

from __future__ import annotations

from typing import Any


def play_expand(draw: Any, a, n: int, rng, keep: int, depth: int) -> dict[str, Any]:
    """Play ``n`` searches (``a``: each one's step success, an array over the decisions)."""
    import numpy as np

    b = int(draw.choice.votes or 1)
    c = draw.verifier_success
    ok = np.zeros(n, dtype=bool)
    calls = np.zeros(n, dtype=np.int64)
    for i in range(n):
        nodes = [True]  # the root is good
        for level in range(depth):
            m = len(nodes) * b
            good = np.repeat(np.asarray(nodes), b) & (rng.random(m) < a[i])
            label = np.where(rng.random(m) < c, good, ~good)
            order = rng.permutation(m)  # random order within a label
            order = order[np.argsort(~label[order], kind="stable")]
            nodes = list(good[order[: 1 if level == depth - 1 else keep]])
            calls[i] += m
        ok[i] = nodes[0]
    samples = _redrawn(rng, calls, draw.keep)
    vsamples = _redrawn(rng, calls, draw.verifier_keep)
    rounds = _level_rounds(rng, n, b, keep, depth, draw.keep)
    vrounds = _level_rounds(rng, n, b, keep, depth, draw.verifier_keep)
    return dict(ok=ok, samples=samples, rounds=rounds, vsamples=vsamples, vrounds=vrounds)


def _redrawn(rng, calls, v: float):
    """Calls made to get ``calls`` that pass the red flags (each passes w.p. v)."""
    import numpy as np

    if v >= 1.0:
        return calls.copy()
    out = calls.copy()
    pos = calls > 0
    out[pos] += rng.negative_binomial(calls[pos], v)
    return out.astype(np.int64)


def _level_rounds(rng, n: int, b: int, keep: int, depth: int, v: float):
    """Rounds of a search: per level, its candidates drawn at once and the red-flagged ones
    drawn again together."""
    import numpy as np
    from aalp.model.beam import kept

    rounds = np.zeros(n, dtype=np.int64)
    for k in kept(b, keep, depth):
        remaining = np.full(n, k * b, dtype=np.int64)
        while (remaining > 0).any():
            rounds += remaining > 0
            remaining -= rng.binomial(remaining, min(1.0, v))
    return rounds

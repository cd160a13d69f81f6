"""The Pareto sets of partial plans against their definition, by brute force.

A real point is dropped only when another real point is at least as good in every dim and in
success; an optimistic point when any point is. Exact ties keep the real point, then the one
of smallest order. ``LivePoints`` must give the same sets as ``pareto`` over what it was fed,
while dropping for good only what a real point dominates."""

from __future__ import annotations

import math
import random

import pytest
from aalp.optimizer import pareto as pareto_module
from aalp.optimizer.pareto import (
    METRIC_KEYS,
    LivePoints,
    Point,
    combine,
    dominated_by,
    merge_two,
    pareto,
)


def _point(rng: random.Random, i: int, pseudo: bool) -> Point:
    metrics = [0.0] * len(METRIC_KEYS)
    for d in range(3):
        metrics[d] = float(rng.choice([0, 1, 2, 3, 5]))  # small values: many exact ties
    log = rng.choice([-math.inf, -3.0, -1.0, -0.5, 0.0])
    return Point((("o.x", i),), tuple(metrics), log, (i,), ("ref",) if pseudo else ())


def _weakly_better(q: Point, p: Point, dims) -> bool:
    return q.log_success >= p.log_success and all(q.metrics[d] <= p.metrics[d] for d in dims)


def _brute(points: list[Point], dims) -> set[tuple]:
    def key(p: Point) -> tuple:
        return (*(p.metrics[d] for d in dims), -p.log_success, 1 if p.pseudo else 0, p.order)

    kept = set()
    for p in points:
        rivals = [q for q in points if q is not p]
        beaten = any(
            _weakly_better(q, p, dims)
            and (not q.pseudo or p.pseudo)  # a real point is beaten by real ones only
            and (not _weakly_better(p, q, dims) or key(q) < key(p))  # exact ties: by the key
            for q in rivals
        )
        if not beaten:
            kept.add(p.order)
    return kept


@pytest.mark.parametrize("dims", [[0], [0, 1], [0, 1, 2]])
def test_pareto_matches_its_definition(dims):
    rng = random.Random(len(dims))
    for _ in range(300):
        pts = [_point(rng, i, rng.random() < 0.4) for i in range(rng.randint(1, 25))]
        got = {p.order for p in pareto(pts, dims)}
        real = {p.order for p in pts if not p.pseudo}
        want = _brute(pts, dims)
        # Every real point the definition keeps is kept, and nothing dominated by a kept real
        # point survives; optimistic points behind optimistic ones may go either way only
        # when a kept point dominates them.
        assert want & real <= got, (pts, dims)
        for p in pts:
            if p.order in got and p.order not in want:
                assert p.pseudo and all(
                    q.pseudo for q in pts if q is not p and _weakly_better(q, p, dims)
                )


@pytest.mark.parametrize("dims", [[0], [0, 1]])
def test_live_points_drop_only_what_a_real_point_dominates(dims):
    rng = random.Random(7 + len(dims))
    for _ in range(200):
        live = LivePoints(dims, {}, -math.inf)
        sources = {}
        for s in range(rng.randint(1, 5)):
            sources[s] = [_point(rng, 100 * s + i, rng.random() < 0.5) for i in range(6)]
        for s, raw in sources.items():
            live.alive(s, raw)
        out = live.pareto(list(sources))
        every = [p for raw in sources.values() for p in raw]
        assert {p.order for p in out} == {p.order for p in pareto(every, dims)}
        # what was dropped is dominated by a real point of the set
        real = [p for p in out if not p.pseudo]
        beaten = dominated_by(real, dims)
        alive = {p.order for s in sources if not live.is_dead(s) for p in live.alive(s, sources[s])}
        for p in every:
            if p.order not in alive:
                assert beaten(p) or p in real


def _all_pairs(a, b, dims, upper, min_success):
    """The merge by its definition: every pair, those within the bounds, pruned."""
    pairs = [combine(p, q) for p in a for q in b]
    ok = [
        c
        for c in pairs
        if c.success >= min_success and all(c.metrics[i] <= u for i, u in upper.items())
    ]
    return pareto(ok, dims)


def _as_tuples(points):
    return [(p.decisions, p.metrics, p.log_success, p.order, p.pseudo) for p in points]


@pytest.mark.parametrize("dims", [[0], [0, 1]])
def test_merge_two_is_the_pruned_product(dims, monkeypatch):
    """The sorted sweep gives exactly the points (and order) of the all-pairs merge: exact
    ties, optimistic points, bounds on the merged dim, on another metric and on success."""
    monkeypatch.setattr(pareto_module, "SWEEP_FROM", 0)  # the sweep even for small sets
    rng = random.Random(11 + len(dims))
    for trial in range(400):
        a = [_point(rng, i, rng.random() < 0.3) for i in range(rng.randint(1, 30))]
        b = [_point(rng, 100 + i, rng.random() < 0.3) for i in range(rng.randint(1, 30))]
        if trial % 3:
            b = pareto(b, dims)  # the staircase the sweep walks (else it forms every pair)
        if trial % 2:
            a = pareto(a, dims)
        upper = rng.choice([{}, {0: 6.0}, {1: 5.0}, {0: 8.0, 2: 4.0}])
        min_success = rng.choice([0.0, 0.0, math.exp(-2.0), math.exp(-1.0)])
        want = _all_pairs(a, b, dims, upper, min_success)
        got = merge_two(a, b, dims, upper, min_success)
        assert _as_tuples(got) == _as_tuples(want), (a, b, upper, min_success)


def test_merge_two_scales_with_the_answer():
    """Two staircases of 2,000 points each: four million pairs, of which the sweep forms
    only those that survive (no two pairs tie in the merged metric here)."""
    n = 2000
    zeros = (0.0,) * (len(METRIC_KEYS) - 1)
    a = [Point((("a", i),), (i**1.1, *zeros), -1.0 / (1 + i), (i,)) for i in range(n)]
    b = [Point((("b", i),), (i * math.pi, *zeros), -2.0 / (1 + i), (i,)) for i in range(n)]
    calls = []
    real_combine = pareto_module._joined

    def counting(p, q):
        calls.append(1)
        return real_combine(p, q)

    pareto_module._joined = counting
    try:
        got = merge_two(a, b, [0], {})
    finally:
        pareto_module._joined = real_combine
    assert len(calls) == len(got) < n * n // 50

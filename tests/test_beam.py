"""The beam search's exact success (``aalp.model.beam``) against a node-by-node simulation of
the search as docs/model.md §2 (expand) states it, and against hand-derived values."""

from __future__ import annotations

import math
import random

import pytest
from aalp.model import beam


def simulate(a: float, c: float, b: int, w: int, d: int, runs: int, seed: int) -> float:
    """Play the search: every candidate's goodness, every label and every tie drawn."""
    rng = random.Random(seed)
    wins = 0
    for _ in range(runs):
        nodes = [True]  # the root is good
        for level in range(d):
            candidates = [parent and rng.random() < a for parent in nodes for _ in range(b)]
            labels = [(good if rng.random() < c else not good) for good in candidates]
            order = list(range(len(candidates)))
            rng.shuffle(order)  # random order within a label
            order.sort(key=lambda i: not labels[i])  # labelled-good first (stable)
            keep = 1 if level == d - 1 else w
            nodes = [candidates[i] for i in order[:keep]]
        wins += nodes[0]
    return wins / runs


@pytest.mark.parametrize(
    ("a", "c", "b", "w", "d"),
    [(0.6, 0.9, 3, 2, 3), (0.4, 0.75, 4, 2, 2), (0.8, 0.6, 2, 3, 4), (0.5, 1.0, 3, 1, 3)],
)
def test_exact_chain_equals_the_simulated_search(a, c, b, w, d):
    runs = 40_000
    exact = beam.success(a, c, b, w, d)
    got = simulate(a, c, b, w, d, runs, seed=11)
    stderr = math.sqrt(max(exact * (1 - exact), 1e-6) / runs)
    assert abs(got - exact) <= 5 * stderr, (got, exact)


def test_hand_values():
    # one level, a perfect scorer: the answer is good when any of the b candidates is
    assert beam.success(0.3, 1.0, 4, 2, 1) == pytest.approx(1 - 0.7**4, rel=1e-12)
    # a scorer no better than a coin: the answer is a random candidate, good w.p. a per level
    assert beam.success(0.7, 0.5, 3, 1, 2) == pytest.approx(0.7**2, rel=1e-12)
    # width 1 keeps one path: d steps, each right w.p. a
    assert beam.success(0.9, 0.8, 1, 1, 5) == pytest.approx(0.9**5, rel=1e-12)
    # a perfect scorer and keep w ≥ 1: a good path survives while some candidate is good
    assert beam.success(0.5, 1.0, 2, 1, 2) == pytest.approx(0.75**2, rel=1e-12)


def test_calls_count_every_expansion():
    assert beam.calls(3, 2, 4) == 3 + 6 + 6 + 6
    assert beam.calls(1, 5, 3) == 3  # one path
    assert beam.kept(2, 8, 4) == [1, 2, 4, 8]

"""The worker pool's list schedule (aalp.model.schedule) against a direct simulation of it."""

from __future__ import annotations

import math
import random

import pytest
from aalp.model.schedule import graham_bounds, list_makespan, rounds


def simulate_pool(durations: list[float], workers: int) -> float:
    """Plays the pool out event by event: at each moment a worker is idle and calls wait, the
    next call in order starts on the idle worker with the lowest number; the clock then jumps
    to the next finish. Independent of the heap in ``list_makespan``."""
    busy_until = [0.0] * workers
    clock, waiting, end = 0.0, list(durations), 0.0
    while waiting:
        idle = [i for i in range(workers) if busy_until[i] <= clock]
        for i in idle:
            if not waiting:
                break
            busy_until[i] = clock + waiting.pop(0)
            end = max(end, busy_until[i])
        if waiting:
            clock = min(t for t in busy_until if t > clock)
    return end


@pytest.mark.parametrize("seed", range(40))
def test_list_makespan_is_the_simulated_schedule(seed: int) -> None:
    rng = random.Random(seed)
    workers = rng.randint(1, 6)
    durations = [float(rng.randint(1, 30)) for _ in range(rng.randint(1, 25))]
    got = list_makespan(durations, workers)
    assert got == simulate_pool(durations, workers)
    lo, hi = graham_bounds(durations, workers)
    assert lo - 1e-9 <= got <= hi + 1e-9


@pytest.mark.parametrize(("count", "workers"), [(1, 1), (7, 3), (9, 3), (10, 4), (3, 8), (100, 7)])
def test_equal_calls_take_the_ceiling_of_rounds(count: int, workers: int) -> None:
    length = 2.5
    assert rounds(count, workers) * length == simulate_pool([length] * count, workers)
    assert rounds(count, workers) == math.ceil(count / workers)


def test_unequal_calls_exceed_total_over_workers() -> None:
    # the fluid bound total/w = 4 is not reached: one long call holds a worker
    assert list_makespan([6, 1, 1], 2) == 6.0
    assert list_makespan([1, 1, 6], 2) == 7.0  # the order of the plan matters
    assert list_makespan([1, 1, 6], None) == 6.0

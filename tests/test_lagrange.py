"""The Lagrangian plan, the completion bounds and the capped merge (``aalp.optimizer.lagrange``)
and the frontier solved point by point (``aalp.optimizer.frontier``), against brute force over
the product of small random sets.

Metrics are small integers and log-successes multiples of 1/8, so every sum is exact and the
brute force and the merge agree to the last bit; many exact ties."""

from __future__ import annotations

import itertools
import math
import random

from aalp.optimizer.frontier import cheapest_at, success_frontier
from aalp.optimizer.lagrange import Completion, cheap_plan, hull
from aalp.optimizer.pareto import METRIC_KEYS, Point, combine, merge

ZEROS = (0.0,) * (len(METRIC_KEYS) - 2)


def _point(rng: random.Random, block: int, i: int) -> Point:
    cost = float(rng.randint(0, 12))
    other = float(rng.randint(0, 6))
    log = -rng.randint(0, 16) / 8
    return Point(((f"b{block}", i),), (cost, other, *ZEROS), log, (i,))


def _sets(rng: random.Random) -> list[list[Point]]:
    return [[_point(rng, b, i) for i in range(rng.randint(1, 6))] for b in range(rng.randint(1, 4))]


def _product(sets: list[list[Point]]) -> list[Point]:
    out = []
    for combo in itertools.product(*sets):
        acc = Point((), (0.0,) * len(METRIC_KEYS), 0.0, ())
        for p in combo:
            acc = combine(acc, p)
        out.append(acc)
    return out


def test_the_hull_holds_every_minimizer_of_the_relaxation():
    rng = random.Random(1)
    for _ in range(300):
        pts = [_point(rng, 0, i) for i in range(rng.randint(1, 12))]
        h = hull(pts, 0)
        assert h[0].metrics[0] == min(p.metrics[0] for p in pts)
        assert h[-1].log_success == max(p.log_success for p in pts)
        for lam in (0.0, 0.1, 0.5, 1, 2, 4, 8, 16, 100, 1e6):
            assert min(p.metrics[0] - lam * p.log_success for p in h) == min(
                p.metrics[0] - lam * p.log_success for p in pts
            )


def test_completion_bounds_are_lower_bounds_and_tight_at_the_hull_vertices():
    rng = random.Random(2)
    for _ in range(200):
        sets = _sets(rng)
        comp = Completion.of(sets, 0, -math.inf)
        for k in range(len(sets) + 1):
            rest = _product(sets[k:])
            for need in sorted({p.log_success for p in rest} | {-5.0, 0.5}):
                brute = min((p.metrics[0] for p in rest if p.log_success >= need), default=math.inf)
                assert comp.least(k, need) <= brute
            xs, ys = comp.chains[k]
            for x, y in zip(xs, ys, strict=True):  # each vertex is a real combination
                assert any(p.log_success == x and p.metrics[0] == y for p in rest)


def test_the_supporting_line_lies_below_the_chain_and_touches_it_at_the_target():
    rng = random.Random(7)
    for _ in range(200):
        sets = _sets(rng)
        shared = Completion.of(sets, 0, -math.inf)
        for min_log in (-math.inf, -3.0, -1.0, -0.5, -0.125, 0.0):
            comp = shared.at(min_log)
            assert comp.chains is shared.chains and comp.lam >= 0
            fresh = Completion.of(sets, 0, min_log)
            assert (fresh.lam, fresh.lines) == (comp.lam, comp.lines)
            for k in range(len(sets) + 1):
                rest = _product(sets[k:])
                line = [p.metrics[0] - comp.lam * p.log_success for p in rest]
                # the sum of each set's least is the least of the sums
                assert math.isclose(comp.lines[k], min(line), rel_tol=1e-12, abs_tol=1e-12)
                for need in sorted({p.log_success for p in rest} | {-5.0, 0.5}):
                    low = comp.lines[k] + (comp.lam * need if comp.lam else 0.0)
                    assert low <= comp.least(k, need) + 1e-9
            top = comp.least(0, min_log)
            if math.isfinite(top) and math.isfinite(min_log):  # tight where the target is
                assert math.isclose(comp.lines[0] + comp.lam * min_log, top, abs_tol=1e-9)


def test_the_bound_of_every_set_but_one_is_the_chain_of_the_others():
    rng = random.Random(8)
    for _ in range(200):
        sets = _sets(rng)
        comp = Completion.of(sets, 0, -1.0)
        for k in range(len(sets)):
            rest = [s for j, s in enumerate(sets) if j != k]
            alone = Completion.of(rest, 0, -1.0)
            plans = _product(rest)
            for need in sorted({p.log_success for p in plans} | {-9.0, -0.3, 0.5}):
                got = comp.others(k, need)
                brute = min(
                    (p.metrics[0] for p in plans if p.log_success >= need), default=math.inf
                )
                assert got <= brute  # a lower bound of every completion
                want = alone.least(0, need)
                assert got == want or math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-12)


def test_the_lagrangian_plan_meets_the_target_whenever_any_plan_can():
    rng = random.Random(3)
    for _ in range(300):
        sets = _sets(rng)
        plans = _product(sets)
        min_log = rng.choice([-math.inf, -2.0, -1.0, -0.5, -0.25, 0.0])
        reachable = [p for p in plans if p.log_success >= min_log]
        got = cheap_plan(sets, 0, min_log, {})
        if not reachable:
            assert got is None
            continue
        assert got is not None
        _lam, picks = got
        assert sum(p.log_success for p in picks) >= min_log
        assert sum(p.metrics[0] for p in picks) >= min(p.metrics[0] for p in reachable)


def _best(plans: list[Point], min_log: float, upper: dict[int, float]) -> tuple | None:
    ok = [
        p
        for p in plans
        if p.log_success >= min_log and all(p.metrics[i] <= u for i, u in upper.items())
    ]
    if not ok:
        return None
    p = min(ok, key=lambda q: (q.metrics[0], -q.log_success))
    return p.metrics[0], p.log_success


def test_the_cheapest_plan_at_a_level_is_the_brute_force_optimum():
    rng = random.Random(4)
    for _ in range(400):
        sets = _sets(rng)
        plans = _product(sets)
        min_log = rng.choice([-math.inf, -3.0, -1.0, -0.5, -0.125, 0.0])
        upper = rng.choice([{}, {}, {1: 6.0}, {1: 3.0}])
        dims = [0, *upper]
        got = cheapest_at(sets, dims, upper, min_log)
        want = _best(plans, min_log, upper)
        assert (None if got is None else (got.metrics[0], got.log_success)) == want


def test_a_capped_merge_keeps_every_plan_below_the_cap():
    rng = random.Random(5)
    for _ in range(300):
        sets = _sets(rng)
        min_log = rng.choice([-2.0, -1.0, -0.5])
        full = merge(sets, [0], {}, math.exp(min_log))
        meeting = [p for p in full if p.log_success >= min_log]
        if not meeting:
            continue
        top = min(p.metrics[0] for p in meeting) + rng.choice([0, 0, 1, 3])
        comp = Completion.of(sets, 0, min_log)
        capped = merge(sets, [0], {}, math.exp(min_log), (0, top), comp)
        want = {p.decisions for p in meeting if p.metrics[0] <= top}
        assert want <= {p.decisions for p in capped}
        assert {p.decisions for p in capped} <= {p.decisions for p in full}


def test_every_frontier_point_is_pareto_optimal_among_all_plans():
    rng = random.Random(6)
    for _ in range(200):
        sets = _sets(rng)
        plans = _product(sets)
        level = rng.choice([-1.0, -0.5])
        front = success_frontier(sets, [0], {}, [level])
        assert front
        for p in front:
            c, lg = p.metrics[0], p.log_success
            assert not any(
                (q.metrics[0] < c and q.log_success >= lg)
                or (q.metrics[0] <= c and q.log_success > lg)
                for q in plans
            )
        best = _best(plans, level, {})
        if best is not None:
            assert best in {(p.metrics[0], p.log_success) for p in front}
        costs = [p.metrics[0] for p in front]
        assert costs == sorted(costs)
        assert min(costs) == min(q.metrics[0] for q in plans)

"""CP-SAT (``aalp.optimizer.cpsat``) against the dynamic program (``optimize_pareto.merge``).

Both solve the allocation across blocks over the same per-block Pareto sets. On every sample,
on random small specs (``test_optimize_property.specs``) and on random Pareto sets built
directly (several blocks, bounds on the boundary, near-ties, values over many magnitudes), the
CP-SAT plan must have the DP's feasibility and objective value; on the direct sets it must also
be the brute-force optimum of the product, plan for plan.
"""

from __future__ import annotations

import itertools
import math
import random
from pathlib import Path

import pytest
from aalp.checks.checker import check
from aalp.checks.loader import load
from aalp.optimizer import cpsat as cs
from aalp.optimizer.driver import optimize
from aalp.optimizer.pareto import INDEX, METRIC_KEYS, Point, merge, pareto
from aalp.optimizer.solve import rank as _rank
from hypothesis import HealthCheck, given, settings
from test_optimize_property import specs

SAMPLES = sorted((Path(__file__).resolve().parent.parent / "samples").glob("*.aalp"))


def same_result(a, b) -> None:
    assert a.feasible == b.feasible
    metric = a.objective[1]
    assert (a.plan is None) == (b.plan is None)
    if a.plan is not None:
        assert math.isclose(
            a.plan.value(metric), b.plan.value(metric), rel_tol=1e-9, abs_tol=1e-300
        ), (a.plan.decisions, b.plan.decisions)
        assert a.plan.meets == b.plan.meets


@pytest.mark.parametrize("path", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_samples_agree(path: Path) -> None:
    checked = load(path)
    dp = optimize(checked, frontier=False)
    sat = optimize(checked, frontier=False, solver="cpsat")
    same_result(dp, sat)
    assert [b.name for b in dp.baselines] == [b.name for b in sat.baselines]
    metric = dp.objective[1]
    for x, y in zip(dp.baselines, sat.baselines, strict=True):
        assert math.isclose(x.plan.value(metric), y.plan.value(metric), rel_tol=1e-9)
        assert x.plan.meets == y.plan.meets


@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(specs(n_max=6, kinds=("two_stage",), easy=True))
def test_random_two_block_specs_agree(spec) -> None:
    checked = check(spec)
    dp = optimize(checked, frontier=False, baselines=False)
    same_result(dp, optimize(checked, frontier=False, baselines=False, solver="cpsat"))


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(specs(n_max=60, kinds=("two_stage",), boosters_max=1))
def test_random_two_block_specs_with_hard_targets_agree(spec) -> None:
    # Success targets up to 0.99 over larger granularity ranges: candidate refinement runs, and
    # many specs are infeasible (the most reliable plan is then found by both solvers).
    checked = check(spec)
    dp = optimize(checked, frontier=False, baselines=False)
    same_result(dp, optimize(checked, frontier=False, baselines=False, solver="cpsat"))


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(specs(n_max=6))
def test_random_specs_agree(spec) -> None:
    # Every template (one block mostly): the plumbing, infeasible specs and the full-evaluation
    # check behave the same with either solver.
    checked = check(spec)
    dp = optimize(checked, frontier=False, baselines=False)
    same_result(dp, optimize(checked, frontier=False, baselines=False, solver="cpsat"))


# --- random Pareto sets, solved directly --------------------------------------------------------

OBJECTIVES = [("minimize", m) for m in ("cost", "dollars", "calls", "latency", "tokens")] + [
    ("maximize", "success"),
    ("maximize", "cost"),
]


def _options(rng: random.Random, b: int, n: int, style: str) -> list[Point]:
    out = []
    for i in range(n):
        if style == "wide":  # values over many orders of magnitude
            metrics = tuple(10 ** rng.uniform(-6, 12) for _ in METRIC_KEYS)
            ls = -(10 ** rng.uniform(-14, 3))
        elif style == "ties":  # few distinct values: exact ties across blocks
            metrics = tuple(float(rng.randint(1, 4)) for _ in METRIC_KEYS)
            ls = -rng.choice([0.0, 0.01, 0.02, 0.05])
        elif style == "close":  # values within 1e-12 of each other
            metrics = tuple(1e6 * (1 + rng.randint(0, 5) * 1e-13) for _ in METRIC_KEYS)
            ls = -1e-3 * (1 + rng.randint(0, 5) * 1e-12)
        else:
            metrics = tuple(rng.uniform(0, 100) for _ in METRIC_KEYS)
            ls = math.log(rng.uniform(0.3, 1.0))
        if rng.random() < 0.03:
            ls = -math.inf  # success 0
        out.append(Point(((f"b{b}", i),), metrics, ls, (i,)))
    return out


def _case(seed: int):
    rng = random.Random(seed)
    objective = rng.choice(OBJECTIVES)
    style = rng.choice(["plain", "plain", "wide", "ties", "close"])
    nb = rng.randint(2, 4)
    raw = [_options(rng, b, rng.randint(1, 12 if nb < 4 else 6), style) for b in range(nb)]
    # A bound exactly at some plan's total (the boundary), or loose, or impossible.
    some = cs.total(raw, tuple(rng.randrange(len(s)) for s in raw))
    min_success = rng.choice([0.0, some.success, some.success * 1.5, 1e-30, 0.5])
    upper = {}
    for m in rng.sample(["calls", "latency", "dollars"], rng.randint(0, 2)):
        i = INDEX[m]
        upper[i] = rng.choice([some.metrics[i], some.metrics[i] * 0.7, some.metrics[i] * 2])
    return objective, raw, cs.Bounds(min(min_success, 1.0), upper)


def _dims(objective, bounds: cs.Bounds) -> list[int]:
    dims = [] if objective[1] == "success" else [INDEX[objective[1]]]
    dims += [i for i in bounds.upper if i not in dims]
    return dims or [INDEX["cost"]]


@pytest.mark.parametrize("chunk", range(4))
def test_random_pareto_sets_agree_with_dp_and_brute_force(chunk: int) -> None:
    cases = 0
    for seed in range(chunk * 100, chunk * 100 + 100):
        objective, raw, bounds = _case(seed)
        if objective == ("maximize", "cost"):
            sets = raw  # the DP's Pareto sets minimize every metric: brute force only
        else:
            dims = _dims(objective, bounds)
            sets = [pareto(s, dims) for s in raw]
        got = cs.solve(sets, objective, bounds)
        # brute force over the product of the same sets
        feasible = [
            c
            for c in itertools.product(*(range(len(s)) for s in sets))
            if cs.meets(cs.total(sets, c), bounds)
        ]
        want = min(feasible, key=lambda c: cs.rank(cs.total(sets, c), objective), default=None)
        assert got == want, (seed, objective, bounds)
        if objective != ("maximize", "cost"):
            merged = merge(sets, dims, bounds.upper, bounds.min_success)
            sense, metric = objective
            dp = min(merged, key=lambda p: _rank(p, sense, metric), default=None)
            assert (dp is None) == (got is None), seed
            if dp is not None:
                mine = cs.total(sets, got)
                a, b = dp.metric(metric), mine.metric(metric)
                if metric == "success":
                    a, b = dp.log_success, mine.log_success
                assert a == b or math.isclose(a, b, rel_tol=1e-9), seed
        cases += 1
    assert cases == 100


def test_exclusions_and_empty_inputs() -> None:
    objective, raw, bounds = _case(7)
    bounds = cs.Bounds()
    first = cs.solve(raw, objective, bounds)
    assert first is not None
    second = cs.solve(raw, objective, bounds, [first])
    assert second != first
    assert cs.solve([], ("minimize", "cost"), bounds) == ()
    assert cs.solve([[], raw[0]], ("minimize", "cost"), bounds) is None
    assert cs.solve(raw, objective, cs.Bounds(min_success=1.5)) is None


def test_rank_is_the_optimizers() -> None:
    _objective, raw, _bounds = _case(3)
    pts = [cs.total(raw, (i, 0, *(0 for _ in raw[2:]))) for i in range(len(raw[0]))]
    for sense, metric in OBJECTIVES:
        assert sorted(pts, key=lambda p: cs.rank(p, (sense, metric))) == sorted(
            pts, key=lambda p: _rank(p, sense, metric)
        )


def test_solver_option_is_checked() -> None:
    with pytest.raises(ValueError):
        optimize(load(SAMPLES[0]), solver="milp")

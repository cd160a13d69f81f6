"""The typed plan against independent counts: windows walked one by one, trees folded level by
level, and every sample's plan well formed."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

from aalp.checks.loader import load
from aalp.plan.build import build_plan
from aalp.plan.plan import ROLES, STAGE_KINDS, Expand, Judge, Retry, Vote
from aalp.plan.shape import chunk_count, reduce_levels
from hypothesis import given
from hypothesis import strategies as st

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
SAMPLE_NAMES = sorted(p.stem for p in SAMPLES.glob("*.aalp"))


def _walk_windows(n: int, x: int, rho: Fraction) -> int:
    """Windows of x advancing by x·(1 − ρ) until one reaches the end, counted one by one."""
    if n <= 0:
        return 0
    start, count = Fraction(0), 1
    while start + x < n:
        start += x * (1 - rho)
        count += 1
    return count


@given(
    st.integers(0, 400),
    st.integers(1, 60),
    st.fractions(min_value=0, max_value=Fraction(9, 10), max_denominator=10),
)
def test_windows_equal_a_walk(n: int, x: int, rho: Fraction) -> None:
    expected = _walk_windows(n, x, rho) if rho else math.ceil(n / x)
    assert chunk_count(n, x, rho) == expected


@given(st.integers(1, 3000), st.integers(1, 50), st.integers(2, 9))
def test_reduce_levels_equal_folding_the_outputs(m: int, u: int, fanin: int) -> None:
    n = m * u
    levels, nodes, cover = [], m, u
    while nodes > 1:
        nodes = -(-nodes // fanin)  # fold every fanin outputs into one node
        cover *= fanin
        levels.append((nodes, min(n, cover)))
    assert reduce_levels(m, u, n, fanin) == levels


def test_every_sample_plan_is_well_formed() -> None:
    from aalp.api import resolve

    for name in SAMPLE_NAMES:
        checked = load(SAMPLES / f"{name}.aalp")
        resolved = resolve(checked)
        plan = build_plan(checked, None, resolved.decisions)
        assert plan == resolved.plan
        assert {s.kind for s in plan.stages} <= set(STAGE_KINDS)
        assert {o.role for o in plan.ops} <= set(ROLES)
        assert [o.name for o in plan.ops] == [o.name for o in checked.spec.tasks[0].ops]
        for stage, ev in zip(plan.stages, resolved.evaluation.stages, strict=True):
            assert (stage.chunks, stage.x, stage.fanin) == (ev.chunks, ev.x, ev.fanin)
            assert tuple(stage.levels) == tuple(ev.levels)
        for op in plan.ops:
            assert op.booster is None or isinstance(op.booster, Vote | Retry | Judge | Expand)


def test_a_verified_retry_plans_its_verifier() -> None:
    checked = load(SAMPLES.parent / "bench" / "specs" / "realistic.aalp")
    decisions = {
        "extract.x": 4,
        "extract.model": "small",
        "extract.vote": "none",
        "extract.retries": 3,
        "verify.model": "big",
    }
    plan = build_plan(checked, None, decisions)
    extract, verify = plan.op("extract"), plan.op("verify")
    assert extract.booster == Retry("verify", 3)
    assert (verify.role, verify.model, verify.x) == ("verifier", "big", 4)
    assert plan.stages[0].chunks == 250  # 1000 docs, 4 per call
    unused = build_plan(checked, None, {**decisions, "extract.retries": None})
    assert unused.op("extract").booster is None and unused.op("verify").role == "idle"


def test_a_key_that_is_no_decision_is_refused_by_name() -> None:
    """A mistyped op or field in the decisions is an error naming it, never ignored (the
    op would otherwise be planned by default, silently)."""
    import pytest
    from aalp.plan.plan import DecisionError

    checked = load(SAMPLES / "counting.aalp")
    good = {"count.x": 100, "count.model": "gpt4omini", "count.vote": "none"}
    build_plan(checked, None, good)
    with pytest.raises(DecisionError, match=r"has no op 'cont'.*'count'") as err:
        build_plan(checked, None, {**good, "cont.x": 10})
    assert err.value.key == "cont.x"
    with pytest.raises(DecisionError, match="'xx' is not a decision of an op"):
        build_plan(checked, None, {**good, "count.xx": 10})

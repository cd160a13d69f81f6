"""Property test: on random small specs the optimizer's answer equals brute-force enumeration.

Specs are built as IR (no parser involved) from a few templates covering map, chain (with a
history decision), reduce (with a fan-in decision), several models, every booster kind,
mixtures and budget bounds. For each, ``oracles.exhaustive.search`` (beside the tests)
evaluates every plan of the decision space with the cost model; the optimizer must agree on
feasibility and reach the same objective value.
"""

from __future__ import annotations

import math
from fractions import Fraction

from aalp.checks.checker import check
from aalp.front.ir import (
    Attention,
    BinOp,
    Capability,
    ChainStage,
    CombineStage,
    Data,
    Granularity,
    MapStage,
    Model,
    Name,
    Num,
    Objective,
    Op,
    Outcome,
    Param,
    ReduceStage,
    Requirement,
    RetryBooster,
    RouteStage,
    Spec,
    Task,
    VoteBooster,
)
from aalp.optimizer.driver import optimize
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from oracles.exhaustive import TooLarge, search


def num(v) -> Num:
    return Num(Fraction(v))


def lin(a, b):
    """a + b*x"""
    return BinOp("+", num(a), BinOp("*", num(b), Name("x")))


KINDS = ("map", "chain", "map_reduce", "two_stage", "routed", "verified", "pair")


@st.composite
def specs(
    draw,
    n_max: int = 7,
    boosters_max: int = 2,
    kinds=KINDS,
    easy: bool = False,
    attention: bool = False,
):
    """``attention``: draw each model's attention (linear, quadratic or the spec-wide
    setting) and the spec-wide one."""
    n_models = draw(st.integers(1, 2))
    kind = draw(st.sampled_from(kinds))
    n = draw(st.integers(1, n_max))
    extra = {
        "map_reduce": ["merge"],
        "two_stage": ["fix"],
        "routed": ["route"],
        "verified": ["verify"],
        "pair": ["fix"],
    }.get(kind, [])
    op_names = ["work", *extra]
    models = []
    words = [None, "linear", "quadratic"]
    for i in range(n_models):
        kind_of = draw(st.sampled_from(words)) if attention else None
        own = Attention(kind_of) if kind_of else None
        caps = tuple(Capability(o) for o in op_names)
        if kind == "routed" and i == 1:
            # a specialist: usable for work only behind the router
            caps = (Capability("work", routed=True), Capability("route"))
        models.append(
            Model(
                f"m{i}",
                num(draw(st.integers(1, 4))),
                num(draw(st.sampled_from([400, 2000, 100000]))),
                num(draw(st.sampled_from([Fraction(1, 10), 1, 3]))),
                num(draw(st.sampled_from([Fraction(1, 2), 2, 6]))),
                caps,
                attention=own,
            )
        )
    spec_wide = draw(st.sampled_from(words)) if attention else None

    def success_expr():
        style = draw(st.sampled_from(["pow", "const", "mixture"]))
        if style == "pow":
            qs = [Fraction(99, 100), Fraction(9, 10), Fraction(7, 10)]
            q = draw(st.sampled_from(qs[:2] if easy else qs))
            return (Outcome(num(1), BinOp("^", num(q), Name("x"))),)
        if style == "const":
            p = draw(st.sampled_from([Fraction(45, 100), Fraction(6, 10), Fraction(9, 10)]))
            return (Outcome(num(1), num(p)),)
        w = draw(st.sampled_from([Fraction(7, 10), Fraction(9, 10)]))
        return (Outcome(num(w), num(Fraction(9, 10))), Outcome(num(1 - w), num(Fraction(3, 10))))

    def make_op(name, data):
        gran = Granularity("x", data) if data else None
        reads = lin(draw(st.integers(0, 100)), draw(st.integers(1, 60)))
        writes = lin(draw(st.integers(1, 20)), draw(st.integers(0, 30)))
        success = success_expr()
        if data is None:  # a router or verifier: fixed size, fixed accuracy
            reads, writes = num(draw(st.integers(5, 50))), num(draw(st.integers(1, 5)))
            p = draw(st.sampled_from([Fraction(9, 10), Fraction(99, 100)]))
            success = (Outcome(num(1), num(p)),)
        return Op(name, gran, tuple(m.name for m in models), reads, writes, success)

    data = Data("d", "steps" if kind in ("chain", "pair") else "items", num(n), num(10))
    ops = [make_op("work", "d")]
    if kind == "map_reduce":
        ops.append(make_op("merge", "d"))
    if kind in ("two_stage", "pair"):
        ops.append(make_op("fix", "d"))
    if kind in ("routed", "verified"):
        ops.append(make_op(extra[0], None))
    stages: list = []
    if kind in ("chain", "pair"):
        names = ("work", "fix") if kind == "pair" else ("work",)
        history = draw(st.sampled_from(["stateless", "full", "choose"]))
        stages.append(ChainStage(names, "d", history))
    else:
        overlap = num(Fraction(1, 2)) if draw(st.integers(0, 5)) == 0 else None
        stages.append(MapStage(("work",), "d", overlap))
    if kind == "routed":
        stages.append(RouteStage("work", "route"))
    if kind == "map_reduce":
        fan = draw(st.sampled_from([None, 2, 3]))
        stages.append(ReduceStage("merge", None if fan is None else num(fan)))
    if kind == "two_stage":
        stages.append(CombineStage("concat"))
        stages.append(MapStage(("fix",), "d"))
    boosters = []
    if kind == "verified":
        boosters.append(RetryBooster("verify", num(draw(st.integers(1, 3))), ("work",)))
    for b in draw(
        st.lists(
            st.sampled_from(["ahead", "majority", "retry"]), max_size=boosters_max, unique=True
        )
    ):
        if b == "ahead":
            boosters.append(VoteBooster("ahead_by", num(draw(st.integers(1, 3)))))
        elif b == "majority":
            boosters.append(VoteBooster("majority", num(draw(st.sampled_from([3, 5])))))
        else:
            boosters.append(RetryBooster("exact", num(draw(st.integers(1, 3)))))
    reqs = [
        Requirement(
            "success",
            ">=",
            num(
                draw(
                    st.sampled_from(
                        [Fraction(1, 10), Fraction(3, 10), Fraction(1, 2)]
                        if easy
                        else [Fraction(1, 2), Fraction(8, 10), Fraction(95, 100), Fraction(99, 100)]
                    )
                )
            ),
        )
    ]
    if draw(st.booleans()):
        reqs.append(Requirement("calls", "<=", num(draw(st.integers(2, 40)))))
    metric = draw(st.sampled_from(["cost", "dollars", "calls", "latency", "tokens", "success"]))
    sense = "maximize" if metric == "success" else "minimize"
    workers = num(draw(st.integers(1, 3))) if draw(st.integers(0, 4)) == 0 else None
    task = Task(
        "t",
        (data,),
        tuple(ops),
        tuple(stages),
        tuple(boosters),
        tuple(reqs),
        Objective(sense, metric),
        workers=workers,
    )
    wide = Attention(spec_wide) if spec_wide else None
    return Spec((Param("n", num(n)),), tuple(models), (task,), attention=wide)


def assert_same_optimum(checked, brute) -> None:
    """The optimizer's plan is feasible exactly when the exhaustive search found one, and
    then as good (the objective's value to 1e-9)."""
    result = optimize(checked, frontier=False, baselines=False)
    assert result.feasible == brute.feasible
    if brute.feasible:
        got = result.plan.value(result.objective[1])
        assert math.isclose(got, brute.value, rel_tol=1e-9, abs_tol=1e-12), (
            result.plan.decisions,
            brute.decisions,
        )


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(specs())
def test_optimizer_matches_exhaustive(spec):
    checked = check(spec)
    brute = search(checked)
    assert_same_optimum(checked, brute)


@settings(
    max_examples=35,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
@given(specs(n_max=400, boosters_max=1))
def test_optimizer_matches_exhaustive_on_wide_ranges(spec):
    # Granularities up to 400: beyond the dense start of the candidate set, so chunk-count
    # snapping, the geometric ladder and the refinement are what find the optimum.
    checked = check(spec)
    try:
        brute = search(checked, limit=20_000)
    except TooLarge:
        assume(False)  # a fan-in and a granularity both in the hundreds: too many to enumerate
    assert_same_optimum(checked, brute)


@settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(specs(n_max=6, kinds=("two_stage",), easy=True))
def test_two_blocks_allocate_reliability_like_brute_force(spec):
    # Two independent stages: the merge of the blocks' Pareto sets must find the best split of
    # the success target between them.
    checked = check(spec)
    brute = search(checked)
    assert_same_optimum(checked, brute)


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(specs(attention=True))
def test_optimizer_matches_exhaustive_with_quadratic_attention(spec):
    # Models with quadratic attention (their own or the spec's): the bounds that prune must
    # stay true with the prefill's R·(R − 1)/2, conversations included (chains with history).
    checked = check(spec)
    brute = search(checked)
    assert_same_optimum(checked, brute)


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
@given(specs(n_max=400, boosters_max=1, attention=True))
def test_optimizer_matches_exhaustive_with_quadratic_attention_on_wide_ranges(spec):
    checked = check(spec)
    try:
        brute = search(checked, limit=20_000)
    except TooLarge:
        assume(False)
    assert_same_optimum(checked, brute)

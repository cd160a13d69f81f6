"""evaluate() on small hand-built plans against hand computations and brute-force loops."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from aalp.model import reliability as rel
from aalp.model.cost import DecisionError, build_context, evaluate
from test_cost_fixtures import debugging, hanoi, routing, sorting, verified

AHEAD3 = {"move.x": 1, "move.vote": "ahead_by", "move.votes": 3}


def call(m, R, W, pin=0.4, pout=1.6):
    """(calls, passes, cost, tokens, dollars) of one call, written out by hand."""
    return 1, W, m * sum(R + j for j in range(W)), R + W, (pin * R + pout * W) / 1e6


def test_one_call_per_step_without_booster():
    e = evaluate(hanoi(4), None, {"move.x": 1, "move.vote": "none"})
    calls, passes, cost, tokens, dollars = call(1, 600, 538)
    assert e.feasible and e.stages[0].chunks == 15
    assert e.metrics.calls == 15 * calls
    assert e.metrics.forward_passes == 15 * passes
    assert e.metrics.cost == pytest.approx(15 * cost)
    assert e.metrics.tokens == 15 * tokens
    assert e.metrics.dollars == pytest.approx(15 * dollars)
    assert e.metrics.latency == 15 * 538 and e.metrics.latency_calls == 15
    assert e.success == pytest.approx(0.9978**15)


def test_voted_chain_matches_makers_expected_votes():
    p = 0.9978
    e = evaluate(hanoi(10, keep="0.9"), None, AHEAD3)
    psub = 1 / (1 + ((1 - p) / p) ** 3)
    samples = (2 * 3 * psub - 3) / (2 * p - 1) / 0.9  # MAKER, with red flags keeping 90%
    assert e.metrics.calls == pytest.approx(1023 * samples, rel=1e-12)
    assert e.metrics.cost == pytest.approx(1023 * samples * call(1, 600, 538)[2], rel=1e-12)
    assert e.success == pytest.approx(psub**1023, rel=1e-12)
    row = e.ops[0]
    assert (row.op, row.booster, row.votes, row.decisions, row.x) == (
        "move",
        "ahead_by",
        3,
        1023,
        1,
    )
    assert row.cost_share == pytest.approx(1.0)


def test_whole_task_in_one_call_overflows_no_context_here_but_fails_the_target():
    e = evaluate(hanoi(10), None, {"move.x": 1023, "move.vote": "none"})
    assert e.feasible and e.stages[0].chunks == 1
    assert e.success == pytest.approx(0.9978**1023)
    assert not e.meets and not e.requirements[0].ok


def test_history_full_against_a_step_by_step_conversation():
    b, k, size = 4, 5, 40
    e = evaluate(debugging(b, k, size, "full"), None, {})
    n = k * size
    qa, fix = (n, 5), (n, n)
    cost = tokens = dollars = 0.0
    conversation = 0
    for _ in range(b):
        for R, W in (qa, fix):
            reads = R + conversation
            cost += sum(reads + j for j in range(W))
            tokens += reads + W
            dollars += (0.4 * reads + 1.6 * W) / 1e6
            conversation += R + W  # the call's own input and output join the history
    assert e.metrics.cost == pytest.approx(cost, rel=1e-12)
    assert e.metrics.tokens == pytest.approx(tokens, rel=1e-12)
    assert e.metrics.dollars == pytest.approx(dollars, rel=1e-12)
    assert e.metrics.calls == 2 * b
    stateless = evaluate(debugging(b, k, size, "stateless"), None, {})
    assert stateless.metrics.cost < e.metrics.cost


def test_history_full_grows_quadratically_in_the_steps():
    bs = (10, 20, 30, 40)
    costs = [evaluate(debugging(b, 5, 40, "full"), None, {}).metrics.cost for b in bs]
    # a quadratic in b: constant second differences, and a positive leading coefficient
    d2 = [costs[i + 2] - 2 * costs[i + 1] + costs[i] for i in range(2)]
    assert d2[0] == pytest.approx(d2[1], rel=1e-12) and d2[0] > 0


def test_history_full_context_overflow_reports_numbers():
    c = debugging(50, 10, 1000, "full", context=10**6)
    e = evaluate(c, None, {})
    assert not e.feasible
    assert any("more than its context" in p and "tokens" in p for p in e.problems)


def brute_force_tree(leaves: list[int], fanin: int, n: int) -> list[tuple[int, int]]:
    """Merge a list of chunk sizes in groups of ``fanin`` until one is left: (nodes, x) per
    level, x being the units under a full node (capped at n)."""
    levels, width, cover = [], leaves, max(leaves)
    while len(width) > 1:
        width = [sum(width[i : i + fanin]) for i in range(0, len(width), fanin)]
        cover *= fanin
        levels.append((len(width), min(n, cover)))
    return levels


@pytest.mark.parametrize(("n", "x", "f"), [(100, 7, 4), (100, 10, 2), (1000, 3, 5), (64, 8, 8)])
def test_reduce_levels_against_brute_force(n, x, f):
    c = sorting(n, f)
    d = {"sort.x": x, "sort.vote": "none", "merge.vote": "none"}
    e = evaluate(c, None, d)
    chunks = [x] * (n // x) + ([n % x] if n % x else [])
    expect = brute_force_tree(chunks, f, n)
    assert e.stages[1].levels == tuple(expect)
    # cost by hand: every node of level ℓ reads 20 + 8·x_ℓ and writes 4·x_ℓ on a model of size 2
    cost = sum(nodes * call(2, 20 + 8 * xl, 4 * xl)[2] for nodes, xl in expect)
    assert e.stages[1].metrics.cost == pytest.approx(cost)
    succ = math.prod(0.9995**xl**1 for nodes, xl in expect for _ in range(nodes))
    assert e.stages[1].success == pytest.approx(succ)
    # latency: levels one after another, nodes of a level in parallel
    assert e.stages[1].metrics.latency == pytest.approx(sum(4 * xl for _, xl in expect))


def test_fanin_decision_and_retry_on_the_merge():
    c = sorting(100, None)
    d = {"sort.x": 10, "sort.vote": "none", "merge.fanin": 10, "merge.retries": 3}
    e = evaluate(c, None, d)
    assert e.stages[1].levels == ((1, 100),)
    a = 0.9995**100
    assert e.stages[1].success == pytest.approx(1 - (1 - a) ** 3)
    tries = (1 - (1 - a) ** 3) / a
    assert e.stages[1].metrics.calls == pytest.approx(tries)
    with pytest.raises(DecisionError, match=r"merge\.fanin"):
        evaluate(c, None, {"sort.x": 10, "sort.vote": "none", "merge.vote": "none"})


@pytest.mark.parametrize(
    ("n", "x", "rho"), [(100, 10, "0.5"), (100, 30, "0.25"), (7, 10, "0.5"), (101, 4, "0.75")]
)
def test_overlapping_windows_against_enumeration(n, x, rho):
    c = sorting(n, 2, rho)
    e = evaluate(c, None, {"sort.x": x, "sort.vote": "none", "merge.vote": "none"})
    stride = x * (1 - Fraction(rho))
    start, windows = Fraction(0), 1
    while start + x < n:
        start += stride
        windows += 1
    assert e.stages[0].chunks == windows


def test_workers_bound_the_parallel_latency():
    c = sorting(100, 100, None, workers=3)
    e = evaluate(c, None, {"sort.x": 10, "sort.vote": "none", "merge.vote": "none"})
    one = 4 * 10  # one chunk writes 40 tokens
    # 10 equal chunks on 3 workers: the list schedule runs ceil(10/3) = 4 rounds, not 10/3
    assert e.stages[0].metrics.latency == pytest.approx(4 * one)
    unbounded = evaluate(
        sorting(100, 100), None, {"sort.x": 10, "sort.vote": "none", "merge.vote": "none"}
    )
    assert unbounded.stages[0].metrics.latency == one


def test_route_runs_the_classifier_only_for_a_routed_model():
    c = routing(k=8, n=2000)
    small = {"solve.model": "small", "solve.vote": "none", "classify.vote": "none"}
    big = {"solve.model": "big", "solve.vote": "none"}
    es, eb = evaluate(c, None, small), evaluate(c, None, big)
    cls_cost = call(0.25, 30, 2)[2]
    assert es.metrics.cost == pytest.approx(10 * (cls_cost + call(1, 2000, 20)[2]))
    assert eb.metrics.cost == pytest.approx(10 * call(8, 2000, 20)[2])
    assert es.success == pytest.approx((0.99 * 0.97) ** 10)
    assert eb.success == pytest.approx(0.95**10)
    assert es.metrics.latency == 2 + 20  # classifier, then the specialist
    assert {r.role for r in es.ops} == {"op", "classifier"}
    # the routing saving is Θ(k): the ratio grows linearly with the generalist's size
    ratios = []
    for k in (4, 8, 16):
        cc = routing(k=k, n=2000)
        ratios.append(evaluate(cc, None, big).metrics.cost / evaluate(cc, None, small).metrics.cost)
    assert ratios[1] / ratios[0] == pytest.approx(2, rel=0.02)
    assert ratios[2] / ratios[1] == pytest.approx(2, rel=0.02)


def test_retry_with_an_llm_verifier_hand_value():
    e = evaluate(verified(), None, {"gen.retries": 3})
    a, cc = 0.6, 0.9
    q = 1 - a * cc - (1 - a) * (1 - cc)
    tries = (1 - q**3) / (1 - q)
    assert e.success == pytest.approx((a * cc * tries) ** 20)
    per_item = tries * (call(1, 100, 50)[2] + call(1, 150, 3)[2])
    assert e.metrics.cost == pytest.approx(20 * per_item)
    assert e.metrics.calls == pytest.approx(20 * 2 * tries)
    assert e.metrics.latency == pytest.approx(tries * (50 + 3))
    assert [r.role for r in e.ops] == ["op", "verifier"]


def test_mixture_with_unbounded_exact_retries():
    e = evaluate(verified("exact", [("0.5", "0.9"), ("0.5", "0.2")]), None, {"gen.retries": "inf"})
    assert e.success == 1.0
    assert e.metrics.calls == pytest.approx(20 * (0.5 / 0.9 + 0.5 / 0.2))


def test_astronomical_sizes_are_exact_where_it_matters():
    c = hanoi(64)
    k = rel.k_min(0.9978, 2**64 - 1, 1, 0.95)
    e = evaluate(c, None, {"move.x": 3, "move.vote": "ahead_by", "move.votes": k + 3})
    assert e.stages[0].chunks == (2**64 - 1) // 3  # 2^64 − 1 is divisible by 3
    e1 = evaluate(c, None, {"move.x": 1, "move.vote": "ahead_by", "move.votes": k})
    assert e1.stages[0].chunks == 2**64 - 1
    assert e1.meets and e1.success >= 0.95
    e0 = evaluate(c, None, {"move.x": 1, "move.vote": "ahead_by", "move.votes": k - 1})
    assert e0.feasible and not e0.meets
    assert math.isfinite(e1.metrics.cost) and e1.metrics.cost > 2**64


def test_trillion_items_chunk_count():
    c = sorting(10**12, 1000)
    e = evaluate(c, None, {"sort.x": 999, "sort.vote": "none", "merge.vote": "none"})
    assert e.stages[0].chunks == -(-(10**12) // 999)
    assert e.stages[1].levels[0] == (-(-e.stages[0].chunks // 1000), 999_000)


def test_missing_decisions_are_named():
    c = hanoi(4)
    with pytest.raises(DecisionError, match=r"'move\.votes'"):
        evaluate(c, None, {"move.x": 1, "move.vote": "ahead_by"})
    with pytest.raises(DecisionError, match=r"'move\.x'"):
        evaluate(c, None, {"move.vote": "none"})
    with pytest.raises(DecisionError, match=r"'move\.vote'"):
        evaluate(c, None, {"move.x": 1})


def test_problems_make_a_plan_infeasible_with_reasons():
    c = hanoi(4, p="0.45")
    e = evaluate(c, None, AHEAD3)
    assert not e.feasible and "success > rival" in e.problems[0] and e.success == 0
    e = evaluate(hanoi(4), None, {"move.x": 99, "move.vote": "none"})
    assert not e.feasible and "outside 1..15" in e.problems[0]
    e = evaluate(
        sorting(100, 2),
        None,
        {"sort.x": 5, "sort.vote": "majority", "sort.votes": 11, "merge.vote": "none"},
    )
    assert any("above the allowed max 9" in p for p in e.problems)
    e = evaluate(
        sorting(100, 2),
        None,
        {"sort.x": 5, "sort.vote": "majority", "sort.votes": 4, "merge.vote": "none"},
    )
    assert any("odd" in p for p in e.problems)
    e = evaluate(routing(), None, {"solve.model": "tiny", "solve.vote": "none"})
    assert any("may run only on" in p for p in e.problems)


def test_context_overflow_names_the_numbers():
    c = hanoi(12)
    e = evaluate(c, None, {"move.x": 4000, "move.vote": "none"})
    assert not e.feasible
    assert "600 + 2.152e+06 = 2.1526e+06 tokens, more than its context of 1e+06" in e.problems[0]


def test_requirement_on_the_boundary_is_not_flipped_by_rounding():
    # success = 0.9978^15 exactly as the bound: met
    c = hanoi(4, require="0.9978^15")
    e = evaluate(c, None, {"move.x": 1, "move.vote": "none"})
    assert e.requirements[0].ok
    c = hanoi(4, require="0.9978^15 + 10^-15")
    assert not evaluate(c, None, {"move.x": 1, "move.vote": "none"}).requirements[0].ok


def test_context_is_reusable_and_gives_identical_results():
    c = hanoi(10)
    ctx = build_context(c, "hanoi")
    assert evaluate(ctx, None, AHEAD3) == evaluate(c, "hanoi", AHEAD3)

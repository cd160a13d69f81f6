"""The reliability formulas against hand-derived values, exact rational arithmetic and
independent Monte Carlo (plain Python, one sample at a time, fixed seeds, 5σ tolerances)."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest
from aalp.model import reliability as rel


def exact_majority(a: Fraction, K: int) -> Fraction:
    """P[Bin(K, a) ≥ (K+1)/2] in exact rational arithmetic."""
    return sum(
        (math.comb(K, i) * a**i * (1 - a) ** (K - i) for i in range((K + 1) // 2, K + 1)),
        Fraction(0),
    )


def within(estimate: float, truth: float, stderr: float, sigmas: float = 5.0) -> bool:
    return abs(estimate - truth) <= sigmas * stderr + 1e-12


# ---------------------------------------------------------------------------------------------
# hand-derived values
# ---------------------------------------------------------------------------------------------


def test_p_sub_hand_values():
    assert rel.p_sub(0.9, 0.1, 2) == pytest.approx(81 / 82, rel=1e-15)
    assert rel.p_sub(0.75, 0.25, 1) == pytest.approx(0.75, rel=1e-15)


def test_votes_reduce_to_makers_formula_when_rival_takes_the_rest():
    for p in (0.6, 0.9, 0.998):
        for k in (1, 2, 3, 7):
            ps = rel.p_sub(p, 1 - p, k)
            maker = (2 * k * ps - k) / (2 * p - 1)
            assert rel.ahead_by_votes(p, 1 - p, k) == pytest.approx(maker, rel=1e-12)


def test_k_min_matches_maker_for_a_million_steps():
    # MAKER: s = 2^20 − 1 steps, p = 0.998, t = 0.95, one step per call: k_min = 3
    s, p, t = 2**20 - 1, Fraction(998, 1000), 0.95
    assert rel.k_min(0.998, s, 1, t) == 3
    # independently: p_full(k) = (1 + r^k)^(−s) with exact r; k = 2 misses the target, 3 meets it
    r = (1 - p) / p
    log_full = [-s * math.log1p(float(r**k)) for k in (2, 3)]
    assert log_full[0] < math.log(t) <= log_full[1]


def test_k_min_grows_like_log_s():
    ks = [rel.k_min(0.998, 2.0**e, 1, 0.95) for e in (8, 16, 32, 64)]
    assert ks == sorted(ks) and ks[-1] > ks[0]
    # Θ(ln s): k_min ≈ ln(s / −ln t) / ln(p/(1−p)); within one of that for every size
    for e, k in zip((8, 16, 32, 64), ks, strict=True):
        approx = math.log(2.0**e / -math.log(0.95)) / math.log(0.998 / 0.002)
        assert abs(k - approx) <= 1


def test_k_min_is_the_smallest_k_meeting_the_target():
    for p in (0.6, 0.9, 0.99, 0.9999):
        for s in (1, 10, 1000, 2**40):
            for t in (0.5, 0.95, 0.999999):
                k = rel.k_min(p, s, 1, t)
                assert rel.p_full(p, s, 1, k) >= t
                if k > 1:
                    assert rel.p_full(p, s, 1, k - 1) < t


def test_cost_full_hand_value():
    k = rel.k_min(0.998, 2**20 - 1, 1, 0.95)
    assert rel.cost_full(0.998, 2**20 - 1, 1, 0.95, v=0.9, c=2) == pytest.approx(
        2 * (2**20 - 1) * k / (0.9 * 0.996)
    )


def test_infeasible_options_are_signalled_not_raised():
    assert rel.p_sub(0.4, 0.6, 3) is None
    assert rel.ahead_by(0.5, 0.5, 3) is None
    assert rel.k_min(0.5, 100, 1, 0.9) is None
    assert rel.retry_exact(0.0, "inf") is None
    assert rel.retry_verifier(0.0, 1.0, "inf") is None
    assert rel.cost_full(0.3, 10, 1, 0.9) is None


# ---------------------------------------------------------------------------------------------
# exact arithmetic and numerical care
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("K", [1, 3, 5, 11, 31])
@pytest.mark.parametrize("a", ["1/10", "1/2", "3/5", "9/10"])
def test_majority_matches_exact_binomial_sum(K, a):
    exact = exact_majority(Fraction(a), K)
    assert rel.majority_success(float(Fraction(a)), K) == pytest.approx(float(exact), rel=1e-12)
    assert rel.majority_failure(float(Fraction(a)), K) == pytest.approx(float(1 - exact), rel=1e-12)


@pytest.mark.parametrize(("a", "K"), [("999/1000", 301), ("1/1000", 301), ("51/100", 401)])
def test_majority_tails_are_accurate_for_large_K_and_extreme_p(a, K):
    exact = exact_majority(Fraction(a), K)
    assert rel.majority_success(float(Fraction(a)), K) == pytest.approx(float(exact), rel=1e-10)
    assert rel.majority_failure(float(Fraction(a)), K) == pytest.approx(float(1 - exact), rel=1e-10)


def test_majority_with_a_mixture_rises_then_falls():
    # Chen et al.: 70% easy inputs (p = 0.8), 30% hard ones (p = 0.35)
    w, ps = (0.7, 0.3), (0.8, 0.35)
    exact = [
        float(
            Fraction(7, 10) * exact_majority(Fraction(4, 5), K)
            + Fraction(3, 10) * exact_majority(Fraction(7, 20), K)
        )
        for K in range(1, 80, 2)
    ]
    mine = [rel.majority_mixture(w, ps, K) for K in range(1, 80, 2)]
    assert mine == pytest.approx(exact, rel=1e-12)
    best = max(range(len(mine)), key=mine.__getitem__)
    assert 0 < best < len(mine) - 1  # rises first, then falls: the best K is finite
    assert mine[-1] < mine[best] and mine[0] < mine[best]


def test_tiny_probabilities_do_not_round_away():
    assert rel.retry_exact(1e-12, 10).success == pytest.approx(1e-11, rel=1e-6)
    assert rel.retry_exact(0.5, 60).failure == pytest.approx(0.5**60, rel=1e-12)
    fail = rel.ahead_by_failure(0.999999, 0.000001, 20)
    assert 0 < fail < 1e-100
    b = rel.ahead_by(0.999999, 0.000001, 20)
    assert b.log_success == pytest.approx(-fail, rel=1e-9)
    # a million-step chain: ln success as a sum, never 1 − tiny rounded to 1
    assert rel.chain_log_success(b.log_success, 2**64) < 0


# ---------------------------------------------------------------------------------------------
# Monte Carlo, one sample at a time
# ---------------------------------------------------------------------------------------------


def sample(rng: random.Random, a: float, b: float, v: float) -> int:
    """One sample: +1 right, −1 the rival, 0 another answer or red-flagged."""
    if rng.random() >= v:
        return 0
    u = rng.random()
    return 1 if u < a else (-1 if u < a + b else 0)


def mean_and_stderr(values: list[float]) -> tuple[float, float]:
    n = len(values)
    mean = math.fsum(values) / n
    var = math.fsum((x - mean) ** 2 for x in values) / (n - 1)
    return mean, math.sqrt(var / n)


def mc_ahead_by(a, b, v, k, n, seed):
    """Sequential voting, one sample at a time; rounds counted as the batched program draws
    them (k − |lead| samples per round). Per decision: (won, samples, rounds)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        lead = samples = rounds = 0
        while abs(lead) < k:
            rounds += 1
            for _ in range(k - abs(lead)):
                samples += 1
                lead += sample(rng, a, b, v)
        out.append((lead == k, samples, rounds))
    return out


@pytest.mark.parametrize(
    ("a", "b", "v", "k"), [(0.7, 0.2, 0.8, 2), (0.6, 0.4, 1.0, 3), (0.55, 0.3, 0.9, 4)]
)
def test_ahead_by_against_monte_carlo(a, b, v, k):
    n = 6000
    runs = mc_ahead_by(a, b, v, k, n, seed=11)
    res = rel.ahead_by(a, b, k, v)
    win = sum(r[0] for r in runs) / n
    assert within(win, res.success, math.sqrt(res.success * res.failure / n))
    for column, expect in ((1, res.samples), (2, res.rounds)):
        mean, stderr = mean_and_stderr([r[column] for r in runs])
        assert within(mean, expect, stderr)


def test_ahead_by_rounds_single_step_and_no_red_flags():
    # k = 1 with v = 1: every round settles the vote
    assert rel.ahead_by_rounds(0.8, 0.2, 1, 1.0) == pytest.approx(1.0)
    # k = 2, a + b = 1, v = 1: one round of 2; a split (prob 2ab) needs another round of 2, ...
    a, b = 0.7, 0.3
    split = 2 * a * b
    assert rel.ahead_by_rounds(a, b, 2, 1.0) == pytest.approx(1 / (1 - split))


def test_majority_rounds_against_monte_carlo():
    rng = random.Random(5)
    K, v, n = 5, 0.6, 20000
    counts = []
    for _ in range(n):
        need, rounds = K, 0
        while need:
            rounds += 1
            need -= sum(rng.random() < v for _ in range(need))
        counts.append(rounds)
    assert within(
        *mean_and_stderr(counts)[:1], rel.majority_rounds(K, v), mean_and_stderr(counts)[1]
    )


@pytest.mark.parametrize("r", [1, 3, "inf"])
def test_retry_exact_against_monte_carlo(r):
    rng = random.Random(7)
    a, v, n = 0.3, 0.7, 20000
    ok = 0
    tries, samples = [], []
    for _ in range(n):
        t = drawn = 0
        while r == "inf" or t < r:
            t += 1
            while rng.random() >= v:
                drawn += 1
            drawn += 1
            if rng.random() < a:
                ok += 1
                break
        tries.append(t)
        samples.append(drawn)
    res = rel.retry_exact(a, r, v)
    assert within(ok / n, res.success, math.sqrt(max(res.success * res.failure, 1e-9) / n))
    assert within(*mean_and_stderr(tries)[:1], res.tries, mean_and_stderr(tries)[1])
    assert within(*mean_and_stderr(samples)[:1], res.samples, mean_and_stderr(samples)[1])


@pytest.mark.parametrize("r", [1, 4, "inf"])
def test_retry_verifier_against_monte_carlo(r):
    rng = random.Random(9)
    a, c, n = 0.4, 0.85, 20000
    ok = 0
    tries = []
    for _ in range(n):
        t = 0
        while r == "inf" or t < r:
            t += 1
            right = rng.random() < a
            says_right = rng.random() < c
            if (
                right == says_right
            ):  # the verifier accepts: right and judged so, or wrong and misjudged
                ok += right
                break
        tries.append(t)
    res = rel.retry_verifier(a, c, r)
    assert res.success + res.failure == pytest.approx(1.0)
    assert within(ok / n, res.success, math.sqrt(res.success * res.failure / n))
    mean, stderr = mean_and_stderr(tries)
    assert within(mean, res.tries, stderr) if r != 1 else mean == res.tries == 1


def test_mixture_of_majorities_against_monte_carlo():
    rng = random.Random(3)
    w, ps, K, n = (0.7, 0.3), (0.8, 0.35), 7, 30000
    ok = 0
    for _ in range(n):
        p = ps[0] if rng.random() < w[0] else ps[1]
        ok += sum(rng.random() < p for _ in range(K)) * 2 > K
    expect = rel.majority_mixture(w, ps, K)
    assert within(ok / n, expect, math.sqrt(expect * (1 - expect) / n))
    parts = [rel.majority(p, K) for p in ps]
    assert rel.mixture(w, parts).success == pytest.approx(expect)

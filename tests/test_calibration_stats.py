"""The calibration's estimators and intervals against hand-derived values, exact sums and
Monte Carlo runs (docs/calibration.md §2)."""

from __future__ import annotations

import math
import random

import pytest
from aalp.calibration import fit, stats


@pytest.mark.parametrize("n", [1, 7, 30, 300, 3000])
def test_zero_failures_give_the_rule_of_three(n: int) -> None:
    low = stats.lower_bound(n, n, 0.95)
    assert low == pytest.approx(0.05 ** (1 / n), rel=1e-12)
    if n >= 300:  # the rule of three: about 3/n of error at 95%
        assert 1 - low == pytest.approx(3 / n, rel=0.01)
    assert stats.upper_bound(0, n, 0.95) == pytest.approx(1 - 0.05 ** (1 / n), rel=1e-9)


def test_300_clean_samples_certify_one_percent() -> None:
    assert stats.lower_bound(300, 300, 0.95) > 0.99 > stats.lower_bound(298, 298, 0.95)
    assert stats.samples_to_certify(0.99, 0.0, 0.95) == 299  # ln 0.05 / ln 0.99 = 298.07


@pytest.mark.parametrize(("n", "k"), [(10, 3), (20, 19), (50, 25), (200, 180), (400, 398)])
def test_the_continued_fraction_agrees_with_the_exact_binomial_sum(n: int, k: int) -> None:
    for p in (0.01, 0.3, 0.5, 0.9, 0.99, 0.999):
        assert stats.tail(n, k, p) == pytest.approx(stats.binomial_tail(n, k, p), abs=1e-12)


@pytest.mark.parametrize(("n", "k"), [(10, 3), (50, 49), (200, 180), (1000, 997)])
def test_clopper_pearson_bounds_solve_their_tail_equations(n: int, k: int) -> None:
    low, high = stats.lower_bound(k, n, 0.95), stats.upper_bound(k, n, 0.95)
    assert stats.binomial_tail(n, k, low) == pytest.approx(0.05, rel=1e-6)
    # P[X <= k] at the upper bound is 5%
    assert 1 - stats.binomial_tail(n, k + 1, high) == pytest.approx(0.05, rel=1e-6)


def test_samples_to_certify_is_the_least_that_does() -> None:
    for rate in (0.0, 0.001, 0.004):
        need = stats.samples_to_certify(0.99, rate, 0.95)
        assert need is not None

        def bound(n: int, rate: float = rate) -> float:
            return stats.lower_bound(n - round(n * rate), n, 0.95)

        assert bound(need) >= 0.99 > bound(need - 1)
    assert stats.samples_to_certify(0.99, 0.01, 0.95) is None  # the rate itself misses


def test_one_sided_bounds_cover_at_their_level_by_monte_carlo() -> None:
    rng = random.Random(7)
    p, n, misses = 0.93, 80, 0
    for _ in range(2000):
        k = sum(rng.random() < p for _ in range(n))
        misses += stats.lower_bound(k, n, 0.9) > p
    assert misses / 2000 <= 0.1 + 3 * math.sqrt(0.09 / 2000)


def _pairs(rng: random.Random, units: int, a: float, b: float, stuck: float) -> stats.Coincidence:
    """Two samples per unit: right w.p. a, the unit's rival w.p. b, another wrong answer
    otherwise; a ``stuck`` share of units give their rival every time."""
    agree, wrong = 0, 0
    for _ in range(units):
        if rng.random() < stuck:
            draws = ["rival", "rival"]
        else:
            draws = []
            for _ in range(2):
                r = rng.random()
                draws.append("right" if r < a else "rival" if r < a + b else rng.random())
        wrong += sum(d != "right" for d in draws)
        agree += draws[0] == draws[1] != "right"
    return stats.Coincidence(units, agree, wrong / (2 * units))


def test_the_rival_rate_from_pairs_by_monte_carlo() -> None:
    got = _pairs(random.Random(1), 20000, 0.6, 0.3, 0.0)
    assert stats.rival_rate(got) == pytest.approx(0.3, abs=0.01)
    assert got.p_value() > 0.01


def test_stuck_units_are_detected_and_their_share_estimated() -> None:
    got = _pairs(random.Random(2), 4000, 0.97, 0.03, 0.05)
    assert got.p_value() < 1e-6
    assert got.stuck() == pytest.approx(0.05, abs=0.012)
    clean = _pairs(random.Random(3), 4000, 0.95, 0.05, 0.0)
    assert clean.p_value() > 0.01 and clean.stuck() < 0.01


def test_the_weibull_fit_recovers_its_parameters() -> None:
    rng = random.Random(5)
    c, b = (1 / 4000) ** 2, 2.0
    points = []
    for x in (500, 1500, 3000):
        s = math.exp(-c * x**b)
        kept = 4000
        points.append((x, sum(rng.random() < s for _ in range(kept)), kept))
    got = fit.weibull_mle(points)
    assert got["b"] == pytest.approx(2.0, abs=0.15)
    assert fit.evaluate(got, 2000) == pytest.approx(math.exp(-c * 2000**2), abs=0.01)
    through = fit.through([(1, 0.99), (2, 0.99**2)])
    assert through["b"] == pytest.approx(1.0) and through["c"] == pytest.approx(-math.log(0.99))


def test_normal_quantiles() -> None:
    from aalp.calibration.estimates import z_of

    assert z_of(0.95) == pytest.approx(1.6448536, abs=1e-6)
    assert z_of(0.975) == pytest.approx(1.9599640, abs=1e-6)
    assert z_of(0.5) == pytest.approx(0.0, abs=1e-9)


def test_the_token_upper_bound_covers_the_mean_by_monte_carlo() -> None:
    from aalp.calibration.estimates import _token_lines
    from aalp.calibration.schema import Point

    rng = random.Random(11)
    misses = 0
    for _ in range(400):
        draws = [rng.gauss(500.0, 40.0) for _ in range(60)]
        point = Point(
            1,
            samples=60,
            completion_tokens=sum(draws),
            completion_tokens_sq=sum(d * d for d in draws),
        )
        _, high = _token_lines([point], "completion_tokens", 1.6448536)
        misses += fit.evaluate(high, 1) < 500.0
    assert misses / 400 <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 400)


def test_the_success_a_plan_needs_inverts_the_booster() -> None:
    from aalp.calibrate.robust import needed_success
    from aalp.plan.plan import Vote

    t, c = 0.95, 1023
    q = t ** (1 / c)
    assert needed_success(t, c, 1.0, None) == pytest.approx(q, abs=1e-12)
    for k in (1, 2, 3, 5):
        # 1/(1 + ((1 − a)/a)^k) = q, so a = 1/(1 + (1/q − 1)^(1/k))
        expected = 1 / (1 + (1 / q - 1) ** (1 / k))
        assert needed_success(t, c, 1.0, Vote("ahead_by", k)) == pytest.approx(expected, rel=1e-9)

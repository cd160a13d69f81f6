"""``attention quadratic`` (docs/model.md §1): the syntax, its checks, and the prefill's
m·R·(R − 1)/2 in every place that computes one call's cost, each held against a computation
written out here call by call."""

from __future__ import annotations

import random

import pytest
from aalp.checks.loader import load_text
from aalp.diagnostics import SpecError
from aalp.front.parser import parse
from aalp.front.printer import format_spec
from aalp.model.cost import build_context, call_metrics, decision_eval, evaluate
from aalp.model.montecarlo import simulate
from aalp.model.symbolic import closed_form, value_at
from aalp.optimizer.bounds_stage import Booster, Interval, decision_bounds
from aalp.plan.plan import Choice

MAP = """
param n = 12
{wide}
model big {{ size 3  context 1M  price in 1 out 2 per Mtok  {own}  can work }}
task t {{
  items xs = n of 10 tokens
  op work(x of xs) on big {{ reads 40 + 10*x tokens  writes 2 + x tokens  success 0.99 }}
  map work over xs
  minimize cost
}}
"""

CHAIN = """
param s = 5
model q { size 2  context 1M  attention quadratic  price in 1 out 2 per Mtok  can step }
task t {
  steps c = s
  op step(x of c) on q { reads 30 + 3*x tokens  writes 4 tokens  success 0.999 }
  chain step over c history full
  minimize cost
}
"""

SORT = """
param n = 40
attention quadratic
model q { size 2  context 1M  price in 1 out 2 per Mtok  can sort, merge }
task t {
  items xs = n of 3 tokens
  op sort(x of xs) on q { reads 20 + 3*x tokens  writes 3*x tokens  success 0.999 }
  op merge(x of xs) on q { reads 20 + 3*x tokens  writes 3*x tokens  success 0.999 }
  map sort over xs
  reduce merge fanin 3
  minimize cost
}
"""


def quad_cost(m: float, r: float, w: float) -> float:
    """One call, token by token: every token read or written costs m times the tokens
    before it (written out as a loop, not the closed form)."""
    return m * sum(range(int(r + w)))


def linear_cost(m: float, r: float, w: float) -> float:
    return m * sum(r + j for j in range(int(w)))


def errors(text: str) -> list:
    with pytest.raises(SpecError) as info:
        load_text(text, "a.aalp")
    return info.value.diagnostics


# -- syntax and checks ---------------------------------------------------------------------


def test_attention_parses_on_a_model_and_spec_wide_and_the_model_wins():
    spec = parse(MAP.format(wide="attention quadratic", own="attention linear"))
    assert spec.attention is not None and spec.attention.kind == "quadratic"
    assert spec.models[0].attention is not None and spec.models[0].attention.kind == "linear"
    assert spec.attention_of(spec.models[0]) == "linear"
    wide = parse(MAP.format(wide="attention quadratic", own=""))
    assert wide.attention_of(wide.models[0]) == "quadratic"
    plain = parse(MAP.format(wide="", own=""))
    assert plain.attention is None and plain.attention_of(plain.models[0]) == "linear"


@pytest.mark.parametrize(
    ("wide", "own"),
    [("attention quadratic", ""), ("", "attention quadratic"), ("attention linear", "")],
)
def test_attention_round_trips_through_the_printer(wide, own):
    spec = parse(MAP.format(wide=wide, own=own))
    text = format_spec(spec)
    assert parse(text) == spec
    assert format_spec(parse(text)) == text
    for setting in (wide, own):
        if setting:
            assert setting in text


def test_an_unknown_attention_says_what_is_allowed_with_a_suggestion():
    text = MAP.format(wide="", own="attention quadratc")
    (d,) = errors(text)
    assert d.code == "E116"
    assert d.message == (
        "unknown attention 'quadratc' for model 'big'; it is 'linear' or 'quadratic'"
    )
    assert d.hint == "did you mean 'quadratic'?"
    line = text.splitlines()[3]
    assert (d.span.line, d.span.col) == (4, line.index("attention quadratc") + 1)
    assert d.span.end_col == line.index("quadratc") + len("quadratc")
    (d,) = errors(MAP.format(wide="attention cubic", own=""))
    assert d.code == "E116" and "for the whole spec" in d.message
    assert d.hint == "known attentions: 'linear', 'quadratic'"


def test_a_duplicate_attention_is_an_error():
    (d,) = errors(MAP.format(wide="", own="attention linear  attention quadratic"))
    assert d.code == "E010" and d.message == "model 'big' has two 'attention' clauses"
    (d,) = errors(MAP.format(wide="attention quadratic\nattention linear", own=""))
    assert d.code == "E010" and d.message == "the spec has two 'attention' settings"
    assert d.span.line == 4


def test_attention_may_still_name_a_parameter():
    spec = parse("param attention = 3\nattention quadratic")
    assert spec.params[0].name == "attention" and spec.attention.kind == "quadratic"


# -- the primitive -------------------------------------------------------------------------


@pytest.mark.parametrize(("m", "r", "w"), [(1, 0, 1), (2, 10, 3), (3, 80, 6), (0.5, 1000, 50)])
def test_the_primitive_against_a_token_by_token_count(m, r, w):
    assert call_metrics(m, r, w, 0, 0).cost == pytest.approx(linear_cost(m, r, w))
    assert call_metrics(m, r, w, 0, 0, quadratic=True).cost == pytest.approx(quad_cost(m, r, w))
    # only the cost changes: dollars stay per token as priced
    lin, quad = call_metrics(m, r, w, 1, 2), call_metrics(m, r, w, 1, 2, quadratic=True)
    assert (lin.dollars, lin.tokens, lin.forward_passes) == (
        quad.dollars,
        quad.tokens,
        quad.forward_passes,
    )


def test_a_map_under_quadratic_attention_against_a_hand_count():
    checked = load_text(MAP.format(wide="attention quadratic", own=""), "a.aalp")
    ev = evaluate(checked, None, {"work.x": 4})
    # 3 chunks of 4 items: R = 40 + 40 = 80, W = 6; each call 3·(86·85/2) = 10,965
    assert ev.metrics.cost == 3 * 10_965
    linear = load_text(MAP.format(wide="", own=""), "a.aalp")
    assert evaluate(linear, None, {"work.x": 4}).metrics.cost == 3 * 3 * (80 * 6 + 15)
    assert any("quadratic attention" in a for a in ev.assumptions)
    assert not any("attention" in a for a in evaluate(linear, None, {"work.x": 4}).assumptions)


def chain_by_hand(s: int, x: int) -> float:
    """The chain with history full, call by call: step j reads its own 30 + 3x tokens and
    every earlier step's reads and writes."""
    own, w = 30 + 3 * x, 4
    steps = -(-s // x)
    return sum(quad_cost(2, own + j * (own + w), w) for j in range(steps))


@pytest.mark.parametrize(("s", "x"), [(5, 1), (5, 2), (9, 3), (1, 1)])
def test_a_conversation_under_quadratic_attention_is_costed_call_by_call(s, x):
    checked = load_text(CHAIN, "a.aalp", {"s": s})
    ev = evaluate(checked, None, {"step.x": x})
    assert ev.metrics.cost == pytest.approx(chain_by_hand(s, x), rel=1e-12)


def test_monte_carlo_recounts_the_quadratic_cost():
    checked = load_text(CHAIN, "a.aalp", {"s": 7})
    sim = simulate(checked, None, {"step.x": 2}, runs=20, seed=3)
    assert sim.metrics["cost"].mean == pytest.approx(chain_by_hand(7, 2), rel=1e-12)
    mapped = load_text(MAP.format(wide="attention quadratic", own=""), "a.aalp")
    sim = simulate(mapped, None, {"work.x": 4}, runs=20, seed=3)
    assert sim.metrics["cost"].mean == pytest.approx(3 * 10_965, rel=1e-12)


def test_a_reduce_tree_under_quadratic_attention_against_a_hand_count():
    checked = load_text(SORT, "a.aalp")
    ev = evaluate(checked, None, {"sort.x": 5})
    # 8 leaves of 5 numbers; merges of fan-in 3: 3 nodes of 15, then 1 node of 40 (capped at n)
    leaves = 8 * quad_cost(2, 20 + 15, 15)
    level1 = 3 * quad_cost(2, 20 + 45, 45)
    level2 = quad_cost(2, 20 + 120, 120)
    assert ev.metrics.cost == pytest.approx(leaves + level1 + level2, rel=1e-12)


# -- closed form and bounds ----------------------------------------------------------------


@pytest.mark.parametrize("text", ["map", "chain", "reduce"])
def test_the_closed_form_equals_the_numbers_at_random_points(text):
    rng = random.Random(7)
    source, name, key = {
        "map": (MAP.format(wide="attention quadratic", own=""), "n", "work.x"),
        "chain": (CHAIN, "s", "step.x"),
        "reduce": (SORT, "n", "sort.x"),
    }[text]
    for _ in range(6):
        size, x = rng.randint(1, 400), rng.randint(1, 9)
        checked = load_text(source, "a.aalp", {name: size})
        ev = evaluate(checked, None, {key: x})
        for metric in ("cost", "dollars", "tokens", "calls"):
            form = closed_form(checked, None, {key: x}, metric, [name])
            got = value_at(form, {name: size})
            assert got == pytest.approx(ev.value(metric), rel=1e-9), (metric, size, x)


def test_the_interval_bounds_hold_every_call_of_the_box():
    checked = load_text(CHAIN, "a.aalp", {"s": 9})
    ctx = build_context(checked, None)
    rng = random.Random(1)
    for _ in range(20):
        lo = rng.randint(1, 6)
        hi = lo + rng.randint(0, 5)
        extra_lo, extra_hi = sorted((rng.uniform(0, 300), rng.uniform(0, 300)))
        b = decision_bounds(
            ctx, "step", Interval(lo, hi), "q", Booster("none"), Interval(extra_lo, extra_hi)
        )
        cost = b.metrics[2]
        for x in range(lo, hi + 1):
            for extra in (extra_lo, extra_hi):
                # the spread of a conversation's reads is at most extra² (bounds_stage)
                for spread in (0.0, extra * extra):
                    d = decision_eval(ctx, "step", x, Choice("q"), extra, spread=spread)
                    assert cost.lo <= d.metrics.cost <= cost.hi, (x, extra, spread)

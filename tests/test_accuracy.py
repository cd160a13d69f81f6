"""Per-item accuracy (``require accuracy``, ``require errors``) and a reduce node's names
(``fanin``, ``level``, ``calls``) in op formulas, each held to an independent computation:
the item-by-item Monte Carlo (``aalp.model.montecarlo_items``), exhaustive search
(``tests/oracles/exhaustive.py``) and values derived by hand (docs/model.md §3, items)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from aalp.checks.loader import load, load_text
from aalp.diagnostics import SpecError
from aalp.front.parser import parse
from aalp.front.printer import format_spec
from aalp.model.cost import evaluate
from aalp.model.montecarlo_items import simulate_items
from aalp.optimizer.driver import optimize
from oracles.exhaustive import search

SAMPLES = Path(__file__).parent.parent / "samples"


def models(can: str, big: bool = False) -> str:
    out = f"model m {{ size 1  context 64k  price in 1 out 2 per Mtok  can {can} }}\n"
    if big:
        out += "model b { size 4  context 64k  price in 4 out 8 per Mtok  can work }\n"
    return out


MAP = (
    models("work", big=True)
    + """
task t {
  items docs = N of 100 tokens
  op work(x of docs upto 6) on m, b {
    reads 50 + 100*x tokens  writes 10*x tokens  success 0.97^x  success on b 0.993^x
  }
  map work over docs OVERLAP
  combine concat
  allow vote majority max 5 on work
  REQUIRE
  minimize dollars
}
"""
)

TREE = (
    models("work, merge")
    + """
task t {
  items docs = N of 100 tokens
  op work(x of docs upto 4) on m { reads 50 + 100*x tokens  writes 10 tokens  success 0.98^x }
  op merge on m {
    reads 50 + 10*fanin + 5*level tokens
    writes 10 tokens
    success 0.999^(fanin*level)
  }
  map work over docs
  reduce merge fanin choose
  REQUIRE
  minimize cost
}
"""
)

CHAIN = (
    models("work")
    + """
task t {
  steps docs = N
  op work(x of docs upto 4) on m { reads 50 tokens  writes 10*x tokens  success 0.995^x }
  chain work over docs
  require accuracy of docs >= 0.5
  minimize cost
}
"""
)

VERIFIED = (
    models("work, judge")
    + """
task t {
  items docs = N of 100 tokens
  op work(x of docs upto 3) on m { reads 50 + 100*x tokens  writes 10*x tokens  success 0.9^x }
  op judge(x of docs upto 3) on m { reads 50 + 110*x tokens  writes 2 tokens  success 0.95 }
  map work over docs
  allow retry max 4 until judge on work
  require accuracy >= 0.99
  minimize dollars
}
"""
)


def spec(text: str, n: int = 60, req: str = "require accuracy >= 0.9", overlap: str = ""):
    body = text.replace("REQUIRE", req).replace("OVERLAP", overlap).replace("N of", f"{n} of")
    return load_text(body.replace("docs = N", f"docs = {n}"), "t.aalp")


def mc_agrees(checked, decisions, runs: int = 4000, exact: bool = True):
    """The model's accuracy against the item-by-item simulation: equal within 4.5 standard
    errors (exact), or below it (a bound)."""
    ev = evaluate(checked, None, decisions)
    sim = simulate_items(checked, None, decisions, runs=runs, seed=3)
    slack = 4.5 * max(sim.stderr, 1e-4)
    assert ev.accuracy <= sim.accuracy + slack
    if exact:
        assert abs(ev.accuracy - sim.accuracy) <= slack, (ev.accuracy, sim)
    assert ev.errors == pytest.approx(ev.item_count * (1 - ev.accuracy))
    return ev, sim


# ---------------------------------------------------------------------------------------------
# the model against the simulation
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "decisions",
    [
        {"work.x": 1, "work.model": "m", "work.vote": "none"},
        {"work.x": 4, "work.model": "m", "work.vote": "none"},  # 60 = 15 chunks of 4
        {"work.x": 6, "work.model": "b", "work.vote": "majority", "work.votes": 3},
    ],
)
def test_a_maps_accuracy_is_the_mean_of_its_items_outcomes(decisions) -> None:
    checked = spec(MAP)
    ev, _ = mc_agrees(checked, decisions)
    # by hand: an item is right when its chunk is, so accuracy is one chunk's success
    chunk = ev.stages[0].op_evals[0].success
    assert ev.accuracy == pytest.approx(chunk, rel=1e-12)
    assert ev.success == pytest.approx(chunk ** ev.stages[0].chunks, rel=1e-9)


def test_a_last_smaller_chunk_makes_the_accuracy_a_bound() -> None:
    # 60 items in chunks of 7: eight full chunks and one of 4, costed (and counted) as full
    checked = spec(MAP.replace("upto 6", "upto 8"))
    decisions = {"work.x": 7, "work.model": "m", "work.vote": "none"}
    ev = evaluate(checked, None, decisions)
    assert ev.accuracy == pytest.approx(0.97**7)
    mc_agrees(checked, decisions, exact=False)


def test_overlapping_windows_count_every_window_that_holds_an_item() -> None:
    checked = spec(MAP, overlap="overlap 0.5")
    decisions = {"work.x": 4, "work.model": "m", "work.vote": "none"}
    ev, _ = mc_agrees(checked, decisions, exact=False)
    assert ev.accuracy == pytest.approx((0.97**4) ** 2)  # two windows hold each item


@pytest.mark.parametrize("fanin", [2, 3, 4])
def test_a_trees_accuracy_multiplies_the_nodes_above_each_leaf(fanin: int) -> None:
    checked = spec(TREE, n=48)
    decisions = {"work.x": 2, "work.model": "m", "work.vote": "none", "merge.fanin": fanin}
    decisions |= {"merge.model": "m", "merge.vote": "none"}
    ev, _ = mc_agrees(checked, decisions)
    levels = ev.stages[1].levels
    # by hand: the leaf's chunk, then one node per level, each 0.999^(fanin·level)
    path = 0.98**2 * math.prod(0.999 ** (fanin * j) for j in range(1, len(levels) + 1))
    assert ev.accuracy == pytest.approx(path, rel=1e-12)
    rows = [r for r in ev.stages[1].op_evals if r.op == "merge"]
    assert [r.reads for r in rows] == [50 + 10 * fanin + 5 * j for j in range(1, len(rows) + 1)]


def test_a_chains_accuracy_is_bounded_by_jensen() -> None:
    checked = spec(CHAIN, n=40)
    decisions = {"work.x": 2, "work.model": "m", "work.vote": "none"}
    ev, sim = mc_agrees(checked, decisions, exact=False)
    s, c = 0.995**2, 20
    exact_mean = sum(s**j for j in range(1, c + 1)) / c  # step j is right when 1..j are
    assert ev.accuracy == pytest.approx(s ** ((c + 1) / 2))
    assert ev.accuracy <= exact_mean
    assert sim.accuracy == pytest.approx(exact_mean, abs=4.5 * sim.stderr)


def test_a_verified_retry_matches_its_closed_form_and_the_simulation() -> None:
    checked = spec(VERIFIED, n=300)
    decisions = {"work.x": 1, "work.model": "m", "work.retries": 4, "judge.model": "m"}
    decisions |= {"work.vote": "none", "judge.vote": "none"}
    ev, _ = mc_agrees(checked, decisions, runs=3000)
    a, c = 0.9, 0.95
    q = 1 - a * c - (1 - a) * (1 - c)
    assert ev.accuracy == pytest.approx(a * c * (1 - q**4) / (1 - q), rel=1e-12)


# ---------------------------------------------------------------------------------------------
# the optimizer against exhaustive search
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "req", "n"),
    [
        (MAP, "require accuracy >= 0.99", 60),
        (MAP, "require accuracy >= 0.999", 60),
        (MAP, "require errors <= 0.3", 60),
        (MAP, "require errors <= 2", 500),
        (TREE, "require accuracy >= 0.9", 48),
        (TREE, "require errors <= 3", 48),
        (VERIFIED, "", 50),
    ],
)
def test_the_optimum_under_a_per_item_bound_is_the_exhaustive_one(text, req, n) -> None:
    checked = spec(text, n=n, req=req)
    result = optimize(checked, frontier=False, baselines=False)
    brute = search(checked)
    assert result.feasible == brute.feasible
    if brute.feasible:
        metric = result.objective[1]
        assert result.plan.value(metric) == pytest.approx(brute.value, rel=1e-9)
        assert result.plan.meets


def test_errors_is_accuracy_of_one_minus_errors_over_the_items() -> None:
    by_errors = optimize(spec(MAP, n=500, req="require errors <= 2"), frontier=False)
    by_accuracy = optimize(spec(MAP, n=500, req="require accuracy >= 0.996"), frontier=False)
    assert by_errors.plan.decisions == by_accuracy.plan.decisions
    assert by_errors.plan.value("errors") <= 2


def test_accuracy_asks_less_than_success() -> None:
    per_item = optimize(spec(MAP, req="require accuracy >= 0.99"), frontier=False)
    whole = optimize(spec(MAP, req="require success >= 0.99"), frontier=False)
    assert per_item.plan.metrics["dollars"] < whole.plan.metrics["dollars"]
    assert per_item.plan.value("accuracy") >= 0.99 > per_item.plan.success


# ---------------------------------------------------------------------------------------------
# the sample
# ---------------------------------------------------------------------------------------------


def test_invoices_buys_one_call_and_the_verifier_retries_not_a_vote() -> None:
    from aalp.explainer.report import report as build_report

    checked = load(SAMPLES / "invoices.aalp")
    result = optimize(checked)
    plan = result.plan
    assert plan.decisions["extract.retries"] == 3
    assert plan.decisions["extract.vote"] == "none"
    assert plan.decisions["extract.x"] == 1
    # by hand: a try is one extraction (1,000 in, 80 out) and one check (1,080 in, 5 out)
    a, c, r = 0.985, 0.98, 3
    q = 1 - a * c - (1 - a) * (1 - c)
    tries = (1 - q**r) / (1 - q)
    per_try = (1000 * 0.15 + 80 * 0.60 + 1080 * 0.15 + 5 * 0.60) / 1e6
    per_invoice = plan.metrics["dollars"] / 1e6
    assert per_invoice == pytest.approx(tries * per_try, rel=1e-9)
    assert per_invoice < 1.05 * per_try  # within a few percent of one call and one check
    assert plan.value("accuracy") == pytest.approx(a * c * tries, rel=1e-12)
    all_right = next(b for b in result.baselines if b.name == "all_right")
    assert all_right.plan.meets and all_right.ratio > 6  # what 'require success' would buy
    report = build_report(checked, result, growth=False)
    assert report.accuracy >= 0.999 and report.errors < 1000
    assert "would ask every item to be right at once" in report.reliability_note


def test_success_on_the_million_invoices_needs_the_majority_of_13() -> None:
    text = (
        (SAMPLES / "invoices.aalp")
        .read_text()
        .replace("require accuracy >= 0.999", "require success >= 0.999")
    )
    result = optimize(load_text(text, str(SAMPLES / "x.aalp")), frontier=False, baselines=False)
    assert result.plan.decisions["extract.vote"] == "majority"
    assert result.plan.decisions["extract.votes"] == 13


# ---------------------------------------------------------------------------------------------
# the language: checks and the formatter
# ---------------------------------------------------------------------------------------------


def codes_of(text: str) -> list[str]:
    with pytest.raises(SpecError) as err:
        load_text(text, "t.aalp")
    return [d.code for d in err.value.diagnostics if d.severity == "error"]


@pytest.mark.parametrize(
    ("req", "code"),
    [
        ("require accuracy of nothing >= 0.9", "E102"),
        ("require accuracy >= 1.5", "E210"),
        ("require accuracy <= 0.5", "E214"),
        ("require errors >= 3", "E214"),
        ("require errors <= -1", "E210"),
        ("require accuracy >= 0.9  require success >= 0.9", "E311"),
        ("require accurcy >= 0.9", "E013"),
    ],
)
def test_a_bad_per_item_bound_is_a_diagnostic(req: str, code: str) -> None:
    assert code in codes_of(
        MAP.replace("REQUIRE", req)
        .replace("N of", "10 of")
        .replace("OVERLAP", "")
        .replace("docs = N", "docs = 10")
    )


def test_success_cannot_be_maximized_under_a_per_item_bound() -> None:
    text = MAP.replace("minimize dollars", "maximize success").replace("OVERLAP", "")
    text = text.replace("REQUIRE", "require accuracy >= 0.9").replace("N of", "10 of")
    assert codes_of(text.replace("docs = N", "docs = 10")) == ["E311"]
    checked = spec(MAP)
    with pytest.raises(SpecError, match="one measure of reliability"):
        optimize(checked, objective="success")


def test_accuracy_without_a_map_must_name_its_items() -> None:
    text = CHAIN.replace("accuracy of docs", "accuracy").replace("docs = N", "docs = 10")
    assert codes_of(text) == ["E310"]


def test_accuracy_is_not_an_objective() -> None:
    text = MAP.replace("minimize dollars", "maximize accuracy").replace("REQUIRE", "")
    assert "E215" in codes_of(text.replace("N of", "10 of").replace("OVERLAP", ""))


def test_node_names_belong_to_reduce_ops_only() -> None:
    bad = TREE.replace("success 0.98^x", "success 0.98^fanin").replace("REQUIRE", "")
    assert "E100" in codes_of(bad.replace("docs = N", "docs = 10").replace("N of", "10 of"))
    reserved = "param level = 3\n" + TREE.replace("REQUIRE", "")
    assert "E112" in codes_of(reserved.replace("N of", "10 of"))


def test_the_formatter_keeps_the_items_of_a_bound() -> None:
    text = format_spec(parse(CHAIN))
    assert "require accuracy of docs >= 0.5" in text
    assert format_spec(parse(text)) == text


def test_the_closed_form_of_a_tree_reads_its_fanin() -> None:
    from aalp.model.symbolic import closed_form, value_at

    text = "param n = 48\n" + TREE.replace("docs = N", "docs = n").replace("REQUIRE", "")
    checked = load_text(text, "t.aalp")
    decisions = {"work.x": 2, "work.model": "m", "work.vote": "none", "merge.fanin": 3}
    decisions |= {"merge.model": "m", "merge.vote": "none"}
    form = closed_form(checked, "t", decisions, "cost", ["n"])
    assert "fanin" not in str(form)
    for n in (48, 50, 100):
        again = load_text(text.replace("param n = 48", f"param n = {n}"), "t.aalp")
        ev = evaluate(again, None, decisions)
        assert value_at(form, {"n": n}) == pytest.approx(ev.metrics.cost, rel=1e-9)


def test_the_explorer_moves_the_accuracy_target() -> None:
    from aalp.explore.api import optimize_spec
    from aalp.explore.controls import Settings

    text = (SAMPLES / "invoices.aalp").read_text().replace("param n = 1M", "param n = 1000")
    file = str(SAMPLES / "invoices.aalp")
    shown = optimize_spec(text, file)
    assert shown["frontier"]["measure"] == "accuracy"
    assert shown["plan"]["accuracy"] >= 0.999 and shown["plan"]["errors"] <= 1
    looser = optimize_spec(text, file, Settings(target=0.99))
    assert looser["plan"]["accuracy"] >= 0.99
    assert looser["plan"]["metrics"]["dollars"] < shown["plan"]["metrics"]["dollars"]

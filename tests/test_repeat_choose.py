"""``repeat STAGE choose then vote`` (docs/model.md §3, repeat): the optimizer's K against
exhaustive enumeration of K with every other decision, the decision ``stageN.repeat`` in the
plan, explain and the python program, and the check's limits (E340)."""

from __future__ import annotations

import pytest
from aalp import api, codes
from aalp.diagnostics import SpecError
from aalp.model.cost import evaluate
from aalp.optimizer.driver import optimize
from aalp.optimizer.repeat_choose import MAX_CHOSEN, at_count
from aalp.plan.plan import DecisionError
from test_repeat import TWO_MODELS
from test_repeat_part import SPEC

WHOLE = TWO_MODELS.replace(" K then", " choose then")
PARTS = {
    "whole": WHOLE,
    "after": SPEC.replace("FIRST", "map check over xs").replace(
        "SECOND", "repeat chain step over s choose then vote"
    ),
    "before": SPEC.replace("FIRST", "repeat chain step over s choose then vote").replace(
        "SECOND", "map check over xs"
    ),
}


def checked_of(text: str, require: str, objective: str) -> api.Checked:
    return api.check(api.parse(text.replace("REQUIRE", require).replace("OBJECTIVE", objective)))


def exhaustive(checked: api.Checked, sense: str) -> tuple[int, float] | None:
    """The best (K, objective) over every odd K up to the bound, each by enumeration."""
    from oracles.exhaustive import search

    best = None
    for k in range(1, MAX_CHOSEN + 1, 2):
        brute = search(at_count(checked, checked.spec.tasks[0], k))
        if not brute.feasible:
            continue
        if best is None or (
            brute.value > best[1] if sense == "maximize" else brute.value < best[1]
        ):
            best = (k, brute.value)
    return best


@pytest.mark.parametrize("shape", sorted(PARTS))
@pytest.mark.parametrize(
    ("require", "objective"),
    [
        ("require success >= 0.99", "minimize cost"),
        ("require success >= 0.9999999", "minimize cost"),
        ("require cost <= 400000", "maximize success"),
        ("require latency <= 60", "minimize cost"),
        ("require success >= 0.999\n  workers 2", "minimize latency"),
        ("require success >= 0.99999999999999", "minimize cost"),
    ],
)
def test_the_chosen_k_is_the_exhaustive_optimum_over_k(shape, require, objective) -> None:
    checked = checked_of(PARTS[shape], require, objective)
    result = optimize(checked)
    brute = exhaustive(checked, result.objective[0])
    assert result.feasible == (brute is not None)
    if brute is None:
        return
    metric = result.objective[1]
    assert result.plan.value(metric) == pytest.approx(brute[1], rel=1e-12)
    key = next(k for k in result.plan.decisions if k.endswith(".repeat"))
    k = result.plan.decisions[key]
    assert k % 2 == 1 and 1 <= k <= MAX_CHOSEN
    # the plan, K included, evaluates to what the optimizer reports
    again = evaluate(checked, None, result.plan.decisions)
    assert again.success == pytest.approx(result.plan.success, rel=1e-12)
    assert again.value(metric) == pytest.approx(result.plan.value(metric), rel=1e-12)
    assert any("the repeat's count is chosen" in n for n in result.notes)


def test_more_runs_are_chosen_for_a_stricter_target() -> None:
    loose = optimize(checked_of(WHOLE, "require success >= 0.99", "minimize cost"))
    strict = optimize(checked_of(WHOLE, "require success >= 0.9999999", "minimize cost"))
    assert loose.plan.decisions["stage1.repeat"] == 1
    assert strict.plan.decisions["stage1.repeat"] == 3


def test_a_plan_without_its_k_is_refused_by_name() -> None:
    checked = checked_of(WHOLE, "require success >= 0.99", "minimize cost")
    decisions = dict(optimize(checked).plan.decisions)
    del decisions["stage1.repeat"]
    with pytest.raises(DecisionError, match=r"stage1\.repeat"):
        evaluate(checked, None, decisions)
    with pytest.raises(DecisionError, match="odd"):
        evaluate(checked, None, {**decisions, "stage1.repeat": 4})


def test_explain_shows_the_k_chosen_and_the_program_runs_it() -> None:
    from aalp.explainer.render import render_text

    checked = checked_of(WHOLE, "require success >= 0.9999999", "minimize cost")
    report = api.explain(checked)
    assert report.stages[0].repeat == 3
    text = " ".join(render_text(report, width=200).split())
    assert "repeated 3 times then voted" in text
    assert "K = 3 ('stage1.repeat')" in text
    compiled = api.compile(checked)
    assert compiled.view["stages"][0]["repeat"] == 3
    assert "vote_runs(\n        3," in compiled.files[0].text


def test_a_second_choose_is_e340() -> None:
    text = PARTS["after"].replace("map check over xs", "repeat map check over xs choose then vote")
    with pytest.raises(SpecError) as err:
        checked_of(text, "require success >= 0.9", "minimize cost")
    assert [d.code for d in err.value.diagnostics] == [codes.BAD_REPEAT]


@pytest.mark.parametrize("s", [0.3, 0.5, 0.7, 0.95])
def test_each_two_more_runs_change_the_majority_by_the_derived_step(s: float) -> None:
    import math

    from test_repeat import majority

    for k in range(1, 41, 2):
        step = math.comb(k, (k - 1) // 2) * (s * (1 - s)) ** ((k + 1) // 2) * (2 * s - 1)
        assert majority(s, k + 2) - majority(s, k) == pytest.approx(step, rel=1e-9, abs=1e-15)


def test_simulate_plays_the_chosen_k(tmp_path) -> None:
    import json

    from aalp.cli import cli
    from click.testing import CliRunner

    text = WHOLE.replace("REQUIRE", "require success >= 0.9999999")
    spec = tmp_path / "c.aalp"
    spec.write_text(text.replace("OBJECTIVE", "minimize cost"))
    out = CliRunner().invoke(cli, ["simulate", str(spec), "--runs", "3000", "--format", "json"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.output)
    assert result["decisions"]["stage1.repeat"] == 3
    lo, hi = result["success"]["interval"]
    assert lo <= result["success"]["predicted"] <= hi
    calls = result["metrics"]["calls"]
    decisions = result["decisions"]
    assert decisions["step.vote"] == "majority"  # a fixed count of samples per step
    # 3 runs of 6 steps, each step the majority of its votes
    assert calls["mean"] == calls["predicted"] == 3 * 6 * decisions["step.votes"]


def test_the_python_program_runs_the_chosen_k_and_makes_the_predicted_calls(tmp_path) -> None:
    from aalp.backends.base import write
    from aalp.sim.harness import make_input, run_program
    from test_e2e import FAST, served

    checked = checked_of(PARTS["after"], "require success >= 0.999", "minimize cost")
    compiled = api.compile(checked)
    k = compiled.view["decisions"]["stage2.repeat"]
    assert k > 1
    write(compiled.files, str(tmp_path))
    program = tmp_path / compiled.files[0].path
    with served(checked, seed=11) as server:
        run = run_program(program, server.url, tmp_path, make_input(checked), FAST)
        stats = server.core.stats()
    assert run.returncode == 0, run.stderr
    predicted = compiled.view["prediction"]["calls_by_op"]
    assert stats["by_op"] == {op: round(n) for op, n in predicted.items() if n}
    runs = {key.split("/")[0] for key in stats["keys"] if key.startswith("r")}
    assert runs == {f"r{i}" for i in range(k)}

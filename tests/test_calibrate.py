"""``aalp calibrate`` against the simulated LLM with known rates: intervals that cover the
truth, plans that match the true rates' (or say they are not settled), correlated errors found,
and calibration files used by every command (docs/calibration.md)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from aalp.calibrate.robust import robustness
from aalp.calibration import schema
from aalp.calibration.apply import apply
from aalp.calibration.estimates import interval
from aalp.cli import main
from aalp.front.parser import parse_expr
from aalp.optimizer.driver import optimize
from aalp.sim import Faults
from calibration_support import calibrate, counting_examples, hanoi_examples


def _plan(checked) -> dict:
    result = optimize(checked, None, None, [], frontier=False, baselines=False)
    assert result.feasible
    return dict(result.plan.decisions)


def test_95_percent_intervals_cover_the_true_success(load_sample) -> None:
    checked = load_sample("counting")
    truth = 0.9
    examples = counting_examples([50], 60, seed=0)
    covered = 0
    for seed in range(100):
        cal = calibrate(checked, examples, seed, {"count": parse_expr(str(truth))}, units=60)
        point = cal.ops["count"].models["gpt4omini"].points[0]
        low, high = interval(point.right, point.kept, 0.95)
        covered += low <= truth <= high
    assert covered >= 90, covered


def test_hanoi_calibrated_plan_is_the_true_rates_plan_or_says_it_is_not(load_sample) -> None:
    truth = load_sample("hanoi", disks="5", p="0.97", p_big="0.95")
    guessed = load_sample("hanoi", disks="5")
    true_plan = _plan(truth)
    examples = hanoi_examples(5, 400, seed=1)
    for seed, units in ((1, 400), (2, 400), (3, 30)):
        success = {"move@gpt41mini": parse_expr("0.97"), "move@gpt41": parse_expr("0.95")}
        # the simulator's rival follows the true p: every wrong answer is the unit's rival
        cal = calibrate(truth, examples[:units], seed, success, units=units)
        rob = robustness(guessed, cal, None, [], 0.95)
        if units == 400 and seed == 1:
            assert rob.decisions == true_plan and not rob.unsettled
        if rob.decisions != true_plan:
            assert rob.unsettled, (seed, units, rob.decisions, true_plan)


def test_counting_calibrated_plan_is_the_true_rates_plan(load_sample) -> None:
    truth = load_sample("counting")
    guessed = load_sample("counting", decay="9000")
    assert _plan(guessed) != _plan(truth)  # the guess alone would choose another chunk
    examples = counting_examples([500, 1000, 2000], 300, seed=4)
    cal = calibrate(truth, examples, 4, units=300)
    est = apply(guessed, cal).estimates["count"]["gpt4omini"]
    assert est.success["form"] == "weibull" and est.success["b"] == pytest.approx(2, abs=0.5)
    rob = robustness(guessed, cal, None, [], 0.95)
    assert rob.decisions == _plan(truth) and rob.feasible["pessimistic"]
    # x sits near a boundary of the chunk count: the report says the intervals still reach it
    assert set(rob.unsettled) == {"count.x"}
    small = calibrate(truth, counting_examples([500, 2000], 20, seed=5), 5, units=20)
    rob = robustness(guessed, small, None, [], 0.95)
    assert rob.decisions == _plan(truth) or rob.unsettled


def test_correlated_errors_are_detected_and_change_the_plan(load_sample) -> None:
    checked = load_sample("counting", n="20000", target="0.5")
    examples = counting_examples([500], 400, seed=6)
    success = {"count": parse_expr("0.9")}
    clean = calibrate(checked, examples, 6, success, units=400)
    stuck = calibrate(checked, examples, 6, success, Faults(stuck_rate=0.05), units=400)
    clean_est = apply(checked, clean).estimates["count"]["gpt4omini"]
    applied = apply(checked, stuck)
    est = applied.estimates["count"]["gpt4omini"]
    assert not clean_est.correlated and est.correlated
    assert est.stuck == pytest.approx(0.05, abs=0.03)
    assert any(w.code == "W409" for w in applied.warnings)
    # voting cannot mend a stuck unit: the independent plan's votes no longer meet the target
    independent = _plan(apply(checked, clean).checked)
    pins = [f"{k}={v}" for k, v in independent.items()]
    held = optimize(applied.checked, None, None, pins, frontier=False, baselines=False)
    assert not held.feasible
    changed = optimize(applied.checked, None, None, [], frontier=False, baselines=False)
    assert not changed.feasible or dict(changed.plan.decisions) != independent


def test_a_calibration_file_round_trips_and_stale_prompts_warn(load_sample, tmp_path) -> None:
    checked = load_sample("counting")
    cal = calibrate(checked, counting_examples([50], 20, seed=0), 0, units=20)
    again = schema.parse(cal.to_json(), "file")
    assert again.to_json() == cal.to_json()
    again.ops["count"].prompt_hash = "sha256:0"
    warnings = apply(checked, again).warnings
    assert [w.code for w in warnings] == ["W408"] and "op 'count'" in warnings[0].message


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{", "is not JSON"),
        ('{"format": "x"}', "is not a calibration file"),
        (
            '{"format": "aalp-calibration", "version": 1, "task": "t", "ops": '
            '{"a": {"models": {"m": {"points": [{"x": 1, "right": 3, "kept": 2}]}}}}}',
            "right <= kept",
        ),
    ],
)
def test_a_bad_calibration_file_is_a_usage_error(text, problem, capsys, tmp_path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(text, encoding="utf-8")
    sample = Path(__file__).parent.parent / "samples" / "counting.aalp"
    with pytest.raises(SystemExit) as stop:
        main(["explain", str(sample), "--calibration", str(bad), "--no-growth"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and problem in err and "[E606]" in err


def test_calibrate_over_http_with_a_budget(load_sample, tmp_path, capsys) -> None:
    from aalp.sim import SimCore, SimServer

    checked = load_sample("counting")
    examples = tmp_path / "examples.jsonl"
    lines = [
        json.dumps({"op": e.op, "request": e.request, "answer": e.answer})
        for e in counting_examples([50, 100], 30, seed=0)
    ]
    examples.write_text("\n".join(lines) + "\n", encoding="utf-8")
    sample = Path(__file__).parent.parent / "samples" / "counting.aalp"
    out = tmp_path / "cal.json"
    core = SimCore(checked, None, 0, Faults(prefill_rate=1e6, decode_rate=1e4))
    with SimServer(core) as server:
        base = ["calibrate", str(sample), "--base-url", server.url, "--examples", str(examples)]
        with pytest.raises(SystemExit) as stop:
            main([*base, "--budget-dollars", "0.000001", "-o", str(out)])
        assert stop.value.code == 1 and "[E608]" in capsys.readouterr().err
        assert not out.exists() and core.stats()["calls"] == 0
        with pytest.raises(SystemExit) as stop:
            main([*base, "--no-early-stop", "-o", str(out)])
        assert stop.value.code == 0
    assert core.stats()["calls"] == 120
    written = json.loads(out.read_text(encoding="utf-8"))
    point = written["estimates"]["ops"]["count"]["gpt4omini"]["points"][0]
    assert point["samples"] == 60 and point["decode_seconds"] == pytest.approx(5e-4, rel=0.01)
    assert "wrote" in capsys.readouterr().out
    for command in ("check", "explain", "simulate", "compile"):
        args = [command, str(sample), "--calibration", str(out)]
        args += ["--no-growth"] if command == "explain" else []
        args += ["--runs", "20"] if command == "simulate" else []
        args += ["-o", str(tmp_path / "program")] if command == "compile" else []
        with pytest.raises(SystemExit) as stop:
            main(args)
        assert stop.value.code == 0, capsys.readouterr().err
    assert "calibration (95% one-sided bounds)" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["compile", str(sample), "-o", str(tmp_path / "guessed")])
    measured = (tmp_path / "program" / "run_counting.py").read_text(encoding="utf-8")
    guessed = (tmp_path / "guessed" / "run_counting.py").read_text(encoding="utf-8")
    assert measured != guessed  # the program carries the measured numbers' prediction


def test_robust_planning_uses_the_lower_bound(load_sample) -> None:
    checked = load_sample("hanoi", disks="5")
    cal = calibrate(checked, hanoi_examples(5, 200, 1), 3, {"move": parse_expr("0.97")}, units=200)
    estimate = apply(checked, cal).checked
    bounded = apply(checked, cal, side="pessimistic", confidence=0.95).checked
    point = cal.ops["move"].models["gpt41mini"].points[0]
    from aalp.calibration.stats import lower_bound
    from aalp.front.expr import evaluate
    from aalp.front.numbers import float_env

    op = bounded.spec.tasks[0].op("move")
    got = evaluate(op.success_on[0].outcomes[0].p, {**float_env(bounded.env), "x": 1.0})
    assert got == pytest.approx(lower_bound(point.right, point.kept, 0.95), rel=1e-9)
    k_est = _plan(estimate)["move.votes"]
    assert _plan(bounded)["move.votes"] >= k_est
    assert math.isfinite(got)


def test_sampling_stops_once_the_plan_is_settled(load_sample) -> None:
    from aalp.calibrate.robust import settled_rule

    checked = load_sample("hanoi", disks="5")
    examples = hanoi_examples(5, 400, seed=8)
    rule = settled_rule(checked, None, 0.95)
    success = {"move": parse_expr("0.8")}
    easy = calibrate(checked, examples, 8, success, settled=rule, units=400, batch=100)
    assert {mc.stopped for mc in easy.ops["move"].models.values()} == {"settled"}
    # with fewer units the intervals still hold k open: every unit is sampled
    hard = calibrate(checked, examples[:100], 8, success, settled=rule, units=100, batch=50)
    assert {mc.stopped for mc in hard.ops["move"].models.values()} == {"sample size"}
    # and with no failure at all, 400 clean samples cannot certify going without a vote
    clean = calibrate(checked, examples, 8, {"move": parse_expr("1")}, units=400)
    rob = robustness(checked, clean, None, [], 0.95)
    assert rob.unsettled and rob.certify[0]["more_samples"] > 0


def test_latency_splits_into_prefill_and_decode(load_sample) -> None:
    from aalp.calibrate.summary import latency

    checked = load_sample("counting")
    examples = counting_examples([100, 400, 800], 6, seed=0)
    faults = Faults(prefill_rate=2e5, decode_rate=500)
    cal = calibrate(checked, examples, 0, faults=faults, units=6)
    points = cal.ops["count"].models["gpt4omini"].points
    timed = latency(points)
    assert timed["method"] == "timings"
    assert timed["prefill_tokens_per_second"] == pytest.approx(2e5, rel=1e-6)
    assert timed["decode_tokens_per_second"] == pytest.approx(500, rel=1e-6)
    # without the endpoint's timings the wall time is regressed on the tokens (counting writes
    # 5 tokens at every x, so only an op whose writes vary can split decode from overhead)
    for p in points:
        p.prefill_seconds = p.decode_seconds = None
    assert latency(points)["method"] == "total only"
    from aalp.calibration.schema import Point

    made = [
        Point(
            x,
            samples=10,
            prompt_tokens=10 * r,
            completion_tokens=10 * w,
            seconds=10 * (0.05 + r / 1e4 + w / 50),
        )
        for x, r, w in ((1, 100, 10), (2, 400, 20), (3, 900, 60))
    ]
    got = latency(made)
    assert got["method"] == "regression" and got["overhead_seconds"] == pytest.approx(0.05)
    assert got["prefill_tokens_per_second"] == pytest.approx(1e4)
    assert got["decode_tokens_per_second"] == pytest.approx(50)


def test_the_explorer_plans_on_the_calibration(load_sample) -> None:
    from dataclasses import replace as with_

    from aalp.explore.api import optimize_spec
    from aalp.explore.controls import Settings

    spec = Path(__file__).parent.parent / "samples" / "counting.aalp"
    checked = load_sample("counting")
    cal = calibrate(
        checked, counting_examples([50], 40, seed=0), 0, {"count": parse_expr("0.9")}, units=40
    )
    text = spec.read_text(encoding="utf-8")
    plain = optimize_spec(text, str(spec), Settings())
    measured = optimize_spec(text, str(spec), with_(Settings(), calibration=cal.to_json()))
    assert plain["ok"] and measured["ok"]
    assert measured != plain
    assert measured["plan"]["decisions"] == _plan(apply(checked, cal).checked)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("not json", "not JSON"),
        ('{"op": "tally", "request": {}}', "no op 'tally'"),
        ('{"op": "count", "request": {"x": 0}}', "'x' must be a whole number"),
        ('{"op": "count", "request": {"x": 1, "items": "7"}}', "no 'answer' and no --oracle"),
    ],
)
def test_bad_examples_are_usage_errors(line, problem, tmp_path, capsys) -> None:
    from aalp.checks.loader import load
    from aalp.sim import SimCore, SimServer

    sample = Path(__file__).parent.parent / "samples" / "counting.aalp"
    examples = tmp_path / "bad.jsonl"
    examples.write_text(line + "\n", encoding="utf-8")
    core = SimCore(load(sample), None, 0)
    with SimServer(core) as server:
        argv = ["calibrate", str(sample), "--base-url", server.url, "--examples", str(examples)]
        with pytest.raises(SystemExit) as stop:
            main([*argv, "-o", str(tmp_path / "cal.json")])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and problem in err and "[E607]" in err and "Traceback" not in err
    assert not (tmp_path / "cal.json").exists()


def test_an_oracle_labels_the_examples(tmp_path, capsys) -> None:
    from aalp.checks.loader import load
    from aalp.sim import SimCore, SimServer

    sample = Path(__file__).parent.parent / "samples" / "counting.aalp"
    (tmp_path / "sevens.py").write_text(
        "def answer(ask):\n    return ask.request['items'].count('7')\n", encoding="utf-8"
    )
    examples = tmp_path / "units.jsonl"
    units = [{"op": "count", "request": {"x": 3, "items": s}} for s in ("777", "123", "707")]
    examples.write_text("\n".join(json.dumps(u) for u in units) + "\n", encoding="utf-8")
    with SimServer(SimCore(load(sample), None, 0)) as server:
        argv = ["calibrate", str(sample), "--base-url", server.url, "--examples", str(examples)]
        argv += [
            "--oracle",
            str(tmp_path / "sevens.py") + ":answer",
            "--json",
            "-o",
            str(tmp_path / "c.json"),
        ]
        with pytest.raises(SystemExit) as stop:
            main(argv)
    assert stop.value.code == 0
    got = json.loads(capsys.readouterr().out)
    point = got["estimates"]["count"]["gpt4omini"]["points"][0]
    assert point["samples"] == 6 and point["success"] == 1.0  # the simulator is right at x = 3


def test_sampling_stops_before_its_budget(load_sample) -> None:
    from aalp.calibrate import sample
    from aalp.calibrate.endpoint import SimEndpoint
    from aalp.sim import SimCore

    checked = load_sample("counting")
    task = checked.spec.tasks[0]
    examples = counting_examples([100], 100, seed=0)
    settings = sample.Settings(units=100, batch=10, concurrency=1)
    projected = sample.projection(
        checked, task, sample.strata(checked, task, examples, settings), settings
    )
    settings.budget = projected["dollars"] / 3
    core = SimCore(checked, None, 0)
    cal = sample.run(checked, task, examples, SimEndpoint(core), settings)
    mc = cal.ops["count"].models["gpt4omini"]
    assert mc.stopped == "budget" and cal.provenance["dollars"] <= settings.budget
    assert cal.provenance["dollars"] > settings.budget - projected["dollars"] / 10
    assert core.stats()["calls"] == cal.provenance["calls"] == mc.points[0].samples


def test_serve_sim_refuses_a_bad_success(capsys) -> None:
    sample = Path(__file__).parent.parent / "samples" / "hanoi.aalp"
    for given, problem in (
        ("mov=0.9", "did you mean 'move'"),
        ("move@gpt5=0.9", "gpt5"),
        ("move=0.9+", "E003"),
    ):
        with pytest.raises(SystemExit) as stop:
            main(["serve-sim", str(sample), "--success", given, "--port", "0"])
        assert stop.value.code == 2 and problem in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        main(["serve-sim", str(sample), "--stuck-rate", "1.5"])
    assert stop.value.code == 2


def test_unparsable_answers_measured_without_a_red_flag_become_one(load_sample) -> None:
    checked = load_sample("counting")
    examples = counting_examples([50], 100, seed=2)
    cal = calibrate(checked, examples, 2, faults=Faults(malformed_rate=0.2), units=100)
    op = apply(checked, cal).checked.spec.tasks[0].op("count")
    assert op.red_flag is not None and op.red_flag.unparsable
    assert float(op.red_flag.keep.value) == pytest.approx(0.8, abs=0.06)


def test_explain_json_carries_the_calibration(load_sample, tmp_path, capsys) -> None:
    checked = load_sample("counting")
    cal = calibrate(checked, counting_examples([50], 40, seed=0), 0, units=40)
    path = tmp_path / "cal.json"
    path.write_text(cal.to_json(), encoding="utf-8")
    sample = Path(__file__).parent.parent / "samples" / "counting.aalp"
    with pytest.raises(SystemExit) as stop:
        main(["explain", str(sample), "--calibration", str(path), "--json", "--no-growth"])
    assert stop.value.code == 0
    body = json.loads(capsys.readouterr().out)
    got = body["calibration"]
    assert got["decisions"] == body["decisions"]
    low, mid, high = (got["success"][s] for s in ("pessimistic", "estimate", "optimistic"))
    assert low <= mid <= high and mid == pytest.approx(body["success"])
    assert got["certify"][0]["op"] == "count"


def test_an_op_without_a_granularity_is_calibrated_at_x_1(load_sample) -> None:
    from aalp.calibration.schema import Calibration, ModelCalibration, OpCalibration, Point
    from aalp.front.printer import format_expr

    checked = load_sample("routing")
    point = Point(
        1,
        units=100,
        samples=200,
        kept=200,
        right=190,
        pairs=100,
        prompt_tokens=200 * 40.0,
        completion_tokens=200 * 2.0,
        prompt_tokens_sq=200 * 1600.0,
        completion_tokens_sq=200 * 4.0,
    )
    op_cal = OpCalibration("", {"delegator": ModelCalibration("delegator", [point])})
    cal = Calibration(checked.spec.tasks[0].name, {}, {"classify": op_cal})
    for side in ("estimate", "pessimistic"):
        applied = apply(checked, cal, side=side)
        op = applied.checked.spec.tasks[0].op("classify")
        texts = [format_expr(e) for e in (op.reads, op.writes, op.success_on[0].outcomes[0].p)]
        assert all("x" not in re.findall(r"[A-Za-z_]\w*", t) for t in texts), texts
        assert _plan(applied.checked)


def test_a_map_op_is_sampled_at_more_granularities(tmp_path, capsys) -> None:
    from aalp.checks.loader import load
    from aalp.sim import SimCore, SimServer

    sample = Path(__file__).parent.parent / "samples" / "counting.aalp"
    (tmp_path / "sevens.py").write_text(
        "def answer(ask):\n    return ask.request['items'].count('7')\n", encoding="utf-8"
    )
    examples = tmp_path / "units.jsonl"
    lines = [
        json.dumps({"op": e.op, "request": e.request, "answer": e.answer})
        for e in counting_examples([50], 60, seed=3)
    ]
    examples.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "cal.json"
    with SimServer(SimCore(load(sample), None, 0)) as server:
        argv = ["calibrate", str(sample), "--base-url", server.url, "--examples", str(examples)]
        argv += ["--oracle", f"{tmp_path / 'sevens.py'}:answer", "--x", "count=1000,2000"]
        with pytest.raises(SystemExit) as stop:
            main([*argv, "--units", "60", "--no-early-stop", "-o", str(out)])
        assert stop.value.code == 0, capsys.readouterr().err
        with pytest.raises(SystemExit) as stop:
            main([*argv[:6], "--x", "count=1000", "-o", str(out)])
        assert stop.value.code == 2 and "need --oracle" in capsys.readouterr().err
    points = schema.read(out).ops["count"].models["gpt4omini"].points
    assert [p.x for p in points] == [50, 1000, 2000] and all(p.units == 60 for p in points)
    got = json.loads(out.read_text(encoding="utf-8"))["estimates"]["ops"]["count"]["gpt4omini"]
    assert got["success"]["form"] == "weibull" and got["shape"] == "measured"
    # the simulator's success at x = 2000 is exp(-(2000/4000)^2) = 0.78
    low, high = got["points"][2]["interval"]
    assert low <= math.exp(-0.25) <= high

"""``aalp simulate`` end to end: JSON and text output, determinism, and clear usage errors."""

from __future__ import annotations

import json
from pathlib import Path

from aalp.cli import cli
from click.testing import CliRunner

HANOI = str(Path(__file__).parent.parent / "samples" / "hanoi.aalp")
PLAN = '{"move.x": 1, "move.model": "gpt41mini", "move.vote": "ahead_by", "move.votes": 2}'


def run(*args: str):
    return CliRunner().invoke(cli, ["simulate", HANOI, "-D", "disks=6", *args])


def test_json_output_agrees_with_the_prediction():
    res = run("--runs", "2000", "--seed", "5", "--decisions", PLAN, "--format", "json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["plan"] == "given" and out["runs"] == 2000
    lo, hi = out["success"]["interval"]
    assert lo <= out["success"]["simulated"] <= hi
    calls = out["metrics"]["calls"]
    assert abs(calls["mean"] - calls["predicted"]) <= 5 * calls["stderr"]


def test_text_output_is_deterministic_and_fits_80_columns():
    a = run("--runs", "300", "--decisions", PLAN)
    b = run("--runs", "300", "--decisions", PLAN)
    assert a.exit_code == 0 and a.output == b.output
    assert "success" in a.output and "latency_calls" in a.output
    assert max(len(line) for line in a.output.splitlines()) <= 80


def test_default_plan_is_the_optimizers():
    res = run("--runs", "200", "--format", "json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["plan"] == "optimized"


def test_bad_decisions_are_usage_errors_without_traceback():
    res = run("--decisions", '{"move.x": "abc", "move.vote": "none"}')
    assert res.exit_code == 2 and "must be a whole number" in res.output
    res = run("--decisions", "{not json")
    assert res.exit_code == 2 and "not JSON" in res.output
    res = run("--decisions", '{"move.x": 1, "move.model": "nope", "move.vote": "none"}')
    assert res.exit_code == 1 and "unknown model 'nope'" in res.output
    assert "Traceback" not in res.output

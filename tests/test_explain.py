"""``aalp explain``: the JSON schema, the text report, determinism, infeasible specs."""

from __future__ import annotations

import json
from pathlib import Path

from aalp.cli import cli
from click.testing import CliRunner

SAMPLES = Path(__file__).resolve().parent.parent / "samples"

INFEASIBLE = """\
model m { size 1 context 10k price in 1 out 1 per Mtok can guess }
task coin {
  steps s = 50
  op guess(x of s) on m { reads 10 tokens  writes 2*x tokens  success 0.48 }
  chain guess over s
  allow vote ahead_by max 9
  require success >= 0.9
}
"""


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_json_has_the_documented_fields():
    r = run("explain", str(SAMPLES / "hanoi.aalp"), "--format", "json", "-D", "disks=10")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    for key in ("objective", "metrics", "success", "decisions", "growth", "baselines", "frontier"):
        assert key in d
    assert set(d["metrics"]) >= {"calls", "forward_passes", "cost", "tokens", "dollars", "latency"}
    assert d["feasible"] is True
    assert d["decisions"]["move.vote"] == "ahead_by"
    assert d["objective"]["value"] == d["metrics"]["dollars"]
    for b in d["baselines"]:
        assert {"metrics", "success", "ratio"} <= set(b)
        if b["ratio"] is not None:
            assert abs(b["ratio"] - b["metrics"]["dollars"] / d["metrics"]["dollars"]) < 1e-6
    assert d["growth"]["variable"] == "s" and d["growth"]["confirmed"]
    assert d["frontier"]["vs_success"]
    # the per-call breakdown adds up to the totals
    cost = sum(c["metrics"]["cost"] for st in d["stages"] for c in st["calls"])
    assert abs(cost - d["metrics"]["cost"]) <= 1e-9 * d["metrics"]["cost"]


def test_text_fits_80_columns_and_is_byte_identical():
    args = ("explain", str(SAMPLES / "debugging.aalp"), "--no-growth")
    a, b = run(*args), run(*args)
    assert a.exit_code == 0
    assert a.stdout == b.stdout
    assert max(len(line) for line in a.stdout.splitlines()) <= 80
    assert "conversation" in a.stdout and "ratio (cost)" in a.stdout
    assert "assumptions:" in a.stdout


def test_json_is_byte_identical():
    args = ("explain", str(SAMPLES / "counting.aalp"), "--format", "json")
    assert run(*args).stdout == run(*args).stdout


def test_infeasible_exits_1_with_the_reason(tmp_path):
    f = tmp_path / "coin.aalp"
    f.write_text(INFEASIBLE)
    r = run("explain", str(f))
    assert r.exit_code == 1
    assert "INFEASIBLE" in r.stdout and "voting cannot help 'guess'" in r.stdout
    j = run("explain", str(f), "--format", "json")
    assert j.exit_code == 1
    d = json.loads(j.stdout)
    assert d["feasible"] is False and any("0.48" in w for w in d["why"])


def test_options_pin_objective_task():
    path = str(SAMPLES / "counting.aalp")
    r = run("explain", path, "--format", "json", "--pin", "count.x=100", "--no-growth")
    assert json.loads(r.stdout)["decisions"]["count.x"] == 100
    r = run("explain", path, "--format", "json", "--objective", "calls", "--no-growth")
    assert json.loads(r.stdout)["objective"]["metric"] == "calls"
    bad = run("explain", path, "--pin", "count.x")
    assert bad.exit_code == 2
    bad = run("explain", path, "--task", "nope")
    assert bad.exit_code == 2 and "no task named 'nope'" in bad.output


BOUNDED = """\
param n = 100
model m { size 1 context 8k price in 1.37 out 2.91 per Mtok can f, g }
task t {
  items d = n of 10 tokens
  op f(x of d) on m { reads 10*x tokens  writes 5 tokens  success 0.99^x }
  op g(x of d) on m { reads 10*x tokens  writes 5*x tokens  success 0.999^x }
  map f over d
  reduce g fanin choose
  allow vote majority max 7
  allow retry max 3 until exact on g
  require success >= 0.999999
  require latency <= 100
  minimize calls
}
"""


def test_a_reduce_tree_with_a_latency_bound_explains_which_bound_binds(tmp_path):
    # Only one chunk (no merge tree) fits latency <= 100, so the best is 0.99^100; dropping
    # the bound lets 100 voted chunks and a retried merge tree reach 0.9991, still short.
    spec = tmp_path / "bounded.aalp"
    spec.write_text(BOUNDED, encoding="utf-8")
    r = run("explain", str(spec))
    assert r.exit_code == 1, r.output
    assert "internal error" not in r.output
    assert "the best achievable success is 0.366032" in r.stdout
    assert "without latency <= 100, success rises to 0.99910" in r.stdout
    assert "still short of the target" in r.stdout
    # the closed form of a plan with a reduce tree is a symbolic sum over its levels
    assert "closed form (calls):" in r.stdout

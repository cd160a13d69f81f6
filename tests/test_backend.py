"""The backends' shared parts: registry, literals, call-count moments, view model, compile."""

from __future__ import annotations

import ast
import math
import random
import subprocess
import sys
from pathlib import Path

import pytest
from aalp.backends import calls
from aalp.backends.literals import py_literal
from aalp.backends.registry import TARGETS, UnknownTarget, describe, get

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_NAMES = sorted(p.stem for p in (ROOT / "samples").glob("*.aalp"))


# --- registry ---------------------------------------------------------------------------------


def test_registry_knows_python_and_suggests_names() -> None:
    assert get("python").name == "python"
    with pytest.raises(UnknownTarget, match="did you mean 'python'"):
        get("pyhton")
    assert [name for name, _ in describe()] == sorted(TARGETS)


def test_targets_command_lists_one_line_each() -> None:
    from aalp.cli import cli
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, ["targets"])
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert len(lines) == len(TARGETS)
    assert any(line.startswith("python") and "(default)" in line for line in lines)


# --- literals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "plain",
        "quote \" and ' and \"\"\" and ''' and \\ and {braces} {{x}}",
        "line\nbreaks\r\n and \t tabs and \x00 nul",
        "unicode é ü 漢字 🙂 \u2028 \ud7ff",
        "x" * 500,
        {"nested": [1, 2.5, None, True, "s" * 300], "more": {"k": ("a", "b")}},
        [math.inf, -math.inf],
    ],
)
def test_py_literal_round_trips_and_fits(value: object) -> None:
    source = py_literal(value, indent=4)
    namespace: dict[str, object] = {}
    exec(compile("import math\nv = " + source, "<lit>", "exec"), namespace)
    assert namespace["v"] == value
    assert all(len(line) <= 99 for line in source.splitlines()[1:])


# --- call-count moments -----------------------------------------------------------------------


def _mc_ahead(k: int, a: float, b: float, v: float, rng: random.Random) -> int:
    """Sequential first-to-ahead-by-k with a right answer, one rival and distinct others."""
    right = rival = 0
    other = 0
    n = 0
    while True:
        if right - max(rival, other) >= k or rival - max(right, other) >= k:
            return n
        n += 1
        if rng.random() >= v:
            continue
        u = rng.random()
        if u < a:
            right += 1
        elif u < a + b:
            rival += 1
        else:
            other = 1


@pytest.mark.parametrize(("k", "a", "b", "v"), [(2, 0.7, 0.3, 1.0), (3, 0.8, 0.1, 0.9)])
def test_ahead_by_moments_match_monte_carlo(k: int, a: float, b: float, v: float) -> None:
    rng = random.Random(7)
    runs = 40_000
    xs = [_mc_ahead(k, a, b, v, rng) for _ in range(runs)]
    mean = sum(xs) / runs
    var = sum(x * x for x in xs) / runs - mean * mean
    exact_mean, second = calls.ahead_by_mixed(k, a, b, v)
    assert abs(mean - exact_mean) < 4 * math.sqrt(var / runs)
    assert abs(var - (second - exact_mean**2)) / var < 0.06


def test_layered_lead_chains_equal_gaussian_elimination() -> None:
    # The rank-by-rank tridiagonal solve against the dense solve of the same chain.
    rng = random.Random(11)
    for _ in range(40):
        k = rng.randint(1, 9)
        a = rng.uniform(0.05, 0.95)
        b = rng.uniform(0.0, 1.0 - a)
        v = rng.uniform(0.3, 1.0)
        right, rival, other = a * v, b * v, (1.0 - a - b) * v

        def step(s, right=right, rival=rival, other=other):
            d, r, c, o = s
            return [(right, (d + 1, r, 1, o)), (rival, (d - 1, 1, c, o)), (other, (d, r, c, 1))]

        def done(s, k=k):
            d, r, c, o = s
            lead_right, lead_rival = (d if r else d - o), (-d if c else -d - o)
            return lead_right >= k or lead_rival >= k or (k == 1 and o == 1 and not (r or c))

        dense = calls.absorbing((0, 0, 0, 0), step, done)
        fast = calls.ahead_by_mixed(k, a, b, v)
        assert fast == pytest.approx(dense, rel=1e-9)


def test_large_leads_are_solved_in_linear_time() -> None:
    # k = 2048 has 8·4096 states: a dense solve would never finish; MAKER's closed form
    # (a single rival, no other answers) is the check.
    k, p = 2048, 0.55
    p_sub = 1 / (1 + ((1 - p) / p) ** k)
    expected = (2 * k * p_sub - k) / (2 * p - 1)
    assert calls.ahead_by_mixed(k, p, 1 - p, 1.0)[0] == pytest.approx(expected, rel=1e-9)


def test_ahead_by_matches_makers_closed_form() -> None:
    # MAKER: expected votes (2k p_sub - k)/(2p - 1) with p_sub = 1/(1 + ((1-p)/p)^k)
    for k, p in [(1, 0.9), (3, 0.7), (5, 0.99)]:
        p_sub = 1 / (1 + ((1 - p) / p) ** k)
        expected = (2 * k * p_sub - k) / (2 * p - 1)
        assert calls.ahead_by(k, p, 1 - p, 1.0)[0] == pytest.approx(expected, rel=1e-9)
        # red flags keeping a fraction v divide the samples by v
        assert calls.ahead_by(k, p, 1 - p, 0.8)[0] == pytest.approx(expected / 0.8, rel=1e-9)


def test_retry_and_majority_moments_by_hand() -> None:
    # T in {1, 2, 3} w.p. 1/2, 1/4, 1/4: E[T] = 1.75, E[T^2] = 3.75
    assert calls.retry(0.5, 3, 1.0) == pytest.approx((1.75, 3.75))
    assert calls.retry(0.25, math.inf, 1.0) == pytest.approx((4.0, 28.0))
    mean, second = calls.majority(5, 0.5)  # five geometric(1/2): mean 10, variance 10
    assert (mean, second - mean**2) == pytest.approx((10.0, 10.0))


# --- view and prediction ----------------------------------------------------------------------


def test_view_chunks_by_hand(load_sample) -> None:
    from aalp.backends.emit import Resolved, plan_view

    checked = load_sample("sorting", n="1000")
    task = checked.spec.tasks[0]
    decisions = {"sort.x": 300, "sort.model": "gpt4omini", "sort.vote": "none"}
    decisions |= {"merge.model": "gpt4omini", "merge.vote": "none"}
    from aalp.model.cost import evaluate

    view = plan_view(checked, Resolved(task, decisions, evaluate(checked, task, decisions)))
    map_stage, reduce_stage = view["stages"]
    assert (map_stage["chunks"], map_stage["x"]) == (4, 300)  # ceil(1000 / 300)
    # fan-in 2 over 4 chunks: 2 nodes covering 600 numbers, then 1 covering all 1000
    assert [(lv["nodes"], lv["x"]) for lv in reduce_stage["levels"]] == [(2, 600), (1, 1000)]
    assert view["prediction"]["calls"] == 7
    assert view["prediction"]["calls_interval"] == [7, 7]


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_expected_calls_agree_with_the_cost_model(name: str, load_sample) -> None:
    """The program's structure (counted here) and the cost model predict the same calls."""
    from aalp.api import resolve
    from aalp.backends.emit import plan_view

    checked = load_sample(name)
    view = plan_view(checked, resolve(checked))
    pred = view["prediction"]
    assert pred["calls"] == pytest.approx(pred["model_calls"], rel=1e-6)
    low, high = pred["calls_interval"]
    assert low <= pred["calls"] <= high


# --- compile ----------------------------------------------------------------------------------

RUFF = [sys.executable, "-m", "ruff", "check", "--isolated", "--line-length", "100"]
RUFF += ["--target-version", "py311", "--select", "E,F,W,I,B,UP,SIM,RUF"]
RUFF += ["--ignore", "RUF001,RUF002,RUF003"]


def ruff_clean(folder: Path) -> None:
    done = subprocess.run([*RUFF, str(folder)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_compile_command_writes_files_and_prints_the_plan(tmp_path: Path) -> None:
    from aalp.cli import cli
    from click.testing import CliRunner

    out = tmp_path / "out"
    args = ["compile", str(ROOT / "samples/hanoi.aalp"), "-D", "disks=6", "-o", str(out)]
    result = CliRunner().invoke(cli, [*args, "--pin", "move.x=1"])
    assert result.exit_code == 0, result.output
    assert "move.x = 1" in result.output
    assert "calls" in result.output and "99.9% interval" in result.output
    program = out / "run_hanoi.py"
    compile(program.read_text(encoding="utf-8"), str(program), "exec")
    ruff_clean(out)


@pytest.mark.parametrize(
    ("extra", "code", "message"),
    [
        (["--target", "pyton"], 2, "did you mean 'python'"),
        (["--pin", "move.colour=3"], 1, "not a decision"),
        (["--pin", "nonsense"], 2, "OP.FIELD=VALUE"),
        (["--task", "hanio"], 1, "did you mean 'hanoi'"),
    ],
)
def test_compile_rejects_bad_options_clearly(
    tmp_path: Path, extra: list[str], code: int, message: str
) -> None:
    from aalp.cli import cli
    from click.testing import CliRunner

    args = ["compile", str(ROOT / "samples/hanoi.aalp"), "-o", str(tmp_path), *extra]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == code
    assert message in result.output
    assert "Traceback" not in result.output


def test_compile_into_an_unwritable_place_is_a_clear_error(tmp_path: Path) -> None:
    from aalp.cli import cli
    from click.testing import CliRunner

    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    args = ["compile", str(ROOT / "samples/counting.aalp"), "-o", str(blocker / "out")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert "cannot write to" in result.output and "internal error" not in result.output


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_every_sample_compiles_deterministically_and_ruff_clean(
    name: str, tmp_path: Path, load_sample
) -> None:
    from aalp.api import compile as emit
    from aalp.backends.base import write

    first = emit(load_sample(name))
    second = emit(load_sample(name))
    assert [(f.path, f.text) for f in first.files] == [(f.path, f.text) for f in second.files]
    for item in first.files:
        ast.parse(item.text)
    write(first.files, str(tmp_path))
    ruff_clean(tmp_path)


def test_compile_with_explicit_decisions(tmp_path: Path) -> None:
    from aalp.cli import cli
    from click.testing import CliRunner

    spec = str(ROOT / "samples/counting.aalp")
    good = tmp_path / "good.json"
    good.write_text('{"count.x": 500, "count.model": "gpt4omini", "count.vote": "none"}')
    result = CliRunner().invoke(
        cli, ["compile", spec, "--decisions", str(good), "-o", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert "500 per call, 4 chunks" in result.output  # ceil(2000 / 500)
    partial = tmp_path / "partial.json"
    partial.write_text('{"count.x": 500}')
    args = ["compile", spec, "--decisions", str(partial), "-o", str(tmp_path)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1 and "missing decision 'count.vote'" in result.output

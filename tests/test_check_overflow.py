"""Values too large to compute, and a spec without a task: a positioned diagnostic each, never
an internal error and never a NaN or an infinity passed on as a value.

Each case is a one-line change of a sample, as a user would make it.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from pathlib import Path

import pytest
from aalp import codes
from aalp.checks.loader import load_text
from aalp.checks.values import finite, fmt_number
from aalp.diagnostics import SpecError
from aalp.front.expr import Overflow, evaluate_exact
from aalp.front.parser import parse_expr

SAMPLES = Path(__file__).parent.parent / "samples"


def edited(sample: str, old: str, new: str) -> str:
    text = (SAMPLES / f"{sample}.aalp").read_text(encoding="utf-8")
    assert re.search(old, text, re.M), old
    return re.sub(old, new, text, count=1, flags=re.M)


def errors(text: str, name: str) -> list[tuple[str, int, int, str]]:
    with pytest.raises(SpecError) as err:
        load_text(text, str(SAMPLES / f"{name}.aalp"))
    return [
        (d.code, d.line, d.col, d.message) for d in err.value.diagnostics if d.severity == "error"
    ]


@pytest.mark.parametrize(
    ("sample", "old", "new", "at", "words"),
    [
        # exp(1e6) made the mixture weights NaN and crashed the checker (NaN to int)
        ("voting", r"^param alpha = 0\.6", "param alpha = exp(1e6)", (8, 15), "exp(1e6) overflows"),
        # the part that overflows first: 2^2^2^2^2 = 2^65536, under the outermost power
        ("voting", r"^param alpha = 0\.6", "param alpha = 2^2^2^2^2^2", (8, 17), "2^2^2^2^2 "),
        ("voting", r"^param alpha = 0\.6", "param alpha = 1e400", (8, 15), "1e400 overflows"),
        # 2^1023 is a fine number, but a call reading 20*(2^1023 + 200) tokens is not
        ("debugging", r"^param spec = 40", "param spec = 2^1023", (36, 11), "x*(spec + l)"),
        # 1e308 numbers of 3 tokens each: 3e308 tokens in all
        ("sorting", r"^param n = 1000 ", "param n = 1e308 ", (29, 3), "3e+308 tokens in all"),
        (
            "voting",
            r"items questions = 1 of 200 tokens",
            "items questions = floor(1e308) of 200 tokens",
            (20, 3),
            "2e+310 tokens in all",
        ),
    ],
)
def test_values_too_large_to_compute_are_positioned_errors(
    sample: str, old: str, new: str, at: tuple[int, int], words: str
) -> None:
    got = errors(edited(sample, old, new), sample)
    assert got, "expected an error"
    code, line, col, message = got[0]
    assert (code, line, col) == (codes.OVERFLOW, *at)
    assert words in message and "too large to compute" in message


def test_huge_values_the_model_can_handle_are_accepted() -> None:
    # 2^1023 is a legal parameter: it is finite, and nothing derived from it overflows here
    text = edited("hanoi", r"^param disks = 20", "param disks = 20\nparam big = 2^1023")
    text = text.replace("require success >= target", "require success >= target\n  workers big")
    checked = load_text(text, str(SAMPLES / "hanoi.aalp"))
    assert checked.env["big"] == Fraction(2) ** 1023  # kept exact
    # chunks of up to 1e308 digits: exp(-(x/decay)^2) overflows inside but is 0 at the end
    text = edited("counting", r"^param n = 2000 ", "param n = 1e308 ")
    checked = load_text(text, str(SAMPLES / "counting.aalp"))
    assert all(finite(v) for v in checked.env.values())


def test_a_spec_without_a_task_is_a_positioned_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as err:
        load_text("param a = 1\n", "t.aalp")
    (diag,) = err.value.diagnostics  # the unused-parameter warning is not worth showing
    assert (diag.code, diag.line, diag.col) == (codes.NO_TASK, 1, 1)
    assert diag.span.file == "t.aalp" and diag.hint
    with pytest.raises(SpecError) as err:
        load_text("", "empty.aalp")
    assert [(d.code, d.line) for d in err.value.diagnostics] == [(codes.NO_TASK, 1)]


def test_a_spec_without_a_task_exits_1_from_every_command(tmp_path: Path) -> None:
    from aalp.cli import main

    path = tmp_path / "none.aalp"
    path.write_text("param a = 1\n", encoding="utf-8")
    for command in (["check"], ["explain"], ["compile", "-o", str(tmp_path / "out")]):
        with pytest.raises(SystemExit) as stop:
            main([*command, str(path)])
        assert stop.value.code == 1, command


def test_exact_evaluation_names_the_part_that_overflows() -> None:
    with pytest.raises(Overflow) as err:
        evaluate_exact(parse_expr("1 + 2*exp(1e6)"), {}, finite=True)
    assert str(err.value).startswith("exp(1e6) overflows")
    assert evaluate_exact(parse_expr("exp(-exp(1e6))"), {}, finite=True) == 0
    assert evaluate_exact(parse_expr("exp(1e6)"), {}) == math.inf  # the optimizer's mode
    assert evaluate_exact(parse_expr("2^(1e-1000)"), {}, finite=True) == pytest.approx(1.0)


def test_undefined_values_are_errors_not_nan() -> None:
    from aalp.front.expr import EvalError

    for text in ("exp(1e6) - exp(1e6)", "0*exp(1e6)", "log(exp(1e6), exp(1e6))"):
        with pytest.raises(EvalError):
            evaluate_exact(parse_expr(text), {}, finite=True)


def test_numbers_for_messages_never_fail() -> None:
    assert fmt_number(math.nan) == "undefined"
    assert fmt_number(math.inf) == "infinity"
    assert fmt_number(Fraction(3) * Fraction(10) ** 308) == "3e+308"
    assert fmt_number(-(Fraction(10) ** 5000)) == "-1e+5000"  # beyond Python's int-to-str limit
    assert fmt_number(Fraction(1, 10**400)) == "0"  # below the smallest float: shown as 0

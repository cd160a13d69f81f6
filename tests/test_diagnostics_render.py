"""Rendering of diagnostics, exact evaluation of formulas, and name suggestions."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from aalp.diagnostics import Diagnostic, render, render_all
from aalp.front.expr import EvalError, depth, evaluate, evaluate_exact
from aalp.front.ir import BinOp, Call, Name, Neg, Num, Span
from aalp.suggest import closest, did_you_mean


def diag(line: int, col: int, end_col: int, hint: str = "a hint", end_line: int = 0) -> Diagnostic:
    span = Span("f.aalp", line, col, end_line or line, end_col)
    return Diagnostic("error", "E100", "unknown name 'disk'", span, hint)


def test_render_spans_the_token() -> None:
    source = "param a = 1\nparam b = disk + 1\n"
    assert render(diag(2, 11, 14), source) == (
        "f.aalp:2:11: error[E100]: unknown name 'disk'\n"
        "  2 | param b = disk + 1\n"
        "    |           ^^^^\n"
        "  hint: a hint"
    )


def test_render_expands_tabs_under_the_caret() -> None:
    out = render(diag(1, 3, 3), "\t\tx\n")
    line, carets = out.splitlines()[1:3]
    assert line == "  1 |         x"
    assert carets.index("^") == line.index("x")


def test_render_past_the_end_of_line_and_without_source() -> None:
    out = render(diag(1, 6, 6), "abcd")
    assert out.splitlines()[2] == "    |      ^"
    assert (
        render(diag(1, 6, 6), None)
        == "f.aalp:1:6: error[E100]: unknown name 'disk'\n  hint: a hint"
    )


def test_render_without_position_or_hint() -> None:
    d = Diagnostic("warning", "W401", "parameter 'k' is never used", Span("f", 0, 0, 0, 0))
    assert render(d, "anything") == "f: warning[W401]: parameter 'k' is never used"


def test_render_multiline_span_underlines_to_end_of_line() -> None:
    out = render(diag(1, 5, 3, end_line=2), "abc defg\nhij")
    assert out.splitlines()[2] == "    |     ^^^^"


def test_long_lines_are_windowed_around_the_caret() -> None:
    source = "x" * 500 + "BAD" + "y" * 500
    out = render(diag(1, 501, 503), source).splitlines()
    line, carets = out[1], out[2]
    assert len(line) < 120
    start = carets.index("^")
    assert line[start : start + 3] == "BAD" and carets.count("^") == 3


def test_colour_only_when_asked() -> None:
    assert "\x1b[" not in render(diag(1, 1, 1), "x")
    assert "\x1b[" in render(diag(1, 1, 1), "x", color=True)


def test_render_all_sorts_by_position() -> None:
    text = render_all([diag(2, 1, 1, "second"), diag(1, 1, 1, "first")], "a\nb")
    assert text.index("first") < text.index("second")
    assert "\n\n" in text


# -- exact evaluation ---------------------------------------------------------------------------


def n(v: object) -> Num:
    return Num(Fraction(v))


def test_exact_arithmetic() -> None:
    third = BinOp("/", n(1), n(3))
    assert evaluate_exact(BinOp("+", third, third), {}) == Fraction(2, 3)
    assert evaluate_exact(BinOp("^", n(2), n(-2)), {}) == Fraction(1, 4)
    assert evaluate_exact(Call("ceil", (BinOp("/", n(7), n(2)),)), {}) == 4
    assert evaluate_exact(Call("sqrt", (n(16),)), {}) == 4
    assert evaluate_exact(Call("max", (n(1), Name("a"), n(2))), {"a": Fraction(5)}) == 5


def test_inexact_functions_fall_back_to_float() -> None:
    got = evaluate_exact(Call("log", (n(8), n(2))), {})
    assert isinstance(got, float) and got == pytest.approx(3.0)


def test_huge_powers_fall_back_to_float_and_overflow_to_infinity() -> None:
    assert evaluate_exact(BinOp("^", n(2), n(64)), {}) == 2**64  # exact
    got = evaluate_exact(BinOp("^", n(2), n(100000)), {})
    assert got == math.inf
    tiny = evaluate_exact(BinOp("^", n(Fraction(9, 10)), n(10**6)), {})
    assert tiny == 0.0
    assert evaluate(Num(Fraction(10) ** 999), {}) == math.inf


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        (BinOp("/", n(1), n(0)), "division by zero"),
        (Name("q"), "unknown name 'q'"),
        (Call("log", (n(0),)), "log() is undefined at 0"),
        (BinOp("^", n(-8), n(Fraction(1, 3))), "not a real number"),
        (BinOp("^", n(0), n(-1)), "division by zero"),
        (Call("ceil", (n(1), n(2))), "takes 1..1 arguments"),
    ],
)
def test_evaluation_errors(expr: object, message: str) -> None:
    with pytest.raises(EvalError, match=message.replace("(", r"\(").replace(")", r"\)")):
        evaluate_exact(expr, {})


def test_deep_formulas_evaluate_without_recursion() -> None:
    expr = n(1)
    for _ in range(20000):
        expr = Neg(BinOp("+", expr, n(1)))
    assert depth(expr) == 40001
    # each level negates (e + 1): the value alternates; computed by hand in closed form
    value = Fraction(1)
    for _ in range(20000):
        value = -(value + 1)
    assert evaluate_exact(expr, {}) == value


# -- suggestions --------------------------------------------------------------------------------


def test_closest_prefers_case_slips_and_near_misses() -> None:
    assert closest("GPT41mini", ["gpt41mini", "gpt4"]) == "gpt41mini"
    assert closest("dollar", ["dollars", "calls", "cost"]) == "dollars"
    assert closest("banana", ["dollars", "calls"]) is None


def test_did_you_mean_lists_known_names_when_nothing_is_close() -> None:
    assert did_you_mean("zzz", ["b", "a"], "model") == "known models: 'a', 'b'"
    many = [f"name{i}" for i in range(12)]
    assert did_you_mean("zzz", many).endswith(", ...")

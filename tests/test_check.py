"""The check pass: values after overrides, every problem collected, ranges at both ends of x."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from aalp import codes
from aalp.checks.checker import Checked, check
from aalp.checks.loader import load, load_text
from aalp.checks.values import fmt_number
from aalp.diagnostics import SpecError, UsageError
from aalp.front.ir import (
    Capability,
    ChainStage,
    Data,
    Granularity,
    Model,
    Name,
    Num,
    Op,
    Outcome,
    Param,
    Spec,
    Task,
)

COUNTING = """
param n = 1000
param p = 0.999
model small {
  size 1
  context 128k
  price in 0.40 out 1.60 per Mtok
  can count
}
task counting {
  items digits = n of 1 tokens
  op count(x of digits) on small {
    reads 50 + x tokens
    writes 5 tokens
    success p^x
  }
  map count over digits
  combine sum
  require success >= 0.9
  minimize cost
}
"""


def run(text: str, **overrides: str) -> Checked:
    return load_text(text, "t.aalp", overrides)


def problems(text: str, **overrides: str) -> list[tuple[str, int]]:
    """(code, line) of every diagnostic, errors and warnings alike."""
    try:
        checked = run(text, **overrides)
    except SpecError as err:
        return [(d.code, d.line) for d in err.diagnostics]
    return [(d.code, d.line) for d in checked.diagnostics]


def with_(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


# -- values -------------------------------------------------------------------------------------


def test_env_is_exact_and_includes_data() -> None:
    checked = run(COUNTING)
    assert checked.env == {"n": 1000, "p": Fraction(999, 1000), "digits": 1000}
    assert all(isinstance(v, Fraction) for v in checked.env.values())
    assert checked.diagnostics == ()


def test_overrides_are_formulas_with_units() -> None:
    checked = run(COUNTING, n="1M", p="1 - 1/2^10")
    assert checked.env["n"] == 1_000_000
    assert checked.env["digits"] == 1_000_000
    assert checked.env["p"] == Fraction(1023, 1024)


def test_derived_sizes_follow_overrides() -> None:
    text = COUNTING.replace("param n = 1000", "param d = 20\nparam n = 2^d - 1")
    assert run(text).env["n"] == 1048575  # 2^20 - 1
    assert run(text, d="3").env["digits"] == 7


def test_override_may_use_earlier_parameters_only() -> None:
    text = COUNTING.replace("param n = 1000", "param k = 7\nparam n = 1000")
    assert run(text, n="k * 100").env["n"] == 700
    with pytest.raises(UsageError) as err:
        run(text, k="n")
    assert [d.code for d in err.value.diagnostics] == [codes.BAD_OVERRIDE]


def test_unknown_override_is_a_usage_error_with_suggestion() -> None:
    with pytest.raises(UsageError) as err:
        run(COUNTING, nn="5")
    (diag,) = err.value.diagnostics
    assert diag.code == codes.UNKNOWN_OVERRIDE
    assert "'nn'" in diag.message and diag.hint == "did you mean 'n'?"


def test_override_that_is_not_a_formula() -> None:
    with pytest.raises(UsageError) as err:
        run(COUNTING, n="3 +")
    assert err.value.diagnostics[0].code == codes.BAD_OVERRIDE


def test_huge_sizes_stay_exact() -> None:
    text = COUNTING.replace("param n = 1000", "param n = 2^64 - 1")
    assert run(text).env["n"] == 2**64 - 1


@pytest.mark.parametrize(
    ("value", "text"),
    [(Fraction(1048575), "1048575"), (Fraction(1, 4), "0.25"), (1.5e30, "1.5e+30"), (3.0, "3")],
)
def test_fmt_number(value: Fraction | float, text: str) -> None:
    assert fmt_number(value) == text


# -- ranges -------------------------------------------------------------------------------------


def test_probability_checked_at_both_ends_of_x() -> None:
    text = with_(COUNTING, "success p^x", "success p - 0.499 + x / 1000")
    # at x = n = 1000 the success is 1.5; with n = 400 it is at most 0.9
    assert problems(text) == [(codes.NOT_PROBABILITY, 15)]
    assert problems(text, n="400") == []
    # and the low end: 1.2 - x/1000 is 1.199 at x = 1
    low = with_(COUNTING, "success p^x", "success 1.2 - x / 1000")
    with pytest.raises(SpecError) as err:
        run(low)
    assert "at x = 1;" in err.value.diagnostics[0].message


def test_upto_narrows_the_range() -> None:
    text = with_(COUNTING, "success p^x", "success p - 0.499 + x / 1000")
    text = with_(text, "(x of digits)", "(x of digits upto 500)")
    assert problems(text) == []


def test_reduce_op_x_ranges_over_the_reduced_data() -> None:
    text = with_(COUNTING, "  combine sum\n", "  reduce merge fanin 2\n")
    text = with_(text, "can count", "can count, merge")
    text = with_(
        text,
        "  map count",
        "  op merge on small {\n    reads 10 * x\n    writes 5\n    success 1 - x / 2000\n  }\n"
        "  map count",
    )
    assert problems(text) == []
    # 1 - x/2000 is negative at x = n = 3000
    assert problems(text, n="3000") == [(codes.NOT_PROBABILITY, 20)]


def test_all_errors_are_collected() -> None:
    text = with_(COUNTING, "size 1", "size 0")
    text = with_(text, "on small", "on smal")
    text = with_(text, "minimize cost", "minimize cost\n  pin count.votes = 0")
    got = sorted(code for code, _ in problems(text))
    assert got == sorted([codes.NOT_POSITIVE, codes.UNKNOWN_MODEL, codes.PIN_OUT_OF_RANGE])


def test_pinned_x_at_the_largest_value_is_allowed() -> None:
    text = with_(COUNTING, "minimize cost", "minimize cost\n  baseline whole { count.x = n }")
    assert problems(text) == []


@pytest.mark.parametrize(("n", "warns"), [(127945, False), (127946, True)])
def test_baseline_overflow_boundary(n: int, warns: bool) -> None:
    # one call at x = n reads 50 + n and writes 5: it fits 128k = 128000 exactly at n = 127945
    text = with_(COUNTING, "minimize cost", "minimize cost\n  baseline whole { count.x = n }")
    checked = run(text, n=str(n))
    assert [d.code for d in checked.diagnostics] == ([codes.BASELINE_OVERFLOW] if warns else [])


def test_baseline_overflow_with_full_history() -> None:
    # a chain of s steps, each call reads 100 and writes 10; with history full the last call
    # also reads the (s - 1) * 110 tokens of the earlier calls: 110 * s <= 8000 iff s <= 72
    text = """
param s0 = 72
model m { size 1 context 8000 price in 1 out 1 can step }
task t {
  steps s = s0
  op step on m { reads 100 writes 10 success 0.99 }
  chain step over s
  minimize cost
  baseline chat { step.history = full }
}
"""
    assert run(text).diagnostics == ()
    (warning,) = run(text, s0="73").diagnostics
    assert warning.code == codes.BASELINE_OVERFLOW
    assert "8030 tokens" in warning.message  # 100 + 72 * 110 + 10


def test_unused_warnings_only_without_errors() -> None:
    text = with_(COUNTING, "param n = 1000", "param n = 1000\nparam spare = 1")
    assert problems(text) == [(codes.UNUSED_PARAM, 3)]
    broken = with_(text, "size 1", "size -1")
    assert problems(broken) == [(codes.NOT_POSITIVE, 6)]


def test_missing_objective_is_a_note() -> None:
    checked = run(COUNTING.replace("  minimize cost\n", ""))
    (note,) = checked.diagnostics
    assert (note.severity, note.code) == ("note", codes.DEFAULT_OBJECTIVE)


def test_routed_capability_with_a_route_is_fine() -> None:
    text = """
model big { size 8 context 1M price in 1 out 4 can solve, classify }
model spec { size 1 context 1M price in 0.1 out 0.4 can solve if routed }
task t {
  items q = 10 of 100 tokens
  op classify on big { reads 20 writes 1 success 0.99 }
  op solve on big, spec { reads 100 writes 10 success 0.95 }
  map solve over q
  route solve by classify
  minimize cost
}
"""
    assert run(text).diagnostics == ()
    unrouted = text.replace("  route solve by classify\n", "")
    assert (codes.ROUTED_WITHOUT_ROUTE, 3) in problems(unrouted)


def test_verifier_op_counts_as_used() -> None:
    text = with_(COUNTING, "can count", "can count, verify")
    text = with_(
        text,
        "  map count",
        "  op verify on small { reads 10 writes 1 success 0.9 }\n  map count",
    )
    text = with_(text, "minimize cost", "allow retry max 3 until verify on count\n  minimize cost")
    assert problems(text) == []


# -- IR built by hand (no parser, no spans) ------------------------------------------------------


def _num(v: object) -> Num:
    return Num(Fraction(v))


def test_hand_built_ir_without_spans() -> None:
    spec = Spec(
        params=(Param("disks", _num(10)),),
        models=(Model("m", _num(1), _num(1000), _num(0), _num(0), (Capability("move"),)),),
        tasks=(
            Task(
                "hanoi",
                data=(Data("s", "steps", _num(1023)),),
                ops=(
                    Op(
                        "move",
                        Granularity("x", "s"),
                        ("m",),
                        _num(600),
                        Name("x"),
                        (Outcome(_num(1), Name("q")),),
                    ),
                ),
                stages=(ChainStage(("move",), "s"),),
            ),
        ),
        file="hand.aalp",
    )
    with pytest.raises(SpecError) as err:
        check(spec)
    got = [(d.code, d.span.file, d.line) for d in err.value.diagnostics if d.severity == "error"]
    # the unknown 'q' has no position: the diagnostic names the file, line 0
    assert got == [(codes.UNKNOWN_NAME, "hand.aalp", 0)]
    assert err.value.diagnostics[0].hint == "known names: 'disks', 's', 'x'"


def test_task_pins_that_overflow_the_context_warn() -> None:
    text = with_(COUNTING, "minimize cost", "minimize cost\n  pin count.x = n")
    assert run(text, n="127945").diagnostics == ()
    (warning,) = run(text, n="127946").diagnostics
    assert warning.code == codes.BASELINE_OVERFLOW
    assert warning.message.startswith("the task's pins: a call of 'count' with x = 127946")


def test_prompt_files_resolve_relative_to_the_spec(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec_dir = tmp_path / "specs"
    (spec_dir / "prompts").mkdir(parents=True)
    text = with_(
        COUNTING, "    writes 5 tokens\n", '    writes 5 tokens\n    prompt file "prompts/c.txt"\n'
    )
    spec = spec_dir / "c.aalp"
    spec.write_text(text)
    (spec_dir / "prompts" / "c.txt").write_text("Count the digits.")
    monkeypatch.chdir(tmp_path)  # not the spec's directory
    assert load(spec).diagnostics == ()
    (spec_dir / "prompts" / "c.txt").unlink()
    with pytest.raises(SpecError) as err:
        load(spec)
    (diag,) = err.value.diagnostics
    assert (diag.code, diag.line, diag.col) == (codes.MISSING_PROMPT, 15, 5)
    # text without a real file name has no folder: its prompt files are refused, never read
    # from the current directory, unless the folder is given
    with pytest.raises(SpecError) as err:
        load_text(text, "<stdin>")
    (diag,) = err.value.diagnostics
    assert (diag.code, diag.line, diag.col) == (codes.NO_PROMPT_FOLDER, 15, 5)
    (spec_dir / "prompts" / "c.txt").write_text("Count the digits.")
    assert load_text(text, "<stdin>", prompt_dir=spec_dir).prompt_dir == spec_dir


def test_missing_prompts_are_reported_with_the_other_errors(tmp_path: Path) -> None:
    prompt = '    prompt file "nowhere.txt"\n'
    text = with_(COUNTING, "    writes 5 tokens\n", "    writes 5 tokens\n" + prompt)
    text = with_(text, "size 1", "size 0")
    spec = tmp_path / "c.aalp"
    spec.write_text(text)
    with pytest.raises(SpecError) as err:
        load(spec)
    assert [d.code for d in err.value.diagnostics] == [codes.NOT_POSITIVE, codes.MISSING_PROMPT]

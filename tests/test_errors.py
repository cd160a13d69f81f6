"""One exception hierarchy: every error aalp reports to its user is an ``AalpError`` carrying
its diagnostics, each type with its own code, and still the kind of exception it was before
(so ``except ValueError`` and the like keep working)."""

from __future__ import annotations

import pickle

import pytest
from aalp import codes
from aalp.backends.registry import UnknownTarget, get
from aalp.backends.view import PlanError
from aalp.checks.loader import FileProblem, PromptError
from aalp.diagnostics import AalpError, Diagnostic, SpecError, UsageError, render
from aalp.explore.controls import SettingsError
from aalp.front.expr import EvalError, Overflow, evaluate_exact
from aalp.front.ir import NO_SPAN, Name, Span
from aalp.model.montecarlo import SimulationError
from aalp.plan.plan import DecisionError
from aalp.sim.core import SimError

# each type as its raisers make it, its code, and what it was an instance of before
MADE = [
    (lambda: EvalError("division by zero", Name("n")), codes.EVAL_FAILED, ValueError),
    (lambda: Overflow("exp(1e6) overflows", Name("n")), codes.OVERFLOW, EvalError),
    (lambda: DecisionError("missing decision 'a.x'", "a.x"), codes.BAD_DECISION, ValueError),
    (lambda: SimulationError("too many decisions"), codes.CANNOT_SIMULATE, ValueError),
    (lambda: PlanError("combine 'tally' has no code"), codes.CANNOT_EMIT, ValueError),
    (lambda: UnknownTarget("unknown target 'x'"), codes.UNKNOWN_TARGET, LookupError),
    (lambda: SimError(400, "no task named 'x'"), codes.SIM_REFUSED, Exception),
    (lambda: SettingsError("'task' must be a string"), codes.BAD_SETTING, ValueError),
    (lambda: FileProblem("missing", "no such file"), codes.UNREADABLE_FILE, Exception),
    (lambda: FileProblem("too large", "it is too large"), codes.FILE_TOO_LARGE, Exception),
    (lambda: PromptError(codes.PROMPT_OUTSIDE, "is absolute", ""), codes.PROMPT_OUTSIDE, Exception),
]  # fmt: skip


@pytest.mark.parametrize(("make", "code", "before"), MADE)
def test_each_error_carries_one_diagnostic_with_its_code(make, code, before) -> None:
    err = make()
    assert isinstance(err, AalpError) and isinstance(err, before)
    [diag] = err.diagnostics
    assert (diag.severity, diag.code, diag.message) == ("error", code, str(err))


@pytest.mark.parametrize(("make", "code", "before"), MADE)
def test_errors_cross_a_process_boundary_whole(make, code, before) -> None:
    err = make()
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is type(err) and str(again) == str(err)
    assert again.diagnostics == err.diagnostics and vars(again) == vars(err)


def test_spec_errors_are_their_diagnostics() -> None:
    span = Span("f.aalp", 2, 3, 2, 5)
    diags = [
        Diagnostic("error", codes.UNKNOWN_MODEL, "unknown model 'm'", span),
        Diagnostic("warning", codes.UNUSED_PARAM, "parameter 'n' is never used", span),
        Diagnostic("error", codes.NOT_POSITIVE, "the size is 0", span),
    ]
    err = UsageError(diags)
    assert isinstance(err, SpecError) and err.diagnostics is diags
    assert str(err) == "unknown model 'm'; the size is 0"
    assert pickle.loads(pickle.dumps(err)).diagnostics == diags


def test_an_eval_error_points_at_the_part_of_the_formula_at_fault() -> None:
    from aalp.front.parser import parse_expr

    expr = parse_expr("1 + 1/(n - n)", "f.aalp")
    with pytest.raises(EvalError) as err:
        evaluate_exact(expr, {"n": 3})
    [diag] = err.value.diagnostics
    assert diag.code == codes.EVAL_FAILED and diag.span.file == "f.aalp" and diag.span.col == 5


def test_an_error_made_of_a_message_needs_a_code() -> None:
    with pytest.raises(TypeError):
        AalpError("what went wrong?")
    err = AalpError("no wings", code=codes.BAD_OPTION, hint="grow some")
    assert err.diagnostics == [
        Diagnostic("error", codes.BAD_OPTION, "no wings", NO_SPAN, "grow some")
    ]


def test_a_diagnostic_about_no_file_renders_without_a_place() -> None:
    diag = Diagnostic("error", codes.BAD_SETTING, "'task' must be a string", NO_SPAN, "a name")
    assert render(diag) == f"error[{codes.BAD_SETTING}]: 'task' must be a string\n  hint: a name"


def test_the_registry_raises_an_unknown_target_with_a_suggestion() -> None:
    with pytest.raises(AalpError) as err:
        get("pyhton")
    assert err.value.diagnostics[0].code == codes.UNKNOWN_TARGET
    assert "did you mean 'python'?" in str(err.value)


def test_the_explorer_answers_every_aalp_error_with_its_diagnostics() -> None:
    from aalp.explore import api

    def bad_decision() -> dict:
        raise DecisionError("missing decision 'move.x'", "move.x")

    answer = api.guarded(bad_decision, None)
    assert not answer["ok"]
    [diag] = answer["diagnostics"]
    assert diag["code"] == codes.BAD_DECISION
    assert diag["rendered"] == f"error[{codes.BAD_DECISION}]: missing decision 'move.x'"

    def bad_setting() -> dict:
        raise SettingsError("bad")

    # a page setting's diagnostic is what it has always been
    assert api.guarded(bad_setting, None)["diagnostics"] == [api.problem("bad")]

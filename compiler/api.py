"""The public API: parse, load, check, plan, optimize, explain and compile a spec.

Every step is one function over the previous step's result; the command line and the explorer
use only these (docs/api.md has a runnable example of each).

>>> import aalp
>>> checked = aalp.load_text('''
... model m { size 1  context 1M  price in 1 out 2 per Mtok  can count }
... task t {
...   items digits = 100 of 1 tokens
...   op count(x of digits) on m { reads 10 + x tokens  writes 2 tokens  success 0.999 }
...   map count over digits
...   combine sum
...   require success >= 0.9
... }''')
>>> result = aalp.optimize(checked)
>>> result.feasible, result.plan.plan.stages[0].chunks
(True, 1)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aalp.backends.emit import Compiled, Resolved
    from aalp.checks.checker import Checked
    from aalp.explainer.schema import Report
    from aalp.front.ir import Spec
    from aalp.optimizer.types import OptimizeResult
    from aalp.plan.plan import Plan


def parse(text: str, file: str = "<spec>") -> Spec:
    """The IR of a spec's text (syntax only); ``SpecError`` with every syntax diagnostic."""
    from aalp.front.parser import parse as parse_text

    return parse_text(text, file)


def check(spec: Spec, overrides: Mapping[str, object] | None = None) -> Checked:
    """A parsed spec checked, with ``-D`` ``overrides``; ``SpecError`` with the diagnostics."""
    from aalp.checks.checker import check as check_spec

    return check_spec(spec, overrides)


def load(path: str | Path, overrides: Mapping[str, object] | None = None) -> Checked:
    """Read, parse and check the spec file at ``path`` (prompt files next to it)."""
    from aalp.checks.loader import load as load_file

    return load_file(path, overrides)


def load_text(
    text: str, file: str = "<spec>", overrides: Mapping[str, object] | None = None
) -> Checked:
    """Parse and check a spec's text (``file`` names it in diagnostics)."""
    from aalp.checks.loader import load_text as load_spec

    return load_spec(text, file, overrides)


def build_plan(checked: Checked, decisions: Mapping[str, Any], task: str | None = None) -> Plan:
    """The typed plan of ``task`` (default: the first) under ``decisions``."""
    from aalp.plan.build import build_plan as make

    return make(checked, task, decisions)


def optimize(checked: Checked, task: str | None = None, **options: Any) -> OptimizeResult:
    """The optimum plan (``aalp.optimizer.driver.optimize`` documents ``options``)."""
    from aalp.optimizer.driver import optimize as run

    return run(checked, task, **options)


def explain(
    checked: Checked, result: OptimizeResult | None = None, *, growth: bool = True, **options: Any
) -> Report:
    """The explain report of an optimized plan (optimizes the first task when ``result`` is
    None): typed dataclasses, ``aalp.explainer.schema.plain`` makes them JSON data and
    ``aalp.explainer.render.render_text`` prints them."""
    from aalp.explainer.report import report

    if result is None:
        result = optimize(checked)
    return report(checked, result, growth=growth, **options)


def resolve(
    checked: Checked,
    task: str | None = None,
    pins: Sequence[str] = (),
    decisions: Mapping[str, Any] | None = None,
) -> Resolved:
    """The plan to emit: ``decisions`` plus ``pins`` if given, else the optimizer's plan
    under ``pins``; each with the cost model's evaluation. ``PlanError`` for bad input."""
    from aalp.backends.emit import Resolved
    from aalp.backends.view import PlanError
    from aalp.diagnostics import SpecError
    from aalp.model.cost import evaluate
    from aalp.optimizer.driver import optimize as run
    from aalp.plan.plan import DecisionError
    from aalp.plan.space import build, parse_pins

    chosen_task = _task(checked, task)
    try:
        extra = parse_pins(build(checked, chosen_task.name), list(pins), checked.env)
    except ValueError as err:  # a pin that is not OP.FIELD=VALUE
        raise PlanError(f"--pin: {err}") from None
    except SpecError as err:  # keeps the diagnostics' own codes
        raise PlanError(err.diagnostics) from None
    if decisions is None:
        try:
            result = run(
                checked, chosen_task.name, extra_pins=extra, frontier=False, baselines=False
            )
        except SpecError as err:
            raise PlanError(err.diagnostics) from None
        if result.plan is None:
            raise PlanError("the optimizer found no plan: " + "; ".join(result.why))
        chosen = dict(result.plan.decisions)
        return Resolved(
            chosen_task, chosen, result.plan.evaluation, result.feasible, tuple(result.why)
        )
    chosen = {**decisions, **extra}
    try:
        evaluation = evaluate(checked, chosen_task, chosen)
    except DecisionError as err:
        raise PlanError(f"the decisions are incomplete: {err}", code=err.code) from None
    return Resolved(
        chosen_task, chosen, evaluation, bool(evaluation.feasible), tuple(evaluation.problems)
    )


def compile(
    checked: Checked,
    target: str = "python",
    task: str | None = None,
    pins: Sequence[str] = (),
    decisions: Mapping[str, Any] | None = None,
) -> Compiled:
    """Runnable code of the plan (``resolve``) for ``target`` (``aalp targets`` lists them):
    ``Compiled.files`` are the files, ``Compiled.view`` what they were made of."""
    from aalp.backends.emit import emit_plan

    return emit_plan(checked, resolve(checked, task, pins, decisions), target)


def _task(checked: Checked, name: str | None) -> Any:
    from aalp.backends.view import PlanError

    tasks = checked.spec.tasks
    if not tasks:
        raise PlanError("the spec has no task")
    if name is None:
        return tasks[0]
    for t in tasks:
        if t.name == name:
            return t
    from aalp.suggest import did_you_mean

    hint = did_you_mean(name, [t.name for t in tasks], "task")
    raise PlanError(f"no task named '{name}': {hint}")

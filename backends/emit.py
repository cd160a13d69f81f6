"""The public verb of the backends: a checked spec, a target and optional pins in, files out.

Decisions come from the optimizer (``aalp.optimize.driver``), with ``--pin`` pins honoured; an
explicit ``decisions`` mapping (``"op.field" -> value``) bypasses it. The prediction in every
header comes from the cost model's evaluation of exactly those decisions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aalp.front import ir

from .base import Emitted
from .predict import prediction
from .view import PlanError, View, build_view


@dataclass(frozen=True)
class Resolved:
    """The decisions of the plan to emit and the cost model's evaluation of them."""

    task: ir.Task
    decisions: dict[str, Any]
    evaluation: Any
    feasible: bool = True
    why: tuple[str, ...] = ()


@dataclass(frozen=True)
class Compiled:
    """What ``emit`` returns: the view model, the files and any warnings of the target."""

    view: View
    files: list[Emitted]
    warnings: list[str]
    resolved: Resolved


def _task(checked: Any, task_name: str | None) -> ir.Task:
    tasks = checked.spec.tasks
    if not tasks:
        raise PlanError("the spec has no task")
    if task_name is None:
        return tasks[0]
    for task in tasks:
        if task.name == task_name:
            return task
    from aalp.suggest import did_you_mean

    raise PlanError(
        f"no task named '{task_name}': {did_you_mean(task_name, [t.name for t in tasks], 'task')}"
    )


def resolve(
    checked: Any,
    task_name: str | None = None,
    pins: Sequence[str] = (),
    decisions: Mapping[str, Any] | None = None,
) -> Resolved:
    """The plan's decisions: ``decisions`` plus ``pins`` if given, else the optimizer's plan
    under ``pins``; each evaluated by the cost model."""
    from aalp.diagnostics import SpecError

    task = _task(checked, task_name)
    from aalp.optimize.driver import optimize, parse_pins
    from aalp.plan.space import build

    try:
        extra = parse_pins(build(checked, task.name), list(pins), checked.env)
    except ValueError as err:  # a pin that is not OP.FIELD=VALUE
        raise PlanError(f"--pin: {err}") from None
    except SpecError as err:
        raise PlanError("; ".join(d.message for d in err.diagnostics)) from None
    if decisions is None:
        try:
            result = optimize(checked, task.name, extra_pins=extra, frontier=False, baselines=False)
        except SpecError as err:
            raise PlanError("; ".join(d.message for d in err.diagnostics)) from None
        if result.plan is None:
            raise PlanError("the optimizer found no plan: " + "; ".join(result.why))
        chosen = dict(result.plan.decisions)
        return Resolved(task, chosen, result.plan.evaluation, result.feasible, tuple(result.why))
    chosen = {**decisions, **extra}
    from aalp.model.cost import DecisionError, evaluate

    try:
        evaluation = evaluate(checked, task, chosen)
    except DecisionError as err:
        raise PlanError(f"the decisions are incomplete: {err}") from None
    return Resolved(task, chosen, evaluation, bool(evaluation.feasible), tuple(evaluation.problems))


def emit(
    checked: Any,
    target: str = "python",
    task_name: str | None = None,
    pins: Sequence[str] = (),
    decisions: Mapping[str, Any] | None = None,
) -> Compiled:
    """Compile ``task_name`` of ``checked`` for ``target``: resolve the plan, build the view,
    render the files. Raises ``PlanError`` (or ``registry.UnknownTarget``) for bad input."""
    from .registry import get

    backend = get(target)
    resolved = resolve(checked, task_name, pins, decisions)
    view = plan_view(checked, resolved, target)
    files = backend.emit(view)
    return Compiled(view, files, backend.warnings(view), resolved)


def plan_view(checked: Any, resolved: Resolved, target: str = "python") -> View:
    """The view model of a resolved plan, with its prediction."""
    view = build_view(checked, resolved.task, resolved.decisions, target=target)
    view["prediction"] = prediction(view, resolved.evaluation)
    assumptions = getattr(resolved.evaluation, "assumptions", ()) or ()
    view["assumptions"] = [str(a) for a in assumptions]
    return view

"""The verb of the backends: a resolved plan and a target in, files out.

A ``Resolved`` is a ``Plan`` with the cost model's evaluation of it (``aalp.compile`` makes one,
from the optimizer or from given decisions); the prediction in every header comes from that
evaluation. Nothing here optimizes or evaluates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aalp.front import ir
from aalp.model.metrics import Evaluation
from aalp.plan.plan import Plan

from .base import Emitted
from .predict import prediction
from .refusals import repeat_features
from .view import PlanError, View, build_view


@dataclass(frozen=True)
class Resolved:
    """The decisions of the plan to emit and the cost model's evaluation of them."""

    task: ir.Task
    decisions: dict[str, Any]
    evaluation: Evaluation
    feasible: bool = True
    why: tuple[str, ...] = ()

    @property
    def plan(self) -> Plan:
        plan = self.evaluation.plan
        if plan is None:
            raise PlanError("the evaluation carries no plan")
        return plan


@dataclass(frozen=True)
class Compiled:
    """What ``emit`` returns: the view model, the files and any warnings of the target."""

    view: View
    files: list[Emitted]
    warnings: list[str]
    resolved: Resolved


def emit_plan(checked: Any, resolved: Resolved, target: str = "python") -> Compiled:
    """The files of ``resolved`` (a plan and its evaluation) for ``target``. Raises
    ``PlanError`` (or ``registry.UnknownTarget``) for a plan that cannot be emitted."""
    from .registry import get

    backend = get(target)
    view = plan_view(checked, resolved, target)
    for _, message in [] if getattr(backend, "runs_repeat", False) else repeat_features(view):
        raise PlanError(f"target {target}: {message}")  # before the target's own refusals
    files = backend.emit(view)
    return Compiled(view, files, backend.warnings(view), resolved)


def plan_view(checked: Any, resolved: Resolved, target: str = "python") -> View:
    """The view model of a resolved plan, with its prediction."""
    view = build_view(checked, resolved.task, resolved.plan, target=target)
    view["prediction"] = prediction(view, resolved.evaluation)
    assumptions = getattr(resolved.evaluation, "assumptions", ()) or ()
    view["assumptions"] = [str(a) for a in assumptions]
    return view

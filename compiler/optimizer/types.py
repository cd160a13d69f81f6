"""What the optimizer returns: solutions (plans with their evaluation), frontier points,
baselines and the whole result."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aalp.plan.plan import Plan
from aalp.plan.space import Value


@dataclass(frozen=True)
class Requirement:
    """``require metric cmp bound`` with the bound evaluated; ``exact`` keeps it exact where
    the spec's formula is (a success target of 1 − 1e-18 is not 1)."""

    metric: str
    cmp: str
    bound: float
    exact: Any = None
    # accuracy and errors: the least accuracy they ask (``aalp.model.items.accuracy_floor``)
    floor: Any = None

    @property
    def reliability(self) -> bool:
        """True for a bound on success, accuracy or errors (the measure the optimizer carries
        as ln(success) of its points), False for a bound on a cost or a latency."""
        return self.metric in ("success", "accuracy", "errors")

    def holds(self, value: float) -> bool:
        return value >= self.bound if self.cmp == ">=" else value <= self.bound

    def met(self, evaluation: Any) -> bool:
        """Whether an evaluated plan meets this bound (success, accuracy and errors decided
        on the small side of their logs, ``aalp.model.reliability.success_meets``)."""
        from aalp.model.reliability import success_meets

        if self.floor is not None:
            return success_meets(evaluation.log_accuracy, self.floor)
        if self.metric == "success" and self.cmp == ">=":
            bound = self.exact if self.exact is not None else self.bound
            return success_meets(evaluation.log_success, bound)
        return self.holds(evaluation.value(self.metric))

    def __str__(self) -> str:
        return f"{self.metric} {self.cmp} {self.bound:.10g}"


@dataclass(frozen=True)
class Solution:
    """A fully decided plan with its evaluation by the cost model (``plan`` is the typed
    ``aalp.plan.plan.Plan`` the evaluation was made of)."""

    decisions: Mapping[str, Value]
    evaluation: Any  # aalp.model.cost.Evaluation
    metrics: Mapping[str, float]
    success: float
    valid: bool
    meets: bool
    problems: tuple[str, ...] = ()

    def value(self, metric: str) -> float:
        if metric in ("accuracy", "errors"):
            return float(self.evaluation.value(metric))
        return self.success if metric == "success" else self.metrics[metric]

    @property
    def plan(self) -> Plan:
        plan = getattr(self.evaluation, "plan", None)
        if plan is None:
            raise ValueError("this solution was evaluated without a plan")
        return plan


@dataclass(frozen=True)
class FrontierPoint:
    decisions: Mapping[str, Value]
    metrics: Mapping[str, float]
    success: float


@dataclass(frozen=True)
class BaselineResult:
    """A baseline: its pins, the plan they give (unpinned decisions at their best), and
    ``ratio`` = baseline objective / plan objective (None when undefined)."""

    name: str
    pins: Mapping[str, Value]
    plan: Solution | None
    ratio: float | None


@dataclass(frozen=True)
class OptimizeResult:
    task: str
    objective: tuple[str, str]  # (sense, metric)
    requirements: tuple[Requirement, ...]
    feasible: bool
    plan: Solution | None  # the optimum; when infeasible, the plan of best achievable success
    why: tuple[str, ...]  # why infeasible (empty when feasible)
    frontier_success: tuple[FrontierPoint, ...]  # objective metric vs success
    frontier_latency: tuple[FrontierPoint, ...]  # objective metric vs latency (meeting success)
    frontier_metric: str
    baselines: tuple[BaselineResult, ...]
    notes: tuple[str, ...] = ()
    evaluations: int = 0
    pins: Mapping[str, Value] = field(default_factory=dict)
    proven: bool = True  # False when a deadline cut a search short (see notes)

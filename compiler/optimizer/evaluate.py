"""The optimizer's view of ``model.cost.evaluate``: totals and per-stage numbers as flat tuples.

The cost model is the single source of truth; this module only reads its ``Evaluation`` into
the shape the optimizer's inner loops want (metrics in ``METRIC_KEYS`` order), and caches it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aalp.optimizer.pareto import METRIC_KEYS

Value = int | str


@dataclass(frozen=True)
class StageView:
    """One stage of an evaluated plan."""

    valid: bool
    metrics: tuple[float, ...]
    log_success: float


@dataclass(frozen=True)
class View:
    """A whole evaluated plan: ``valid`` when every call fits its model and every booster
    converges (requirements are the optimizer's business, not the cost model's)."""

    valid: bool
    reasons: tuple[str, ...]
    metrics: tuple[float, ...]
    success: float
    stages: tuple[StageView, ...]
    evaluation: Any


def _metrics(obj: Any) -> tuple[float, ...]:
    m = obj.metrics
    get = m.get if isinstance(m, Mapping) else (lambda k, d=None: getattr(m, k, d))
    out = []
    for k in METRIC_KEYS:
        v = get(k, None)
        out.append(math.inf if v is None else float(v))
    return tuple(out)


def view(evaluation: Any) -> View:
    """Read an ``aalp.model.cost.Evaluation``."""
    # The cost model reports validity for the whole plan; a stage is valid when the plan is.
    ok = bool(evaluation.feasible)
    stages = tuple(StageView(ok, _metrics(s), float(s.log_success)) for s in evaluation.stages)
    return View(
        ok,
        tuple(str(r) for r in evaluation.problems),
        _metrics(evaluation),
        float(evaluation.success),
        stages,
        evaluation,
    )


class Evaluator:
    """Evaluates plans of one task through the cost model, caching by decisions.

    ``stages`` evaluates only some stages (what a block's options need); ``__call__`` the
    whole plan. Both go through ``aalp.model.cost`` with one prepared context.
    """

    def __init__(self, checked: Any, task: Any):
        from aalp.model import cost

        self._cost = cost
        self.ctx = cost.build_context(checked, task)
        self.checked = checked
        self.task = task
        self.cache: dict[tuple, View] = {}
        self.stage_cache: dict[tuple, StageView] = {}
        self.calls = 0

    def __call__(self, decisions: Mapping[str, Value]) -> View:
        key = tuple(sorted(decisions.items(), key=lambda kv: kv[0]))
        hit = self.cache.get(key)
        if hit is None:
            self.calls += 1
            hit = view(self._cost.evaluate(self.ctx, self.task, dict(key)))
            self.cache[key] = hit
        return hit

    def stage(self, index: int, decisions: Mapping[str, Value]) -> StageView:
        """One stage under ``decisions``: valid when it has no problem of its own."""
        self.calls += 1
        try:
            st, problems = self._cost.stage_eval(self.ctx, index, decisions)
        except self._cost.DecisionError:
            return StageView(False, tuple(math.inf for _ in METRIC_KEYS), -math.inf)
        return StageView(not problems, _metrics(st), float(st.log_success))

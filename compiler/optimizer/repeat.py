"""The optimum of a task whose whole pipeline is one repeated stage (``repeat S K then vote``,
docs/model.md §3, repeat), found exactly by the optimizer of the stage run once.

When S's group (S and the stages nested in it) is every stage of the task, a plan's metrics
are K times one run's (the critical paths 1 or K times) and its success is
``S_K(s) = P[Bin(K, s) ≥ (K+1)/2]``, increasing in the one-run success s. Uniform factors keep
the order of plans on any metric, and ``S_K(s) ≥ T`` holds exactly when ``s ≥ s_T``, the
least float with ``S_K(s_T) ≥ T``. So the optimum is the optimum of the task without the
repeat under the bounds mapped back (``success >= s_T``, a sum bound B as B/K), evaluated with
the repeat. A repeat of one stage among others is planned by ``aalp.optimizer.repeat_part``,
a ``choose`` count by ``aalp.optimizer.repeat_choose``.
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from typing import Any

from aalp.front import ir
from aalp.front.expr import evaluate
from aalp.front.numbers import float_env
from aalp.model.cost import evaluate as evaluate_plan
from aalp.model.repeat import counts_of, repeat_log_success
from aalp.optimizer.pareto import METRIC_KEYS
from aalp.optimizer.types import OptimizeResult, Solution


def whole_repeat(checked: Any, task: ir.Task) -> tuple[int, bool] | None:
    """(K, parallel) when the task's one repeat covers all its stages with a number K and no
    per-item requirement; else None (``aalp.optimizer.repeat_part`` plans it or refuses it)."""
    counts = counts_of(task, float_env(checked.env))
    if len(task.repeats) != 1 or len(counts) != 1 or len(task.stages) == 0:
        return None
    if any(r.metric in ir.ITEM_METRICS for r in task.requirements):
        return None
    tops = [i for i in range(len(task.stages)) if not task.within or task.within[i] is None]
    if len(tops) != 1:
        return None
    return counts[tops[0]], task.workers is None


def least_success(target: float, k: int) -> float:
    """The least one-run success s (a float) with ``S_K(s) ≥ target`` (bisection on the
    monotone ``S_K``; 1.0 when only a sure run meets it)."""
    import math

    if target <= 0.0:
        return 0.0
    goal = math.log(target)
    lo, hi = 0.0, 1.0
    while True:
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            return hi
        if repeat_log_success(math.log(mid), k) >= goal:
            hi = mid
        else:
            lo = mid


def once(checked: Any, task: ir.Task, k: int, parallel: bool) -> Any:
    """``checked`` with ``task`` run once: no repeat, its bounds mapped back to one run."""
    env = float_env(checked.env)
    reqs = []
    for r in task.requirements:
        bound = evaluate(r.bound, env)
        if r.metric == "success" and r.cmp == ">=":
            bound = least_success(bound, k)
        elif r.metric not in ir.LATENCY_METRICS or not parallel:
            bound = bound / k
        reqs.append(replace(r, bound=ir.Num(Fraction(bound), span=r.bound.span)))
    one = replace(task, repeats=(), requirements=tuple(reqs))
    tasks = tuple(one if t is task else t for t in checked.spec.tasks)
    return replace(checked, spec=replace(checked.spec, tasks=tasks))


def repeated_result(
    checked: Any, task: ir.Task, result: OptimizeResult, k: int, requirements: tuple
) -> Any:
    """``result`` (of the task run once) with its plan evaluated with the repeat and the
    task's own ``requirements``."""
    if result.plan is None:
        return replace(
            result,
            requirements=requirements,
            frontier_success=(),
            frontier_latency=(),
            baselines=(),
        )
    ev = evaluate_plan(checked, task, result.plan.decisions)
    metrics = {m: float(getattr(ev.metrics, m)) for m in METRIC_KEYS}
    meets = bool(ev.feasible) and all(r.ok for r in ev.requirements)
    plan = Solution(
        dict(result.plan.decisions),
        ev,
        metrics,
        ev.success,
        bool(ev.feasible),
        meets,
        tuple(ev.problems),
    )
    note = (
        f"the task's stages run {k} times and vote (repeat ... then vote): the plan is the "
        "optimum of one run under the bounds mapped back; no frontier or baselines"
    )
    return replace(
        result,
        requirements=requirements,
        plan=plan,
        feasible=result.feasible and meets,
        frontier_success=(),
        frontier_latency=(),
        baselines=(),
        notes=(*result.notes, note),
    )


__all__ = ["least_success", "once", "repeated_result", "whole_repeat"]

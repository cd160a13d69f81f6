"""``repeat STAGE choose then vote``: the optimizer picks K (docs/model.md §3, repeat).

K ranges over the odd numbers from 1 to ``MAX_CHOSEN``. For each K the task with that K is
solved exactly (``aalp.optimizer.repeat`` or ``repeat_part``), and the best over K wins (the
smaller K on a tie), so the result is the exact optimum over K and every other decision.
The optimum is not monotone in K in general: more runs lift the vote's success (``S_K(s)``
grows with K when s > 1/2 and falls when s < 1/2, wrong runs assumed to agree), while every
sum grows K-fold and a sum bound B leaves one run B/K; so K is searched, not bisected. What
ends the search early is a bound: when minimizing a metric that grows with K (every sum, and
a critical path under ``workers``), a plan with K runs costs at least ``K·g + r``, g and r the
least the repeated group and the other stages can cost with no requirement at all (one
solve, its stages split); once that passes the best plan found, no larger K can win.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from aalp.front import ir
from aalp.front.nesting import inner_stages
from aalp.front.repeat import flat_index
from aalp.model.repeat_choice import chosen, repeat_key, replace_task, with_count
from aalp.optimizer.types import OptimizeResult

# K is searched over the odd numbers 1, 3, ..., MAX_CHOSEN.
MAX_CHOSEN = 99
# A lower bound must pass the best value by this share to end the search (float rounding).
MARGIN = 1e-9

Run = Callable[[Any, bool], OptimizeResult]


def at_count(checked: Any, task: ir.Task, k: int) -> Any:
    """``checked`` with the task's chosen repeat run ``k`` times."""
    return replace_task(checked, task, with_count(task, chosen(task)[0], k))


def _better(new: OptimizeResult, old: OptimizeResult | None, sense: str, metric: str) -> bool:
    """True when ``new`` is strictly better than ``old`` (feasible first, then the objective)."""
    if old is None:
        return True
    if new.feasible != old.feasible:
        return new.feasible
    if not new.feasible or new.plan is None or old.plan is None:
        return False
    a, b = new.plan.value(metric), old.plan.value(metric)
    return a > b if sense == "maximize" else a < b


def lower_bound(
    checked: Any, task: ir.Task, run: Run, sense: str, metric: str
) -> Callable[[int], float] | None:
    """``k -> K·g + r``, the least a plan with K runs can reach on the objective, or None
    when the objective does not grow with K (success, or a critical path of runs side by
    side)."""
    if sense != "minimize" or (metric in ir.LATENCY_METRICS and task.workers is None):
        return None
    free = at_count(checked, task, 1)
    one = next(t for t in free.spec.tasks if t.name == task.name)
    free = replace_task(free, one, replace(one, requirements=()))
    result = run(free, False)
    if result.plan is None:
        return None
    index = flat_index(task, chosen(task)[0])
    group = {index, *inner_stages(task, index)}
    stages = result.plan.evaluation.stages
    g = sum(getattr(st.metrics, metric) for i, st in enumerate(stages) if i in group)
    r = sum(getattr(st.metrics, metric) for i, st in enumerate(stages) if i not in group)
    return lambda k: k * g + r


def choose_count(checked: Any, task: ir.Task, run: Run, sense: str, metric: str, explain: bool):
    """The result of the best K (module docstring), its plan's decisions with K under
    ``stageN.repeat``; ``run(checked, explain_infeasible)`` solves the task with one K."""
    floor = lower_bound(checked, task, run, sense, metric)
    best_k, best = 1, None
    tried = 0
    for k in range(1, MAX_CHOSEN + 1, 2):
        if best is not None and best.feasible and floor is not None:
            value = best.plan.value(metric)
            if floor(k) > value + MARGIN * abs(value):
                break
        result = run(at_count(checked, task, k), False)
        tried += 1
        if _better(result, best, sense, metric):
            best_k, best = k, result
    last = 2 * tried - 1
    if best is not None and not best.feasible and explain:
        # no K meets the requirements: the more reliable plan of the fewest and most runs
        low, high = run(at_count(checked, task, 1), True), run(at_count(checked, task, last), True)
        best_k, best = (1, low) if _success(low) >= _success(high) else (last, high)
    assert best is not None
    return with_choice(task, best, best_k, last)


def _success(result: OptimizeResult) -> float:
    return -1.0 if result.plan is None else result.plan.success


def with_choice(task: ir.Task, result: OptimizeResult, k: int, last: int) -> OptimizeResult:
    """``result`` with K among its plan's decisions and a note of the search (the odd K from
    1 to ``last`` solved)."""
    key = repeat_key(task, chosen(task)[0])
    note = f"the repeat's count is chosen: K = {k} ('{key}')"
    note += ", solved exactly" if last == 1 else f", the best of the odd K from 1 to {last}"
    note += ", each solved exactly" if last > 1 else ""
    if last < MAX_CHOSEN:
        note += (
            "; no larger K can be better (the least a plan of K runs costs, K·g + r, passes"
            " it: docs/model.md §3, repeat)"
        )
    if result.plan is None:
        return replace(result, notes=(*result.notes, note))
    decisions = dict(sorted({**result.plan.decisions, key: k}.items()))
    ev = result.plan.evaluation
    typed = None if ev.plan is None else replace(ev.plan, decisions=decisions)
    evaluation = replace(ev, decisions=decisions, plan=typed)
    plan = replace(result.plan, decisions=decisions, evaluation=evaluation)
    return replace(result, plan=plan, notes=(*result.notes, note))


__all__ = ["MAX_CHOSEN", "at_count", "choose_count", "lower_bound", "with_choice"]

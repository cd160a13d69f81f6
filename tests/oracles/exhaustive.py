"""Brute-force reference: every plan of a small decision space, evaluated by the cost model.

Independent of the optimizer's machinery (no blocks, candidates or Pareto sets): it enumerates
the full product of every decision's values straight from ``aalp.plan.space`` and keeps the best
plan meeting every requirement. Used by tests and ``bench/optimize.py`` to confirm the
optimizer's answers; only for spaces of at most ``limit`` plans.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aalp.front.ir import ReduceStage
from aalp.model.reliability import success_meets
from aalp.plan.space import Value, build, env_of, select_task


@dataclass(frozen=True)
class Brute:
    """The exhaustive answer: feasibility, the best plan's decisions and objective value."""

    feasible: bool
    decisions: Mapping[str, Value] | None
    value: float
    plans: int  # how many plans were evaluated


class TooLarge(ValueError):
    """The space has more plans than the limit."""


def _meets(ev: Any, reqs: list[tuple[str, str, float]]) -> bool:
    if not ev.feasible:
        return False
    for metric, cmp, bound in reqs:
        if metric == "accuracy":  # per item: the cost model's ln(accuracy), near 1 exactly
            if not success_meets(ev.log_accuracy, bound):
                return False
            continue
        if metric == "errors":
            if not ev.errors <= bound * (1 + 1e-12):
                return False
            continue
        v = ev.success if metric == "success" else float(getattr(ev.metrics, metric))
        if metric == "success" and cmp == ">=":
            # the model's comparison: the failure near 1, with a relative slack for rounding
            if not success_meets(ev.log_success, bound):
                return False
            continue
        if (cmp == ">=" and not v >= bound) or (cmp == "<=" and not v <= bound):
            return False
    return True


def search(
    checked: Any,
    task_name: str | None = None,
    objective: tuple[str, str] | None = None,
    pins: Mapping[str, Value] | None = None,
    limit: int = 200_000,
) -> Brute:
    """The best plan by enumeration. ``objective`` is ``(sense, metric)`` (default: the
    spec's, else minimize cost). Raises ``TooLarge`` beyond ``limit`` plans."""
    from aalp.front import expr as ex
    from aalp.model import cost

    task = select_task(checked.spec, task_name)
    space = build(checked, task.name)
    pins = {**space.pins, **(pins or {})}
    if objective is None:
        obj = task.objective
        objective = (obj.sense, obj.metric) if obj else ("minimize", "cost")
    sense, metric = objective
    env = env_of(checked)
    reqs = [(r.metric, r.cmp, ex.evaluate(r.bound, env)) for r in task.requirements]
    reduce_ops = {s.op for s in task.stages if isinstance(s, ReduceStage)}

    axes: list[list[dict[str, Value]]] = []
    shared = {op: group for b in space.blocks for group in b.shared_x for op in group}
    done: set[str] = set()
    for os_ in space.ops:
        if os_.x is None or os_.op in reduce_ops or os_.op in done:
            continue
        group = shared.get(os_.op, (os_.op,))
        done.update(group)
        pinned = next((pins[f"{o}.x"] for o in group if f"{o}.x" in pins), None)
        values = [pinned] if pinned is not None else range(os_.x.lo, os_.x.hi + 1)
        axes.append([{f"{o}.x": v for o in group} for v in values])
    for b in space.blocks:
        for op, dom in b.fanin:
            key = f"{op}.fanin"
            values = [pins[key]] if key in pins else range(dom.lo, dom.hi + 1)
            axes.append([{key: v} for v in values])
        for op, opts in b.history:
            key = f"{op}.history"
            axes.append([{key: h} for h in ([pins[key]] if key in pins else opts)])
    for os_ in space.ops:
        models = [pins[f"{os_.op}.model"]] if f"{os_.op}.model" in pins else list(os_.models)
        choices = []
        for m in models:
            for booster in os_.boosters:
                for v in booster.values():
                    d = {f"{os_.op}.model": m, **booster.decisions(os_.op, v)}
                    if all(
                        d.get(k, pins[k]) == pins[k] for k in pins if k in d or _same(k, os_.op)
                    ):
                        choices.append(d)
        axes.append(choices or [{f"{os_.op}.model": m} for m in models])
    total = math.prod(len(a) for a in axes)
    if total > limit:
        raise TooLarge(f"{total} plans > {limit}")

    ctx = cost.build_context(checked, task)
    best: tuple | None = None
    best_d: dict[str, Value] | None = None
    for combo in itertools.product(*axes):
        d: dict[str, Value] = {}
        for part in combo:
            d.update(part)
        ev = cost.evaluate(ctx, task, d)
        if not _meets(ev, reqs):
            continue
        value = ev.success if metric == "success" else float(getattr(ev.metrics, metric))
        key = (-value if sense == "maximize" else value,)
        if best is None or key < best:
            best, best_d = key, d
    if best is None:
        return Brute(False, None, math.nan, total)
    return Brute(True, best_d, -best[0] if sense == "maximize" else best[0], total)


def _same(key: str, op: str) -> bool:
    """A booster pin of ``op`` (it restricts the booster choices)."""
    return key.startswith(op + ".") and key.split(".", 1)[1] in ("vote", "votes", "retries")

"""``repeat STAGE choose then vote``: K is a decision of the plan, ``stageN.repeat``.

The optimizer picks K (``aalp.optimizer.repeat_choose``) and writes it among the plan's
decisions under ``stageN.repeat`` (N the stage's number, as ``explain`` counts stages). Every
evaluation of a given plan (``aalp.model.cost.evaluate``, the Monte Carlo, the code targets)
first writes that K into the task's repeat (``resolve``), so the rest of the model reads a
number K as for ``repeat STAGE 5 then vote``; a plan without it is refused by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from fractions import Fraction
from typing import Any

from aalp.front import ir
from aalp.front.repeat import MAX_REPEAT, flat_index
from aalp.plan.plan import DecisionError


def repeat_key(task: ir.Task, repeat: ir.Repeat) -> str:
    """The decision that holds the K of a ``repeat ... choose then vote``."""
    return f"stage{flat_index(task, repeat) + 1}.repeat"


def chosen(task: ir.Task) -> list[ir.Repeat]:
    """The task's repeats whose K is ``choose``."""
    return [r for r in task.repeats if r.count is None]


def with_count(task: ir.Task, repeat: ir.Repeat, k: int) -> ir.Task:
    """``task`` with ``repeat``'s K set to the number ``k``."""
    count = ir.Num(Fraction(k), span=repeat.span)
    repeats = tuple(replace(r, count=count) if r is repeat else r for r in task.repeats)
    return replace(task, repeats=repeats)


def replace_task(checked: Any, old: ir.Task, new: ir.Task) -> Any:
    """``checked`` with its task ``old`` replaced by ``new``."""
    tasks = tuple(new if t is old else t for t in checked.spec.tasks)
    return replace(checked, spec=replace(checked.spec, tasks=tasks))


def given_count(task: ir.Task, repeat: ir.Repeat, decisions: Mapping[str, Any]) -> int:
    """The K that ``decisions`` give a ``repeat ... choose``: an odd whole number."""
    key = repeat_key(task, repeat)
    if key not in decisions:
        raise DecisionError(
            f"decision '{key}' is missing: the repeat's count is 'choose', so a plan gives K"
            " (an odd whole number; aalp optimize chooses one)",
            key,
        )
    k = decisions[key]
    if isinstance(k, bool) or not isinstance(k, int | float) or k != int(k):
        raise DecisionError(f"decision '{key}' is {k!r}: K is an odd whole number", key)
    if not 1 <= int(k) <= MAX_REPEAT or int(k) % 2 == 0:
        raise DecisionError(f"decision '{key}' is {int(k)}: K is odd, from 1 to {MAX_REPEAT}", key)
    return int(k)


def resolve(checked: Any, task: Any, decisions: Mapping[str, Any]) -> tuple[Any, Any]:
    """``checked`` with every ``repeat ... choose`` of the task given its K from
    ``decisions``, and ``task`` (a name, None, or the task itself) in the result."""
    from aalp.plan.space import select_task

    old = task if isinstance(task, ir.Task) else select_task(checked.spec, task)
    if not chosen(old):
        return checked, task
    new = old
    for r in chosen(old):  # each repeat keeps its identity until its own count is set
        new = with_count(new, r, given_count(old, r, decisions))
    out = replace_task(checked, old, new)
    return out, (new if isinstance(task, ir.Task) else task)


__all__ = [
    "chosen",
    "given_count",
    "repeat_key",
    "replace_task",
    "resolve",
    "with_count",
]

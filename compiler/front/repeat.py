"""``repeat STAGE K then vote``: K independent runs of a top-level stage, then a vote.

The parser reads the clause as a ``Repeated`` wrapper around the stage; the task keeps the
stage among its stages, where it was written, and records the repeat as an ``ir.Repeat``
naming the stage's index among the top-level stages. That index survives flattening (nested
stages follow their enclosing stage, and the top-level stages keep their order), so
``flat_index`` finds the repeated stage in a checked spec (docs/model.md §3, repeat).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aalp.front import ir

# The most runs a repeat may vote over (the binomial tail is summed term by term).
MAX_REPEAT = 999


@dataclass(frozen=True)
class Repeated:
    """A parsed ``repeat STAGE K then vote`` before the task unwraps it."""

    stage: ir.Stage
    count: ir.Expr | None
    span: ir.Span


def unwrap_repeats(items: list[Any], stage_types: tuple[type, ...]) -> tuple[list[Any], tuple]:
    """``items`` with each ``Repeated`` replaced by its stage, and the task's ``ir.Repeat``s."""
    out: list[Any] = []
    repeats: list[ir.Repeat] = []
    top = 0
    for item in items:
        if isinstance(item, Repeated):
            repeats.append(ir.Repeat(top, item.count, item.span))
            item = item.stage
        if isinstance(item, stage_types):
            top += 1
        out.append(item)
    return out, tuple(repeats)


def top_level(task: ir.Task) -> list[int]:
    """The indices (into ``task.stages``, flat or not) of the task's top-level stages."""
    if not task.within:
        return list(range(len(task.stages)))
    return [i for i, w in enumerate(task.within) if w is None]


def flat_index(task: ir.Task, repeat: ir.Repeat) -> int:
    """The index into ``task.stages`` of the stage ``repeat`` runs K times."""
    return top_level(task)[repeat.stage]


def repeat_of(task: ir.Task, top: int) -> ir.Repeat | None:
    """The repeat of the ``top``-th top-level stage, None when it runs once."""
    return next((r for r in task.repeats if r.stage == top), None)


__all__ = ["MAX_REPEAT", "Repeated", "flat_index", "repeat_of", "top_level", "unwrap_repeats"]

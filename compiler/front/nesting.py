"""Nested stages (``map OP over DATA { stage* }``) as a flat list of stages.

A checked spec holds every task's stages flat: each nested stage follows its enclosing stage
(pre-order), and ``Task.within[i]`` is the index of stage i's enclosing stage (None at the top
level). Everything after the check pass (plan, cost model, optimizer, simulation, targets)
reads stage indices into that flat list; ``enclosing`` and ``input_stage`` give the structure
back (docs/model.md §3, nested stages).
"""

from __future__ import annotations

from dataclasses import replace

from aalp.front.ir import ChainStage, MapStage, Spec, Stage, Task


def body_of(stage: Stage) -> tuple[Stage, ...]:
    """The stages nested in ``stage`` (empty for a flat stage)."""
    return getattr(stage, "body", ())


def is_nested(task: Task) -> bool:
    """True when a stage of ``task`` (flat or not) has nested stages."""
    return any(w is not None for w in task.within) or any(body_of(s) for s in task.stages)


def flatten_task(task: Task) -> Task:
    """``task`` with its stages flat and ``within`` set (unchanged when nothing nests)."""
    if task.within or not any(body_of(s) for s in task.stages):
        return task
    stages: list[Stage] = []
    within: list[int | None] = []

    def walk(items: tuple[Stage, ...], parent: int | None) -> None:
        for stage in items:
            index = len(stages)
            stages.append(stage)
            within.append(parent)
            walk(body_of(stage), index)

    walk(task.stages, None)
    return replace(task, stages=tuple(stages), within=tuple(within))


def flatten_spec(spec: Spec) -> Spec:
    """``spec`` with every task flattened (``flatten_task``)."""
    tasks = tuple(flatten_task(t) for t in spec.tasks)
    if all(a is b for a, b in zip(tasks, spec.tasks, strict=True)):
        return spec
    return replace(spec, tasks=tasks)


def enclosing(task: Task, index: int) -> int | None:
    """The index of the stage that stage ``index`` is nested in (None at the top level)."""
    return task.within[index] if task.within else None


def enclosing_chain(task: Task, index: int) -> list[int]:
    """The enclosing stages of stage ``index``, innermost first."""
    out = []
    parent = enclosing(task, index)
    while parent is not None:
        out.append(parent)
        parent = enclosing(task, parent)
    return out


def input_stage(task: Task, index: int) -> int | None:
    """The stage a reduce at ``index`` merges: the nearest map or chain before it in the same
    block of stages (stages nested deeper are skipped; None when there is none)."""
    level = enclosing(task, index)
    for prev in range(index - 1, -1, -1):
        parent = enclosing(task, prev)
        if prev == level:
            return None  # reached the enclosing stage: nothing before it in this block
        if parent == level and isinstance(task.stages[prev], MapStage | ChainStage):
            return prev
    return None


def inner_stages(task: Task, index: int) -> list[int]:
    """Every stage nested (at any depth) in stage ``index``."""
    return [i for i in range(len(task.stages)) if index in enclosing_chain(task, i)]


__all__ = [
    "body_of",
    "enclosing",
    "enclosing_chain",
    "flatten_spec",
    "flatten_task",
    "inner_stages",
    "input_stage",
    "is_nested",
]

"""The optimum of a task that repeats one of several top-level stages (``repeat S K then vote``
beside other stages, docs/model.md §3, repeat), found exactly by the block search.

The task's metrics are sums over its blocks of decisions and its ln(success) a sum too
(``aalp.plan.space``). A repeated stage's *group* (S and the stages nested in it) is costed as
K runs and voted: its metrics K·M (a critical path M with unbounded workers, K·M with
``workers``) and its success ``S_K(s)`` with s the product of its stages' successes. When the
group's decisions fill whole blocks (no block holds a decision of the group and one of another
stage), the group's blocks are merged into one Pareto set and each of its points mapped by
that transform (a *fold*). The transform is increasing in every coordinate (``S_K`` increases
in s), so it keeps Pareto dominance and optimistic bounds (lower bounds of metrics, an upper
bound of success) stay bounds: the folded set is the group's exact Pareto set of the repeated
task, and the merge over the sets is exact as before. A group sharing a block with another
stage (a reduce right after it, an op used outside it) is refused (E609).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aalp.front.ir import ITEM_METRICS, LATENCY_METRICS, Task
from aalp.front.nesting import inner_stages
from aalp.front.numbers import float_env
from aalp.model.repeat import counts_of, repeat_log_success
from aalp.optimizer.pareto import METRIC_KEYS, Point, merge
from aalp.optimizer.repeat import least_success
from aalp.plan.space import Space


@dataclass(frozen=True)
class Fold:
    """The blocks of one repeated group, its K, whether its runs go side by side, and the
    flat index of the stage repeated."""

    blocks: tuple[int, ...]
    k: int
    parallel: bool
    stage: int

    def factor(self, index: int) -> float:
        """What one run's metric ``METRIC_KEYS[index]`` is multiplied by."""
        if self.parallel and METRIC_KEYS[index] in LATENCY_METRICS:
            return 1.0
        return float(self.k)


def folds_of(task: Task, space: Space, counts: dict[int, int]) -> tuple[Fold, ...] | None:
    """The fold of each repeated group (``counts``: flat index of the stage repeated -> K),
    None when a group shares a block with a stage outside it."""
    out = []
    for index, k in sorted(counts.items()):
        group = {index, *inner_stages(task, index)}
        blocks = []
        for b, block in enumerate(space.blocks):
            inside = set(block.stages) & group
            if inside and set(block.stages) - group:
                return None
            if inside:
                blocks.append(b)
        out.append(Fold(tuple(blocks), k, task.workers is None, index))
    return tuple(out)


def task_folds(checked: Any, task: Task, space: Space) -> tuple[Fold, ...] | None:
    """The folds of ``task``'s repeats, None when the optimizer cannot plan them: a group
    sharing a block with another stage, or a per-item requirement (an item's accuracy under
    the vote is only bounded by the vote's success, docs/model.md §3, repeat)."""
    if any(r.metric in ITEM_METRICS for r in task.requirements):
        return None
    return folds_of(task, space, counts_of(task, float_env(checked.env)))


def fold_note(task: Task, folds: Sequence[Fold]) -> str:
    """What the plan's note says of the repeated stages."""
    said = ", ".join(f"stage {f.stage + 1} runs {f.k} times" for f in folds)
    return (
        f"{said} and votes (repeat ... then vote) beside the other stages: each repeated"
        " group is searched as one set of K runs; no frontier or baselines"
    )


def live_bounds(
    folds: Sequence[Fold], block: int, upper: dict[int, float], min_success: float
) -> tuple[dict[int, float], float]:
    """The bounds a point of ``block`` alone must meet (upper bounds by metric index, least
    ln(success)): those of the plan, mapped back to one run for a block of a repeated group
    (a point past them cannot be part of a plan that meets the plan's)."""
    fold = next((f for f in folds if block in f.blocks), None)
    if fold is None:
        return upper, math.log(min_success) if min_success > 0 else -math.inf
    mapped = {i: b / fold.factor(i) for i, b in upper.items()}
    least = least_success(min_success, fold.k)
    return mapped, math.log(least) if least > 0 else -math.inf


def repeated_point(p: Point, fold: Fold) -> Point:
    """The point of K runs of a group whose one-run point is ``p``, voted."""
    metrics = tuple(m * fold.factor(i) for i, m in enumerate(p.metrics))
    return p._replace(metrics=metrics, log_success=repeat_log_success(p.log_success, fold.k))


def fold_sets(
    sets: Sequence[Sequence[Point]], folds: Sequence[Fold], dims: Sequence[int]
) -> list[list[Point]]:
    """The blocks' Pareto sets with each repeated group's merged into one and folded (in the
    place of the group's first block)."""
    if not folds:
        return [list(s) for s in sets]
    first = {f.blocks[0]: f for f in folds if f.blocks}
    folded = {b for f in folds for b in f.blocks}
    out: list[list[Point]] = []
    for b, s in enumerate(sets):
        if b in first:
            fold = first[b]
            group = merge([sets[i] for i in fold.blocks], dims) if len(fold.blocks) > 1 else s
            out.append([repeated_point(p, fold) for p in group])
        elif b not in folded:
            out.append(list(s))
    return out


__all__ = [
    "Fold",
    "fold_note",
    "fold_sets",
    "folds_of",
    "live_bounds",
    "repeated_point",
    "task_folds",
]

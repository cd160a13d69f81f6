"""Monte Carlo of a plan's per-item accuracy (docs/model.md §3, items), item by item.

Written independently of the accuracy weights of ``aalp.model.frames``: every decision of the
plan is played out (``montecarlo.play``), and each item's result is right when every decision
its result rests on came out right: the windows of a map that hold it, the steps of a chain up to
its own, the nodes above each of its leaves in a reduce tree, every decision of a stage over
other data. The accuracy of a run is the fraction of its items that are right; the mean over
runs estimates the expected accuracy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from aalp.front.ir import Task
from aalp.model.montecarlo import Group, SimulationError, plan_groups, play
from aalp.plan.context import Context, build_context

#: items × runs (and decisions × runs) one simulation holds in memory at most
ITEM_LIMIT = 50_000_000


@dataclass(frozen=True)
class ItemResult:
    """The accuracy over ``runs`` runs: its mean, its standard error, and the mean errors."""

    runs: int
    items: int
    accuracy: float
    stderr: float
    errors: float

    def interval(self, z: float = 1.959963984540054) -> tuple[float, float]:
        return self.accuracy - z * self.stderr, self.accuracy + z * self.stderr


def _windows(count: int, x: float, stride: float, n: int) -> list[range]:
    """The items each of ``count`` windows of x advancing by ``stride`` holds."""
    out = []
    for k in range(count):
        start = k * float(stride)
        out.append(range(min(n, math.ceil(start)), min(n, math.ceil(start + float(x)))))
    return out


def _holders(count: int, x: float, stride: float, n: int) -> list[list[int]]:
    """For each item, the windows that hold it."""
    held: list[list[int]] = [[] for _ in range(n)]
    for k, items in enumerate(_windows(count, x, stride, n)):
        for i in items:
            held[i].append(k)
    return held


def _item_ok(g: Group, ok: Any, n: int, items: str, inputs: dict[int, Any]) -> Any:
    """(runs, n): whether each item's part in group ``g`` is right, from its decisions ``ok``
    (runs, count). ``inputs`` maps a reduce stage to its input stage's holders of items."""
    import numpy as np

    kind = g.path[0] if g.path else None
    if kind == "within":  # a nested stage: its decisions in blocks, one per outer chunk
        _, path, outer = g.path
        runs = ok.shape[0]
        per_chunk = ok.reshape(runs, outer, g.count // outer).all(axis=2)
        return _item_ok(replace(g, count=outer, path=path), per_chunk, n, items, inputs)
    if kind is None or g.path[1] != items:
        return np.broadcast_to(ok.all(axis=1)[:, None], (ok.shape[0], n))
    if kind == "chunk":
        _, _, x, stride = g.path
        held = _holders(g.count, x, stride, n)
        return np.stack([ok[:, ks].all(axis=1) for ks in held], axis=1)
    if kind == "prefix":
        _, _, x = g.path
        upto = np.logical_and.accumulate(ok, axis=1)
        idx = np.minimum(np.arange(n) // int(x), g.count - 1)
        return upto[:, idx]
    _, _, _unit, fanin, level = g.path
    held = inputs[g.stage]
    out = []
    for leaves in held:
        nodes = sorted({leaf // fanin**level for leaf in leaves})
        out.append(ok[:, nodes].all(axis=1))
    return np.stack(out, axis=1)


def simulate_items(
    checked: Any,
    task: Task | str | None,
    decisions: Mapping[str, Any],
    runs: int = 1000,
    seed: int = 0,
) -> ItemResult:
    """Play the plan ``runs`` times and measure the fraction of the task's items right."""
    import numpy as np

    ctx = checked if isinstance(checked, Context) else build_context(checked, task)
    if ctx.items is None:
        raise SimulationError("the task has no items: it has no map and names no data")
    if ctx.task.repeats:  # a vote over whole runs is not an item's own (docs/model.md §3)
        raise SimulationError("a repeated stage (repeat ... then vote) is not followed per item")
    n = int(ctx.count(ctx.items))
    groups, overrides = plan_groups(ctx, decisions)
    flat: list[Group] = []
    for g in groups:
        chain = [g]
        while chain[-1].classifier is not None:
            chain.append(chain[-1].classifier)
        flat.extend(reversed(chain))
    if runs * max([n, *(g.count for g in flat)]) > ITEM_LIMIT:
        raise SimulationError(
            f"{runs} runs over {n} items are too many to follow item by item: use fewer runs"
            " or a smaller size (-D)"
        )
    rng = np.random.default_rng(seed)
    right = np.ones((runs, n), dtype=bool)
    inputs: dict[int, Any] = {}
    last: Group | None = None
    for g in flat:
        if g.path and g.path[0] == "node" and g.stage not in inputs and last is not None:
            # the leaves of the tree: the windows (or steps) of its input stage
            x = last.path[2]
            stride = last.path[3] if last.path[0] == "chunk" else x
            inputs[g.stage] = _holders(last.count, x, stride, n)
        if g.path and g.path[0] in ("chunk", "prefix"):
            last = g
        if overrides[g.stage] is not None:
            continue  # the stage's own success formula stands for its decisions
        ok = play(g.draw, runs * g.count, rng)["ok"].reshape(runs, g.count)
        right &= _item_ok(g, ok, n, ctx.items, inputs)
    for p in overrides:
        if p is not None:  # P(the whole stage right): every item rests on all of it
            right &= (rng.random(runs) < p)[:, None]
    per_run = right.mean(axis=1)
    std = float(per_run.std(ddof=1)) if runs > 1 else 0.0
    mean = float(per_run.mean())
    return ItemResult(runs, n, mean, std / math.sqrt(runs), n * (1 - mean))


__all__ = ["ItemResult", "simulate_items"]

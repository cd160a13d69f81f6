"""Block options: every candidate assignment of one block's decisions, evaluated.

A block's integer decisions (granularity groups, fan-ins) take candidate values from
``optimize_candidates``; its symbolic ones (model, booster and its count, history) are finite
and enumerated. Each assignment is evaluated by the cost model with the other blocks at their
defaults; only the block's own stages are read, which is exact because stages add and multiply
independently (docs/model.md §3).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import expr as ex
from . import optimize_candidates as cand
from .ir import ChainStage, MapStage, ReduceStage, Task
from .optimize_eval import Evaluator
from .optimize_pareto import METRIC_KEYS, Point
from .space import Block, Booster, Space, Value, count_of

Decisions = dict[str, Value]


@dataclass
class Var:
    """An integer decision of a block: a granularity shared by ``ops`` or a reduce's fan-in."""

    keys: tuple[str, ...]  # every decision key that takes this value
    lo: int
    hi: int
    n: int | None  # units split into chunks of this x (for snapping), None otherwise
    values: list[int] = field(default_factory=list)
    snap_ok: bool = False
    # A fan-in: the index of the x variable whose chunks it merges (its M = ceil(n/x)).
    feeds: int | None = None

    @property
    def key(self) -> str:
        return self.keys[0]


@dataclass
class BlockState:
    """A block with its current candidate values."""

    block: Block
    vars: list[Var]
    history: list[tuple[str, tuple[str, ...]]]
    choices: list[list[Decisions]]  # per op: model + booster decisions
    points: dict[tuple, list[Point]] = field(default_factory=dict)


def op_choices(space: Space, op: str, pins: Mapping[str, Value]) -> list[Decisions]:
    """Every (model, booster, count) choice of ``op`` allowed by the space and the pins."""
    os_ = space.op(op)
    models = [pins[f"{op}.model"]] if f"{op}.model" in pins else list(os_.models)
    boosters: list[tuple[Booster, Value]] = [(b, v) for b in os_.boosters for v in b.values]
    vote, votes, retries = (pins.get(f"{op}.{f}") for f in ("vote", "votes", "retries"))
    if vote is not None or votes is not None or retries is not None:
        kept = []
        for b, v in boosters:
            d = b.decisions(op, v)
            if vote is not None and d.get(f"{op}.vote") != vote:
                continue
            if votes is not None and d.get(f"{op}.votes", votes) != votes:
                continue
            if retries is not None and d.get(f"{op}.retries", 0) != retries:
                continue
            if votes is not None and f"{op}.votes" not in d and votes not in (0, 1):
                continue
            kept.append((b, v))
        if not kept:
            # A pin outside the allowed boosters (a baseline's design): honour it as given.
            d = {}
            if vote is not None:
                d[f"{op}.vote"] = vote
            if votes is not None:
                d[f"{op}.votes"] = votes
            if retries is not None:
                d[f"{op}.retries"] = retries
            return [{f"{op}.model": m, **d} for m in models]
        boosters = kept
    return [{f"{op}.model": m, **b.decisions(op, v)} for m in models for b, v in boosters]


def reduce_ops(task: Task) -> set[str]:
    return {s.op for s in task.stages if isinstance(s, ReduceStage)}


def _chunk_stage(task: Task, op: str, data: str) -> MapStage | ChainStage | None:
    for s in task.stages:
        if isinstance(s, MapStage | ChainStage) and op in s.ops and s.over == data:
            return s
    return None


def _monotone(task: Task, ops: tuple[str, ...], env: Mapping[str, float], xs: list[int]) -> bool:
    """Reads and writes never fall and success never rises as x grows (on the candidates)."""
    for name in ops:
        op = task.op(name)
        grows = [op.reads, op.writes]
        falls = [o.p for o in op.success] + [o.p for s in op.success_on for o in s.outcomes]
        for formulas, sign in ((grows, 1), (falls, -1)):
            for f in formulas:
                prev = None
                for x in xs:
                    try:
                        v = sign * ex.evaluate(f, {**env, "x": float(x)})
                    except ex.EvalError:
                        return False
                    if prev is not None and v < prev:
                        return False
                    prev = v
    return True


def defaults(space: Space, task: Task, pins: Mapping[str, Value]) -> Decisions:
    """A valid-looking plan to fill the blocks not being evaluated: x at its smallest, the
    first usable model, no booster, fan-in 2, stateless history (pins override)."""
    d: Decisions = {}
    red = reduce_ops(task)
    for os_ in space.ops:
        if os_.x is not None and os_.op not in red:
            d[f"{os_.op}.x"] = os_.x.lo
        if os_.models:
            d[f"{os_.op}.model"] = os_.models[0]
        d[f"{os_.op}.vote"] = "none"
    for b in space.blocks:
        for op, dom in b.fanin:
            d[f"{op}.fanin"] = dom.lo
        for op, _opts in b.history:
            d[f"{op}.history"] = "stateless"
    d.update(pins)
    return d


def make_state(
    space: Space, task: Task, block: Block, checked: Any, pins: Mapping[str, Value]
) -> BlockState:
    """A block's variables and choices under ``pins`` (candidates filled by ``init_values``)."""
    red = reduce_ops(task)
    vars_: list[Var] = []
    grouped: set[str] = set()
    for group in block.shared_x:
        grouped.update(group)
        os_ = space.op(group[0])
        if os_.x is None or group[0] in red:
            continue
        vars_.append(_x_var(task, checked, group, os_.x.lo, os_.x.hi, os_.x_data))
    for name in block.ops:
        os_ = space.op(name)
        if name in grouped or os_.x is None or name in red:
            continue
        vars_.append(_x_var(task, checked, (name,), os_.x.lo, os_.x.hi, os_.x_data))
    for op, dom in block.fanin:
        feeds = None
        prev = _previous_linear(task, op)
        if prev is not None:
            feeds = next(
                (i for i, v in enumerate(vars_) if any(f"{o}.x" in v.keys for o in prev.ops)),
                None,
            )
        vars_.append(Var((f"{op}.fanin",), dom.lo, dom.hi, None, feeds=feeds))
    for v in vars_:
        pinned = [pins[k] for k in v.keys if k in pins]
        if pinned:
            p = int(pinned[0])
            v.lo = v.hi = p
            v.n = None
    history = [
        (op, (pins[f"{op}.history"],) if f"{op}.history" in pins else opts)
        for op, opts in block.history
    ]
    choices = [op_choices(space, name, pins) for name in block.ops]
    return BlockState(block, vars_, history, choices)


def _previous_linear(task: Task, reduce_op: str) -> MapStage | ChainStage | None:
    """The map or chain stage whose outputs a reduce merges."""
    for i, st in enumerate(task.stages):
        if isinstance(st, ReduceStage) and st.op == reduce_op:
            for prev in reversed(task.stages[:i]):
                if isinstance(prev, MapStage | ChainStage):
                    return prev
    return None


def _canonical(state: BlockState, outer: tuple) -> tuple:
    """A fan-in at or above the number of inputs M builds the same one-level tree as M."""
    out = list(outer)
    for i, var in enumerate(state.vars):
        if var.feeds is None:
            continue
        xv = state.vars[var.feeds]
        if xv.n is None:
            continue
        m = -(-xv.n // out[var.feeds])
        if out[i] > m:
            out[i] = max(var.lo, m)
    return tuple(out)


def _x_var(task: Task, checked: Any, ops: tuple[str, ...], lo: int, hi: int, data: Any) -> Var:
    stage = _chunk_stage(task, ops[0], data) if data else None
    n = None
    if stage is not None and not (isinstance(stage, MapStage) and stage.overlap is not None):
        n = count_of(checked, data)
    return Var(tuple(f"{o}.x" for o in ops), lo, hi, n)


def block_points(state: BlockState, base: Decisions, evaluator: Evaluator) -> list[Point]:
    """Every valid assignment of the block at the current candidates, as Pareto points.

    Results are cached per assignment of the integer and history decisions, so refining the
    candidates only evaluates the new values.
    """
    var_lists = [list(v.values) for v in state.vars]
    hist_lists = [list(opts) for _op, opts in state.history]
    families = [[_family(c) for c in choices] for choices in state.choices]
    out: list[Point] = []
    seen: set[tuple] = set()
    for outer in itertools.product(*var_lists, *hist_lists):
        outer = _canonical(state, outer)
        if outer in seen:
            continue
        seen.add(outer)
        cached = state.points.get(outer)
        if cached is None:
            cached = _inner(state, base, evaluator, outer, families)
            state.points[outer] = cached
        out.extend(cached)
    return out


def _inner(
    state: BlockState,
    base: Decisions,
    evaluator: Evaluator,
    outer: tuple,
    families: list[list[tuple | None]],
) -> list[Point]:
    nv = len(state.vars)
    head: Decisions = {}
    for var, val in zip(state.vars, outer[:nv], strict=True):
        for k in var.keys:
            head[k] = val
    for (op, _opts), h in zip(state.history, outer[nv:], strict=True):
        head[f"{op}.history"] = h
    out: list[Point] = []
    saturated: tuple | None = None
    index_lists = [range(len(c)) for c in state.choices]
    for idx in itertools.product(*index_lists):
        # More votes or retries only raise success (and cost): once a family's failure
        # probability underflows (success exactly 1 in logs), or it cannot run at all, its
        # larger counts are dominated. (A cut at 1 - 1e-15 would be wrong for targets that
        # close to 1: it would call 1 - 1e-18 the best achievable.)
        family = families[-1][idx[-1]] if families else None
        if family is not None and saturated == (idx[:-1], family):
            continue
        mine = dict(head)
        for choices, i in zip(state.choices, idx, strict=True):
            mine.update(choices[i])
        full = {**_strip(base, mine), **mine}
        stages = [evaluator.stage(i, full) for i in state.block.stages]
        point = None
        if all(s.valid for s in stages):
            metrics = tuple(sum(s.metrics[j] for s in stages) for j in range(len(METRIC_KEYS)))
            log_success = math.fsum(s.log_success for s in stages)
            point = Point(tuple(sorted(mine.items())), metrics, log_success, (*outer, *idx))
            out.append(point)
        if family is not None and (point is None or point.log_success >= -1e-300):
            saturated = (idx[:-1], family)
    return out


def _family(choice: Decisions) -> tuple | None:
    """(model, booster kind) of a choice whose success grows with its count, else None."""
    vote = next((v for k, v in choice.items() if k.endswith(".vote")), None)
    retries = any(k.endswith(".retries") for k in choice)
    model = next((v for k, v in choice.items() if k.endswith(".model")), None)
    if retries:
        return (model, "retry")
    if vote == "ahead_by":
        return (model, "ahead_by")
    return None


def _strip(base: Decisions, mine: Decisions) -> Decisions:
    """``base`` without the booster entries of ops whose booster ``mine`` sets (so a stale
    ``votes`` or ``retries`` never leaks into another booster)."""
    ops = {k.split(".", 1)[0] for k in mine if k.endswith((".vote", ".votes", ".retries"))}
    return {k: v for k, v in base.items() if k.split(".", 1)[0] not in ops or k.endswith(".x")}


def init_values(
    state: BlockState, task: Task, env: Mapping[str, float], base: Decisions, evaluator: Evaluator
) -> list[str]:
    """Fill every variable's starting candidates; returns notes about the candidate sets."""
    notes: list[str] = []
    for var in state.vars:
        if var.lo == var.hi:  # pinned: evaluated as given, even if it cannot run
            var.values = [var.lo]
            continue
        hi = _largest_valid(state, var, base, evaluator)
        if hi is None:
            var.values = []
            continue
        var.hi = hi
        vals = cand.initial(var.lo, hi, var.n)
        ops = tuple(k.split(".", 1)[0] for k in var.keys)
        if var.n is not None and var.keys[0].endswith(".x"):
            var.snap_ok = _monotone(task, ops, env, vals)
            if var.snap_ok:
                vals = cand.snapped(vals, var.n, var.lo, hi)
            else:
                notes.append(
                    f"{var.key}: reads, writes or success are not monotone in x, so chunk"
                    " counts were not used to prune the candidates"
                )
        var.values = vals
    return notes


def _largest_valid(
    state: BlockState, var: Var, base: Decisions, evaluator: Evaluator
) -> int | None:
    """The largest value of ``var`` at which some model fits (validity falls as calls grow)."""

    def valid(value: int) -> bool:
        for choice_set in _cheapest_choices(state):
            mine: Decisions = {}
            for v in state.vars:
                for k in v.keys:
                    mine[k] = value if v is var else v.lo
            for op, opts in state.history:
                mine[f"{op}.history"] = opts[0]
            for c in choice_set:
                mine.update(c)
            full = {**_strip(base, mine), **mine}
            if all(evaluator.stage(i, full).valid for i in state.block.stages):
                return True
        return False

    if valid(var.hi):
        return var.hi
    if not valid(var.lo):
        return None
    lo, hi = var.lo, var.hi  # valid(lo), not valid(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if valid(mid):
            lo = mid
        else:
            hi = mid
    return lo


def _cheapest_choices(state: BlockState) -> list[list[Decisions]]:
    """One choice set per model index: the first (unboosted) choice of each op on that model."""
    per_op = []
    for choices in state.choices:
        seen: dict[Value, Decisions] = {}
        for c in choices:
            m = next((v for k, v in c.items() if k.endswith(".model")), None)
            seen.setdefault(m, c)
        per_op.append(list(seen.values()))
    width = max((len(p) for p in per_op), default=1)
    return [[p[min(i, len(p) - 1)] for p in per_op] for i in range(width)]

"""The decision space of a task: every choice the optimizer may make, read from a checked spec.

A decision is addressed ``op.field`` (``move.x``, ``move.model``, ``move.vote``, ``move.votes``,
``move.retries``, ``merge.fanin``, ``fix.history``). The space is described by *domains*, never
by enumerating units: a granularity is an integer interval ``[1, hi]`` (``hi`` may be 2^64) and
``candidates`` picks the few values that can matter (see ``compiler/optimizer/driver.py``).

Ops are grouped into *blocks*: sets of ops whose decisions interact (ops of one stage share a
granularity and a history policy; a reduce depends on the previous stage's chunks; a router's
classifier runs beside the op it routes). Stages run in sequence, so the task's metrics are sums
over blocks and its success a product: the optimizer can solve each block alone and then
allocate reliability across blocks.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from aalp import codes
from aalp.diagnostics import Diagnostic, SpecError
from aalp.front import expr as ex
from aalp.front.ir import (
    BEAM_MAX_CANDIDATES,
    HISTORY_WORDS,
    NO_SPAN,
    PIN_FIELDS,
    VOTE_WORDS,
    ChainStage,
    ExpandBooster,
    MapStage,
    Op,
    Pin,
    ReduceStage,
    RetryBooster,
    RouteStage,
    Spec,
    Task,
    VoteBooster,
    checking_op,
    stage_ops,
)
from aalp.front.nesting import enclosing, input_stage
from aalp.front.numbers import float_env
from aalp.plan.pins import Value, parse_pin_text, pin_value

Decisions = dict[str, Value]

# The exhaustive reference enumerates counts without a ``max`` up to these caps; the optimizer
# searches them without a cap (docs/explain.md).
AHEAD_BY_CAP = 200
MAJORITY_CAP = 101
RETRY_CAP = 200


@dataclass(frozen=True)
class IntDomain:
    """An integer decision in ``[lo, hi]`` (``hi`` may be astronomically large)."""

    lo: int
    hi: int

    def __contains__(self, v: object) -> bool:
        return isinstance(v, int) and self.lo <= v <= self.hi

    @property
    def size(self) -> int:
        return max(0, self.hi - self.lo + 1)


@dataclass(frozen=True)
class Booster:
    """One booster option family for an op: ``kind`` with counts ``lo, lo + step, ... hi``.

    ``none`` has the single count 0; ``ahead_by`` counts k, ``majority`` odd K (step 2),
    ``judge`` n ≥ 2, ``retry`` r. ``hi`` None means unbounded (no ``max``); a retry without
    ``max`` also has the unbounded option ``"inf"`` (``inf``). ``check`` is ``exact`` or the
    verifier op (a judge's: the judge op).
    """

    kind: str
    lo: int = 0
    hi: int | None = 0
    step: int = 1
    check: str = ""
    inf: bool = False
    beam: tuple[int, int] = (0, 0)  # an expand's (keep, depth)

    def values(self, cap: int | None = None) -> tuple[Value, ...]:
        """Every count, materialized (for the exhaustive reference): an unbounded range is cut
        at ``cap`` (default: ``AHEAD_BY_CAP``, ``MAJORITY_CAP`` or ``RETRY_CAP``)."""
        if cap is None:
            caps = {"ahead_by": AHEAD_BY_CAP, "majority": MAJORITY_CAP, "judge": MAJORITY_CAP}
            cap = caps.get(self.kind, RETRY_CAP)
        hi = cap if self.hi is None else self.hi
        out: tuple[Value, ...] = tuple(range(self.lo, hi + 1, self.step))
        return (*out, "inf") if self.inf else out

    def decisions(self, op: str, value: Value) -> Decisions:
        """The decision entries for this booster at ``value``."""
        match self.kind:
            case "none":
                return {f"{op}.vote": "none"}
            case "ahead_by" | "majority" | "judge" | "expand":
                return {f"{op}.vote": self.kind, f"{op}.votes": value}
            case _:
                return {f"{op}.vote": "none", f"{op}.retries": value}


@dataclass(frozen=True)
class OpSpace:
    """The choices of one op."""

    op: str
    x: IntDomain | None  # None: the op has no granularity decision
    x_data: str | None  # the data its granularity counts
    models: tuple[str, ...]
    boosters: tuple[Booster, ...]


@dataclass(frozen=True)
class Block:
    """Ops whose decisions interact, with the stage-level decisions among them.

    ``shared_x`` lists groups of ops forced to share one granularity (their first op's ``x`` is
    the free one). ``fanin`` maps a reduce op to its fan-in domain; ``history`` maps a chain's
    first op to its history options.
    """

    ops: tuple[str, ...]
    stages: tuple[int, ...]
    shared_x: tuple[tuple[str, ...], ...] = ()
    fanin: tuple[tuple[str, IntDomain], ...] = ()
    history: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class Space:
    """The decision space of one task."""

    task: str
    ops: tuple[OpSpace, ...]
    blocks: tuple[Block, ...]
    pins: Mapping[str, Value] = field(default_factory=dict)
    baselines: tuple[tuple[str, Mapping[str, Value]], ...] = ()
    notes: tuple[str, ...] = ()

    def op(self, name: str) -> OpSpace:
        return next(o for o in self.ops if o.op == name)


def _num(e: Any, env: Mapping[str, Any]) -> float:
    return ex.evaluate(e, float_env(env))


def _floor_int(v: float) -> int:
    """The largest integer at most ``v`` (a ``max`` or ``upto`` bound)."""
    if math.isnan(v):
        return 0
    if math.isinf(v):
        return 2**200 if v > 0 else -(2**200)
    return math.floor(v)


def env_of(checked: Any) -> dict[str, float]:
    """The checked spec's parameter and data values as floats (±inf beyond the float range)."""
    return float_env(checked.env)


def count_of(checked: Any, data: str) -> int:
    """The number of units in data ``data`` (exact when the checker kept a Fraction)."""
    v = checked.env[data]
    if isinstance(v, Fraction):
        return math.ceil(v)
    return math.ceil(v) if v < 2**53 else int(v)


def _usable(spec: Spec, task: Task, op: Op) -> tuple[str, ...]:
    routed_ops = {s.op for s in task.stages if isinstance(s, RouteStage)}
    names = op.models or tuple(m.name for m in spec.models)
    tool = spec.tool_of(op)
    if tool is not None:  # an op on a tool runs on it alone (aalp.checks.tools)
        return (tool.name,)
    out = []
    for name in names:
        try:
            model = spec.model(name)
        except StopIteration:
            continue
        for cap in model.capabilities:
            if cap.op == op.name and (not cap.routed or op.name in routed_ops):
                out.append(name)
                break
    return tuple(out)


def _boosters(task: Task, op: str, env: Mapping[str, Any]) -> tuple[Booster, ...]:
    beam = next((b for b in task.boosters if isinstance(b, ExpandBooster) and b.op == op), None)
    if beam is not None:  # every decision is the search: its width is the only choice
        keep = _floor_int(_num(beam.keep, env))
        depth = _floor_int(_num(beam.depth, env))
        if beam.width is not None:
            width = _floor_int(_num(beam.width, env))
            return (Booster("expand", width, width, 1, beam.scorer, beam=(keep, depth)),)
        top = max(1, BEAM_MAX_CANDIDATES // max(1, keep))
        return (Booster("expand", 1, top, 1, beam.scorer, beam=(keep, depth)),)
    out = [Booster("none")]
    for b in task.boosters:
        if b.ops and op not in b.ops:
            continue
        # A verifier op is not itself boosted by the retry it serves.
        if checking_op(b) == op:
            continue
        hi = None if b.max is None else _floor_int(_num(b.max, env))
        match b:
            case VoteBooster(kind="ahead_by"):
                if hi is None or hi >= 1:
                    out.append(Booster("ahead_by", 1, hi))
            case VoteBooster(kind="majority"):
                top = None if hi is None else hi - (1 - hi % 2)  # the largest odd K
                if top is None or top >= 3:
                    out.append(Booster("majority", 3, top, 2))
            case VoteBooster(kind="judge", judge=judge):
                if hi is None or hi >= 2:  # n = 1 is one sample, no judge: 'none'
                    out.append(Booster("judge", 2, hi, 1, str(judge)))
            case RetryBooster(check=check):
                if hi is None or hi >= 1:
                    out.append(Booster("retry", 1, hi, 1, check, inf=hi is None))
    return tuple(out)


def build(checked: Any, task_name: str | None = None) -> Space:
    """The decision space of ``task_name`` (the first task when None) in ``checked``."""
    spec: Spec = checked.spec
    task = select_task(spec, task_name)
    env = checked.env
    ops: dict[str, OpSpace] = {}
    staged = {n for st in task.stages for n in stage_ops(st)}
    for op in task.ops:
        x = None
        data = None
        if op.granularity is not None:
            data = op.granularity.data
            hi = count_of(checked, data)
            if op.granularity.upto is not None:
                hi = min(hi, _floor_int(_num(op.granularity.upto, env)))
            x = IntDomain(1, max(1, hi))
        # An op no stage runs (a verifier) is never boosted itself.
        boosters = _boosters(task, op.name, env) if op.name in staged else (Booster("none"),)
        if spec.tool_of(op) is not None:  # a tool gains nothing from votes (model.md §1)
            boosters = tuple(b for b in boosters if b.kind in ("none", "retry"))
        ops[op.name] = OpSpace(op.name, x, data, _usable(spec, task, op), boosters)

    blocks = _blocks(task, checked, ops)
    pins = {f"{p.op}.{p.field}": pin_value(p, env) for p in task.pins}
    baselines = tuple(
        (b.name, {f"{p.op}.{p.field}": pin_value(p, env) for p in b.pins}) for b in task.baselines
    )
    return Space(task.name, tuple(ops[o.name] for o in task.ops), blocks, pins, baselines)


def select_task(spec: Spec, task_name: str | None) -> Task:
    """The task named ``task_name`` (the first one when None); a clear error otherwise."""
    if not spec.tasks:
        raise SpecError([Diagnostic("error", codes.NO_TASK, "the spec has no task", NO_SPAN)])
    if task_name is None:
        return spec.tasks[0]
    for t in spec.tasks:
        if t.name == task_name:
            return t
    known = ", ".join(t.name for t in spec.tasks)
    message = f"no task named '{task_name}' (tasks: {known})"
    raise SpecError([Diagnostic("error", codes.UNKNOWN_TASK, message, NO_SPAN)])


def _blocks(task: Task, checked: Any, ops: Mapping[str, OpSpace]) -> tuple[Block, ...]:
    parent = {o.name: o.name for o in task.ops}

    def find(a: str) -> str:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            # Keep the earliest op as the root so block order is the spec's order.
            order = [o.name for o in task.ops]
            if order.index(ra) < order.index(rb):
                parent[rb] = ra
            else:
                parent[ra] = rb

    for index, stage in enumerate(task.stages):
        names = [n for n in stage_ops(stage) if n in parent]
        for n in names[1:]:
            union(names[0], n)
        prev = input_stage(task, index) if isinstance(stage, ReduceStage) else None
        prev_llm = (
            [n for n in stage_ops(task.stages[prev]) if n in parent] if prev is not None else []
        )
        if prev_llm and names:
            union(prev_llm[0], names[0])
        # A nested stage's counts depend on its enclosing stage's chunks (plan/nested.py).
        up = enclosing(task, index)
        up_ops = [n for n in stage_ops(task.stages[up]) if n in parent] if up is not None else []
        if up_ops and names:
            union(up_ops[0], names[0])
        # A verifier op runs beside the op it checks.
        for n in names:
            for b in ops[n].boosters:
                if b.kind in ("retry", "judge", "expand") and b.check in parent:
                    union(n, b.check)

    groups: dict[str, list[str]] = {}
    for o in task.ops:
        groups.setdefault(find(o.name), []).append(o.name)
    out = []
    for members in groups.values():
        idx = tuple(i for i, s in enumerate(task.stages) if any(n in members for n in stage_ops(s)))
        shared: list[tuple[str, ...]] = []
        fanin: list[tuple[str, IntDomain]] = []
        history: list[tuple[str, tuple[str, ...]]] = []
        for i in idx:
            stage = task.stages[i]
            match stage:
                case MapStage(ops=sops, over=over) | ChainStage(ops=sops, over=over):
                    group = tuple(n for n in sops if ops[n].x_data == over)
                    if len(group) > 1:
                        shared.append(group)
                    if isinstance(stage, ChainStage) and stage.history == "choose":
                        history.append((sops[0], HISTORY_WORDS))
                case ReduceStage(op=rop, fanin=None):
                    hi = max(2, _reduce_inputs(task, i, checked, ops))
                    fanin.append((rop, IntDomain(2, hi)))
        out.append(Block(tuple(members), idx, tuple(shared), tuple(fanin), tuple(history)))
    return tuple(out)


def _reduce_inputs(task: Task, index: int, checked: Any, ops: Mapping[str, OpSpace]) -> int:
    """An upper bound on the number of outputs a reduce stage merges (the fan-in's range)."""
    prev = input_stage(task, index)
    return 2 if prev is None else count_of(checked, task.stages[prev].over)


def iter_values(domain: IntDomain, limit: int) -> Iterator[int]:
    """Every value of a small domain (at most ``limit``); a ValueError for a large one."""
    if domain.size > limit:
        raise ValueError(f"domain of {domain.size} values exceeds {limit}")
    yield from range(domain.lo, domain.hi + 1)


def _error(message: str) -> SpecError:
    return SpecError([Diagnostic("error", codes.BAD_OPTION, message, NO_SPAN)])


def parse_pins(
    space: Space,
    pins: Mapping[str, Any] | Sequence[str] | None,
    env: Mapping[str, Any] | None = None,
) -> dict[str, Value]:
    """Extra pins from the command line (``op.field=value``) or a mapping.

    A value is what a ``pin`` line in a spec takes: a formula of the parameters
    (``check.x=k``, ``move.x=2^3``) or a word (``move.vote=none``, ``fix.history=full``,
    ``mutate.retries=inf``); ``env`` holds the parameters' values.
    """
    if not pins:
        return {}
    items = [parse_pin_text(p) for p in pins] if not isinstance(pins, Mapping) else pins.items()
    ops = {o.op for o in space.ops}
    out: dict[str, Value] = {}
    for key, raw in items:
        op, _, fld = key.partition(".")
        if op not in ops:
            from aalp.suggest import did_you_mean

            hint = did_you_mean(op, sorted(ops), "op")
            raise _error(f"--pin {key}: no op named '{op}' (ops: {', '.join(sorted(ops))}); {hint}")
        if fld not in PIN_FIELDS:
            raise _error(f"--pin {key}: '{fld}' is not a decision ({', '.join(PIN_FIELDS)})")
        value = _pin_value(key, op, fld, raw, env or {})
        _check_pin(space, op, fld, value)
        out[key] = value
    return out


def _pin_value(key: str, op: str, fld: str, raw: Any, env: Mapping[str, Any]) -> Value:
    if isinstance(raw, bool):
        raise _error(f"--pin {key}: expected a number or a word, got {raw!r}")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    text = str(raw).strip()
    if text == "unbounded":
        text = "inf"
    from aalp.front.parser import parse_expr

    try:
        expr = parse_expr(text, "<--pin>")
    except SpecError as err:
        first = err.diagnostics[0].message if err.diagnostics else "not a formula"
        raise _error(f"--pin {key}: '{text}' is not a formula or a word ({first})") from None
    try:
        return pin_value(Pin(op, fld, expr), env)
    except SpecError as err:
        raise _error(f"--pin {key}: {err.diagnostics[0].message}") from None


def _check_pin(space: Space, op: str, fld: str, value: Value) -> None:
    """A clear error for a pin that cannot mean anything (never a traceback later)."""
    from aalp.suggest import did_you_mean

    os_ = space.op(op)
    choices: tuple[str, ...] = ()
    if fld == "model":
        choices = os_.models
    elif fld == "vote":
        choices = VOTE_WORDS
    elif fld == "history":
        if not any(op == h for b in space.blocks for h, _o in b.history):
            raise _error(f"--pin {op}.history: '{op}' has no history choice (history choose)")
        choices = HISTORY_WORDS
    if choices and value not in choices:
        hint = did_you_mean(str(value), choices, fld)
        raise _error(f"--pin {op}.{fld}: '{value}' is not one of {', '.join(choices)}; {hint}")
    if fld == "x":
        if os_.x is None:
            raise _error(f"--pin {op}.x: '{op}' has no granularity")
        if not (isinstance(value, int) and os_.x.lo <= value <= os_.x.hi):
            raise _error(f"--pin {op}.x: {value} is outside {os_.x.lo}..{os_.x.hi}")
    if fld == "fanin":
        if not any(op == f for b in space.blocks for f, _d in b.fanin):
            raise _error(f"--pin {op}.fanin: '{op}' has no fan-in choice (fanin choose)")
        if not (isinstance(value, int) and value >= 2):
            raise _error(f"--pin {op}.fanin: must be an integer of at least 2")
    if (
        fld in ("votes", "retries")
        and value != "inf"
        and not (isinstance(value, int) and value >= 1)
    ):
        raise _error(f"--pin {op}.{fld}: must be a positive integer")

"""The result types of the cost model: metrics, per-op and per-stage breakdowns, evaluations."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from typing import Any

from aalp.front.ir import METRICS
from aalp.plan.plan import Plan

# Every metric a plan has a value of; success is kept apart (a probability, multiplied).
METRIC_FIELDS: tuple[str, ...] = tuple(m for m in METRICS if m != "success")


@dataclass(frozen=True)
class Metrics:
    """Expected totals. ``latency`` is the critical path in forward passes, ``latency_calls``
    in sequential rounds of calls; the others are sums over every call."""

    calls: float = 0.0
    forward_passes: float = 0.0
    cost: float = 0.0
    tokens: float = 0.0
    dollars: float = 0.0
    latency: float = 0.0
    latency_calls: float = 0.0
    seconds: float = 0.0  # the critical path in seconds (0 when no model of it has a speed)

    def __add__(self, other: Metrics) -> Metrics:
        return Metrics(
            self.calls + other.calls,
            self.forward_passes + other.forward_passes,
            self.cost + other.cost,
            self.tokens + other.tokens,
            self.dollars + other.dollars,
            self.latency + other.latency,
            self.latency_calls + other.latency_calls,
            self.seconds + other.seconds,
        )

    def values(self) -> tuple[float, ...]:
        """The totals in the order of ``METRIC_FIELDS``."""
        return (
            self.calls,
            self.forward_passes,
            self.cost,
            self.tokens,
            self.dollars,
            self.latency,
            self.latency_calls,
            self.seconds,
        )

    def scale(self, factor: float, latency_factor: float | None = None) -> Metrics:
        """Every total times ``factor``; latencies times ``latency_factor`` (default: same)."""
        return Metrics(*self.scaled(factor, latency_factor))

    def scaled(self, factor: float, latency_factor: float | None = None) -> tuple[float, ...]:
        """``scale``'s totals as a tuple in the order of ``METRIC_FIELDS``."""
        lf = factor if latency_factor is None else latency_factor
        return (
            self.calls * factor,
            self.forward_passes * factor,
            self.cost * factor,
            self.tokens * factor,
            self.dollars * factor,
            self.latency * lf,
            self.latency_calls * lf,
            self.seconds * lf,
        )

    def with_latency(self, latency: float, latency_calls: float) -> Metrics:
        return replace(self, latency=latency, latency_calls=latency_calls)

    def as_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class OpEval:
    """One op's part of a stage: what the explainer and the topology print.

    ``role`` is ``op`` for the stage's own ops, ``verifier`` for an LLM check run by a retry,
    ``classifier`` for a router's call. ``decisions`` is how many decisions it makes in the
    stage (chunks C, or the nodes of one tree level), ``samples`` the expected calls of the op
    per decision, ``reads``/``writes`` the tokens of one call (``reads`` without history).
    """

    stage: int
    op: str
    role: str
    model: str
    booster: str  # none | ahead_by | majority | retry
    votes: int | None
    retries: int | str | None
    check: str | None
    x: int
    reads: float
    writes: float
    history_reads: float  # mean extra tokens read from the conversation (history full)
    decisions: int
    samples: float
    success: float  # per decision (a verifier's 1: its accuracy is folded into the op's)
    metrics: Metrics
    level: int | None = None  # reduce: tree level (1 = the leaves' parents)
    cost_share: float = 0.0


@dataclass(frozen=True)
class StageEval:
    """One stage: chunks C, the shared x, tree levels for a reduce, metrics and success."""

    index: int
    kind: str  # map | chain | reduce | combine | route
    ops: tuple[str, ...]
    over: str | None
    chunks: int
    x: int | None
    metrics: Metrics
    log_success: float
    history: str | None = None
    fanin: int | None = None
    levels: tuple[tuple[int, int], ...] = ()  # reduce: (nodes, x) per level
    op_evals: tuple[OpEval, ...] = ()
    # the stage's factor in the bound on ln(accuracy) (docs/model.md §3, items)
    log_accuracy: float = 0.0
    # a nested stage: its enclosing stage and its runs in all (``aalp.plan.nested``)
    within: int | None = None
    runs: int = 1
    # a repeated stage (repeat S K then vote): K, its metrics and success the K runs' and vote's
    repeat: int | None = None

    @property
    def success(self) -> float:
        return math.exp(self.log_success)


@dataclass(frozen=True)
class RequirementCheck:
    """One ``require`` line held against the plan's value."""

    metric: str
    cmp: str
    bound: float
    value: float
    ok: bool

    def __str__(self) -> str:
        verdict = "met" if self.ok else "NOT met"
        return f"{self.metric} {self.cmp} {self.bound:g}: {self.value:.6g} ({verdict})"


@dataclass(frozen=True)
class Evaluation:
    """The metrics of one fully decided plan (docs/model.md §1–4).

    ``feasible`` is False when the plan cannot run as stated (``problems`` says why, with
    numbers); ``meets`` is True when it is feasible and every requirement holds.
    """

    task: str
    decisions: dict[str, Any]
    metrics: Metrics
    log_success: float
    stages: tuple[StageEval, ...]
    feasible: bool
    problems: tuple[str, ...]
    requirements: tuple[RequirementCheck, ...]
    objective: tuple[str, str] = ("minimize", "cost")
    assumptions: tuple[str, ...] = field(default=())
    plan: Plan | None = field(default=None, compare=False, repr=False)
    # ln of the expected fraction of the items (of data ``items``, ``item_count`` of them)
    # whose result is right, bounded from below (docs/model.md §3, items); 0 without items
    log_accuracy: float = 0.0
    items: str | None = None
    item_count: float | None = None

    @property
    def success(self) -> float:
        """P(every stage succeeds)."""
        return math.exp(self.log_success)

    @property
    def accuracy(self) -> float | None:
        """The expected fraction of items right (None when the task has no items)."""
        return None if self.items is None else math.exp(self.log_accuracy)

    @property
    def errors(self) -> float | None:
        """The expected number of items whose result is wrong (None without items)."""
        if self.items is None or self.item_count is None:
            return None
        return self.item_count * -math.expm1(self.log_accuracy)

    @property
    def failure(self) -> float:
        """1 − success, precise when tiny."""
        return -math.expm1(self.log_success)

    @property
    def meets(self) -> bool:
        return self.feasible and all(r.ok for r in self.requirements)

    @property
    def ops(self) -> tuple[OpEval, ...]:
        return tuple(o for s in self.stages for o in s.op_evals)

    def value(self, metric: str) -> float:
        """The value of a metric (``success``, ``accuracy`` and ``errors`` included)."""
        if metric == "success":
            return self.success
        if metric in ("accuracy", "errors"):
            got = getattr(self, metric)
            return math.nan if got is None else float(got)
        return float(getattr(self.metrics, metric))

    @property
    def objective_value(self) -> float:
        return self.value(self.objective[1])

"""The explain report's types, field for field the JSON documented in docs/explain.md.

Every number in a report is already JSON-safe (``aalp.explainer.report`` rounds it): an int, a
float of 12 significant digits, or ``"inf"``/``"nan"``. Field order is the JSON key order, so
``to_json`` is byte-identical for the same report.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# A JSON-safe number (or a decision's value, which may be a name such as "ahead_by").
Number = int | float | str | None
Metrics = Mapping[str, Number]
Decisions = Mapping[str, Number]


@dataclass(frozen=True)
class Call:
    """One op's row of a stage (or of a router or verifier it calls)."""

    op: str
    role: str  # "op", "classifier", "verifier", "judge" or "scorer"
    model: str
    booster: str  # none, ahead_by, majority or retry
    votes: int | None
    retries: Number
    check: str | None
    x: int
    level: int | None  # a reduce's tree level
    reads: Number
    writes: Number
    history_reads: Number
    decisions: int
    samples_per_decision: Number
    success_per_decision: Number
    metrics: Metrics
    cost_share: Number
    # the op runs on a tool, ``model`` names it (JSON: only when true)
    tool: bool = dataclasses.field(default=False, metadata={"omit": False})


@dataclass(frozen=True)
class Stage:
    """One stage of the plan and its calls."""

    index: int
    kind: str
    ops: tuple[str, ...]
    over: str | None
    chunks: int
    x: int | None
    history: str | None
    fanin: int | None
    levels: tuple[tuple[int, ...], ...]  # a reduce's (nodes, x) per tree level
    metrics: Metrics
    success: Number
    calls: tuple[Call, ...]
    # the stage's factor in the plan's accuracy (None when the task has no items)
    accuracy: Number = None
    # a nested stage: the index of its enclosing stage and its runs in all, once per chunk of
    # it (``chunks`` and ``x`` are one run's; ``metrics`` and ``success`` all runs'); left out
    # of the JSON for a top-level stage
    within: int | None = field(default=None, metadata={"omit": None})
    runs: int = field(default=1, metadata={"omit": 1})
    # a repeated stage (repeat S K then vote): K runs of it and its nested stages, voted
    repeat: int | None = field(default=None, metadata={"omit": None})


@dataclass(frozen=True)
class GrowthFit:
    """How the objective grows in the size ``variable`` (``cls`` is the JSON's ``class``)."""

    variable: str
    metric: str
    cls: str = field(metadata={"key": "class"})
    claimed: str | None
    fitted_slope: Number
    ratio_slope: Number
    confirmed: bool
    sizes: tuple[Number, ...]
    values: tuple[Number, ...]


@dataclass(frozen=True)
class Objective:
    sense: str
    metric: str
    value: Number


@dataclass(frozen=True)
class Requirement:
    metric: str
    cmp: str
    bound: Number
    value: Number
    ok: bool


@dataclass(frozen=True)
class Baseline:
    """A baseline of the spec, measured like the plan (its metrics are None when it cannot
    run)."""

    name: str
    pins: Decisions
    feasible: bool
    metrics: Metrics | None
    success: Number
    ratio: Number
    decisions: Decisions | None
    problems: tuple[str, ...]
    growth: GrowthFit | None
    growth_all: str | None
    accuracy: Number = None
    errors: Number = None


@dataclass(frozen=True)
class Point:
    """A plan on a frontier: its value of the frontier's ``metric`` (the JSON key is the
    metric's name), success, latency and decisions."""

    metric: str
    value: Number
    success: Number
    latency: Number
    decisions: Decisions
    measure: str = "success"  # what ``success`` holds: success, or accuracy (model.md §4)

    def as_dict(self) -> dict[str, Any]:
        # One literal, as the JSON has always been built: with metric "latency" the first key
        # is kept and takes the latency; the reliability is keyed by the measure carried.
        return {
            self.metric: self.value,
            self.measure: self.success,
            "latency": self.latency,
            "decisions": dict(self.decisions),
        }


@dataclass(frozen=True)
class Frontier:
    metric: str
    vs_success: tuple[Point, ...]
    vs_latency: tuple[Point, ...]
    measure: str = "success"  # vs_success is against accuracy when the task bounds it


@dataclass(frozen=True)
class Report:
    """The explain report of one task."""

    schema: int
    task: str
    feasible: bool
    objective: Objective
    requirements: tuple[Requirement, ...]
    metrics: Metrics | None
    success: Number
    decisions: Decisions
    stages: tuple[Stage, ...]
    closed_form: str | None
    closed_form_asymptotic: str | None
    growth: GrowthFit | None
    growth_all: str | None
    growth_note: str | None
    baselines: tuple[Baseline, ...]
    frontier: Frontier
    assumptions: tuple[str, ...]
    notes: tuple[str, ...]
    why: tuple[str, ...]
    pins: Decisions
    # per-item reliability (docs/model.md §3, items): None when the task has no items
    items: str | None = None
    item_count: Number = None
    accuracy: Number = None
    errors: Number = None
    reliability_note: str | None = None


def plain(value: Any) -> Any:
    """``value`` as JSON data: a report type as a dict in field order, tuples as lists.

    >>> plain(Objective("minimize", "cost", 12))
    {'sense': 'minimize', 'metric': 'cost', 'value': 12}
    """
    if isinstance(value, Point):
        return value.as_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.metadata.get("key", f.name): plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if "omit" not in f.metadata or getattr(value, f.name) != f.metadata["omit"]
        }
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    return value


def to_json(rep: Report) -> str:
    """The report as JSON text (stable: same input, same bytes)."""
    return json.dumps(plain(rep), indent=2, ensure_ascii=False) + "\n"

"""The typed plan: what one set of decisions makes of a checked task.

A ``Plan`` is made once, by ``aalp.plan.build.build_plan``, from a checked spec and a set of
decisions, and everything after the optimizer reads it: the cost model (exact and symbolic), the
topology, the Monte Carlo simulation, the prediction of a run and every backend. It holds each
op's model, granularity x and booster, and each stage's exact counts: chunks (with the stride of
overlapping windows), the levels of a reduce tree, the fan-in and the history policy. None of its
readers derives a count again.

The decision dict (``{"move.x": 4, "move.vote": "ahead_by", ...}``) remains only as the JSON and
command-line form of a plan (``Plan.decisions``).

>>> booster_text(Vote("ahead_by", 3)), booster_text(Retry("judge", None), "long")
('ahead_by k=3', 'retry unbounded until judge accepts')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal, NamedTuple

from aalp import codes
from aalp.diagnostics import AalpError
from aalp.front.ir import VOTE_KINDS

STAGE_KINDS: tuple[str, ...] = ("map", "chain", "reduce", "combine", "route")
ROLES: tuple[str, ...] = ("op", "verifier", "judge", "scorer", "classifier", "idle")


class DecisionError(AalpError, ValueError):
    """A decision is missing or has a value of the wrong kind; ``key`` names it."""

    code = codes.BAD_DECISION

    def __init__(self, message: str, key: str):
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class Vote:
    """Vote on every decision: first-to-ahead-by-k (``ahead_by``) or majority of K (odd)."""

    kind: Literal["ahead_by", "majority"]
    k: int


@dataclass(frozen=True)
class Retry:
    """Retry a decision until ``check`` accepts it (``exact``: a check in code; otherwise the
    verifier op), at most ``max`` tries (None: until accepted)."""

    check: str
    max: int | None


@dataclass(frozen=True)
class Judge:
    """Best of ``n`` samples: the judge op ``judge`` reads them all and picks one
    (docs/model.md §2, judge)."""

    judge: str
    n: int


@dataclass(frozen=True)
class Expand:
    """Beam search (docs/model.md §2, expand): ``width`` candidates per node, the ``keep``
    best by ``scorer`` kept per level, ``depth`` levels."""

    scorer: str
    width: int
    keep: int
    depth: int


Booster = Vote | Retry | Judge | Expand | None


def booster_of(kind: str, votes: Any = None, retries: Any = None, check: Any = None) -> Booster:
    """A booster from its flat form (``kind`` none | ahead_by | majority | retry, as in the
    JSON reports and the view); ``retries`` None or ``"inf"`` is unbounded."""
    if kind == "judge":
        return Judge(str(check), int(votes))
    if kind == "expand":  # its keep and depth are the spec's, not part of the flat form
        return Expand(str(check), int(votes), 0, 0)
    if kind in VOTE_KINDS:
        return Vote(kind, int(votes))  # type: ignore[arg-type]
    if kind == "retry":
        bound = None if retries in (None, "inf") else int(retries)
        return Retry(str(check or "exact"), bound)
    return None


def booster_text(booster: Booster, style: str = "short") -> str:
    """The one printer of a booster: ``short`` for reports and the explorer (``ahead_by k=3``),
    ``long`` for the header of an emitted program (``first-to-ahead-by-3 voting``)."""
    long = style == "long"
    match booster:
        case Vote(kind="ahead_by", k=k):
            return f"first-to-ahead-by-{k} voting" if long else f"ahead_by k={k}"
        case Vote(kind=_, k=k):
            return f"majority of {k}" if long else f"majority K={k}"
        case Expand(scorer=scorer, width=b, keep=0):
            return f"beam search of width {b} scored by {scorer}" if long else f"expand b={b}"
        case Expand(scorer=scorer, width=b, keep=w, depth=d):
            what = f"beam search of width {b}, keep {w}, depth {d}, scored by {scorer}"
            return what if long else f"expand b={b} w={w} d={d} by {scorer}"
        case Judge(judge=judge, n=n):
            return f"best of {n} picked by {judge}" if long else f"judge {judge} n={n}"
        case Retry(check=check, max=bound) if long:
            limit = "unbounded" if bound is None else f"up to {bound}"
            return f"retry {limit} until {check} accepts"
        case Retry(check=check, max=bound):
            return f"retry r={'inf' if bound is None else bound} until {check}"
    return "one sample" if long else "no booster"


@dataclass(frozen=True)
class Choice:
    """An op's decided model and booster (with the verifier's model for a verified retry).

    ``kind``, ``votes``, ``retries`` and ``check`` read the booster in the cost model's terms:
    ``kind`` is none | ahead_by | majority | retry, ``retries`` is ``"inf"`` for an unbounded
    retry."""

    model: str
    boost: Booster = None
    verifier_model: str | None = None

    @property
    def kind(self) -> str:
        b = self.boost
        if isinstance(b, Judge):
            return "judge"
        if isinstance(b, Expand):
            return "expand"
        return "none" if b is None else (b.kind if isinstance(b, Vote) else "retry")

    @property
    def votes(self) -> int | None:
        if isinstance(self.boost, Judge):
            return self.boost.n
        if isinstance(self.boost, Expand):
            return self.boost.width
        return self.boost.k if isinstance(self.boost, Vote) else None

    @property
    def judge(self) -> str | None:
        """The judge op of a best-of-n vote."""
        return self.boost.judge if isinstance(self.boost, Judge) else None

    @property
    def checker(self) -> str | None:
        """The LLM op that runs beside this one: a retry's verifier or a vote's judge (its
        model is ``verifier_model``)."""
        if isinstance(self.boost, Judge):
            return self.boost.judge
        if isinstance(self.boost, Expand):
            return self.boost.scorer
        check = self.check
        return None if check in (None, "exact") else check

    @property
    def retries(self) -> int | str | None:
        if not isinstance(self.boost, Retry):
            return None
        return "inf" if self.boost.max is None else self.boost.max

    @property
    def check(self) -> str | None:
        return self.boost.check if isinstance(self.boost, Retry) else None


@dataclass(frozen=True)
class OpPlan:
    """One op as the plan runs it: ``role`` op (a stage runs it), verifier (a retry's check),
    judge (a best-of-n vote's pick),
    classifier (a router's call) or idle (not run: a verifier no retry uses, the classifier of
    a route no model needs); x is 1 for an op without a granularity (a reduce's varies by
    level: see its stage's ``levels``)."""

    name: str
    role: str
    x: int
    choice: Choice

    @property
    def model(self) -> str:
        return self.choice.model

    @property
    def booster(self) -> Booster:
        return self.choice.boost


class Level(NamedTuple):
    """One level of a reduce tree: ``nodes`` calls, each over ``x`` units."""

    nodes: int
    x: int


@dataclass(frozen=True)
class StagePlan:
    """One stage under its decisions.

    ``chunks`` is the number of decisions the stage makes: chunks of a map or steps of a chain
    (windows of x advancing by ``stride`` when a map overlaps), every node of a reduce tree,
    1 for a combine, 0 for a route (its calls are counted with the op it routes). ``units`` is
    the size of the data the stage runs over (a reduce: of its input stage's data). ``stages``
    holds the stages run per unit, for nested pipelines (empty today).
    """

    index: int
    kind: str
    ops: tuple[str, ...]
    chunks: int
    over: str | None = None
    units: int | Fraction | float | None = None
    x: int | None = None
    overlap: Fraction | float | None = None
    stride: Fraction | float | None = None  # how far a window advances: x, or x·(1 − ρ)
    history: str | None = None
    fanin: int | None = None
    inputs: int | None = None  # reduce: the outputs it merges (the previous stage's chunks)
    unit: int | None = None  # reduce: units under one input
    levels: tuple[Level, ...] = ()
    how: str | None = None  # combine
    classifier: str | None = None  # route
    op_x: tuple[tuple[str, int], ...] = ()
    problems: tuple[str, ...] = ()
    stages: tuple[StagePlan, ...] = ()
    # A nested stage (aalp.plan.nested): the stage it runs in, the times it runs in all (the
    # product of its enclosing stages' chunks), the latency factor of the enclosing chunks,
    # the workers one run of it has (None: unbounded) and how many of its runs an item of the
    # task rests on.
    within: int | None = None
    runs: int = 1
    outer_latency: float = 1.0
    share: float | None = None
    outer_weight: float = 1.0

    def x_of(self, op: str) -> int:
        """The granularity of one of the stage's ops (1 without one)."""
        return dict(self.op_x).get(op, 1)


@dataclass(frozen=True)
class Plan:
    """A task under one full set of decisions (see the module docstring)."""

    task: str
    stages: tuple[StagePlan, ...]
    ops: tuple[OpPlan, ...]
    decisions: dict[str, int | str] = field(default_factory=dict)
    problems: tuple[str, ...] = ()

    def op(self, name: str) -> OpPlan:
        for o in self.ops:
            if o.name == name:
                return o
        raise KeyError(name)

    def walk(self) -> tuple[StagePlan, ...]:
        """Every stage, nested ones after their parent."""
        out: list[StagePlan] = []
        for s in self.stages:
            out.append(s)
            out.extend(_nested(s))
        return tuple(out)

    @property
    def feasible(self) -> bool:
        """No problem with the plan's shape (the cost model may still find one)."""
        return not self.problems and not any(s.problems for s in self.walk())


def _nested(stage: StagePlan) -> list[StagePlan]:
    out: list[StagePlan] = []
    for s in stage.stages:
        out.append(s)
        out.extend(_nested(s))
    return out

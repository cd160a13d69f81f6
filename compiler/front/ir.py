"""The typed, immutable IR of a spec.

The parser builds these frozen dataclasses; the checker validates them; every later pass (cost
model, optimizer, topology, backends, explorer) reads them. Source spans never take part in
equality, so a spec printed by the formatter and parsed again compares equal to the original.

Semantics (the cost model in ``docs/model.md`` is the authority):

* A spec has size parameters, models and tasks.
* A task has data (``items`` collections and ``steps`` sequences), ops (one LLM call each),
  stages (how ops combine, run in order), boosters it allows, requirements, one objective and
  baselines (decision pins evaluated as given).
* Everything the optimizer may choose is a *decision*, addressed ``op.field``
  (``move.x``, ``move.model``, ``move.vote``, ``move.votes``, ``move.retries``, ``merge.fanin``,
  ``fix.history``). A pin fixes a decision in the main plan or in a baseline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from typing import Literal


@dataclass(frozen=True)
class Span:
    """A source position: 1-based line and column of the first and last character."""

    file: str
    line: int
    col: int
    end_line: int
    end_col: int


NO_SPAN = Span("<none>", 0, 0, 0, 0)


# ---------------------------------------------------------------------------------------------
# Formulas
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Num:
    """A numeric literal. ``value`` is exact; ``text`` is the literal as written (``128k``)."""

    value: Fraction
    text: str = field(default="", compare=False)
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Name:
    """A reference to a size parameter, a data size, or the granularity ``x``."""

    id: str
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


BinOpKind = Literal["+", "-", "*", "/", "^"]


@dataclass(frozen=True)
class BinOp:
    op: BinOpKind
    left: Expr
    right: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Neg:
    operand: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


FUNCTIONS = ("log", "log2", "ln", "exp", "sqrt", "ceil", "floor", "min", "max")


@dataclass(frozen=True)
class Call:
    """A call of one of ``FUNCTIONS`` (``log(x)`` is the natural log; ``log(x, b)`` base b)."""

    func: str
    args: tuple[Expr, ...]
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


Expr = Num | Name | BinOp | Neg | Call


# ---------------------------------------------------------------------------------------------
# Declarations
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """``param disks = 20``: a size parameter; ``-D disks=10`` overrides it."""

    name: str
    value: Expr
    doc: str = field(default="", compare=False)
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Capability:
    """``can solve`` or ``can solve if routed`` (usable for ``solve`` only behind a router)."""

    op: str
    routed: bool = False
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


# How a call's cost grows with the context it reads (docs/model.md §1); ``linear`` by default.
ATTENTION: tuple[str, ...] = ("linear", "quadratic")


@dataclass(frozen=True)
class Attention:
    """``attention quadratic``: a model's, or the spec-wide, attention. ``kind`` is the word as
    written (the checker refuses one that is not in ``ATTENTION``)."""

    kind: str
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Model:
    """A model: relative size m, context window in tokens, dollars per million tokens, and its
    attention (None: the spec-wide setting, else linear)."""

    name: str
    size: Expr
    context: Expr
    price_in: Expr
    price_out: Expr
    capabilities: tuple[Capability, ...]
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    attention: Attention | None = None
    speed: Speed | None = None


@dataclass(frozen=True)
class Speed:
    """``speed prefill 5000 tok/s decode 80 tok/s overhead 200 ms``: how fast a model reads and
    writes (tokens per second) and its fixed time per call (``overhead_ms``, in milliseconds);
    a part left out adds no time (docs/model.md §1, seconds)."""

    prefill: Expr | None = None
    decode: Expr | None = None
    overhead_ms: Expr | None = None
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Tool:
    """``tool web { price 0.001 per call  latency 300 ms  success 0.98 }``: a step that is not
    an LLM call (docs/model.md §1, tools). A part left out is None: price 0 dollars, latency
    0 ms, success 1 (``latency_ms`` in milliseconds; an op on the tool without its own
    ``success`` takes the tool's)."""

    name: str
    price: Expr | None = None
    latency_ms: Expr | None = None
    success: Expr | None = None
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


DataKind = Literal["items", "steps"]


@dataclass(frozen=True)
class Data:
    """``items code = k of l tokens`` (a collection) or ``steps s = 2^disks - 1`` (a sequence).

    ``tokens`` is the size of one unit (1 when omitted; steps have no size of their own).
    """

    name: str
    kind: DataKind
    count: Expr
    tokens: Expr | None = None
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Outcome:
    """One component of a success mixture: with probability ``weight`` a call succeeds w.p. ``p``.

    A plain ``success p`` is the single outcome ``(1, p)``. ``success mixture(a: p1, 1-a: p2)``
    models inputs of different difficulty: all samples of one input share its component.
    """

    weight: Expr
    p: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class ModelSuccess:
    """``success on big 0.999^x``: the op's success when run on that model."""

    model: str
    outcomes: tuple[Outcome, ...]
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class RedFlag:
    """Discard a response (and sample again) if it is too long or unparsable.

    ``keep`` is the fraction of responses that pass (MAKER's v); 1 when omitted.
    """

    max_writes: Expr | None
    unparsable: bool
    keep: Expr | None = None
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Prompt:
    """The prompt: inline text, or a file path relative to the spec."""

    text: str | None = None
    file: str | None = None
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


AnswerFormat = Literal["text", "json", "number", "list", "choice"]


@dataclass(frozen=True)
class Granularity:
    """``op move(x of s)``: x units of data ``s`` per call, 1 <= x <= count(s) (or ``upto``)."""

    var: str  # always "x" today; kept so messages can name it
    data: str
    upto: Expr | None = None
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Op:
    """One kind of LLM call.

    ``reads``/``writes`` are token counts per call and ``success`` the probability that one
    valid response is right; all are formulas in ``x`` and the parameters.
    """

    name: str
    granularity: Granularity | None
    models: tuple[str, ...]
    reads: Expr
    writes: Expr
    success: tuple[Outcome, ...]
    success_on: tuple[ModelSuccess, ...] = ()
    rival: Expr | None = None  # P(the most common wrong answer); default 1 - success
    red_flag: RedFlag | None = None
    prompt: Prompt | None = None
    answer: AnswerFormat = "text"
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    answer_span: Span = field(default=NO_SPAN, compare=False, repr=False)  # the answer clause
    # the token clauses written (``reads``, ``writes``): an op on a tool writes neither, and
    # its reads and writes are then 0
    io: tuple[str, ...] = ("reads", "writes")


# ---------------------------------------------------------------------------------------------
# How ops combine: stages, run in the order written; each consumes the previous one's output.
# ---------------------------------------------------------------------------------------------

History = Literal["stateless", "full", "choose"]


@dataclass(frozen=True)
class MapStage:
    """``map check, fix over code [overlap 0.5] [success FORMULA]``.

    Splits ``over`` into chunks (x units of it per call when the op's granularity is that data,
    one unit per call otherwise); every chunk runs the ops in order; chunks run in parallel.
    ``success`` overrides the product of per-call successes (it may use ``x`` and ``calls``).
    """

    ops: tuple[str, ...]
    over: str
    overlap: Expr | None = None
    success: Expr | None = None
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    # ``{ stage* }``: stages run once per chunk (docs/language.md §5.3, nested stages)
    body: tuple[Stage, ...] = ()


@dataclass(frozen=True)
class ChainStage:
    """``chain move over s [history full|stateless|choose]``: the steps run one after another.

    With ``history full`` each call also reads the whole conversation so far (every earlier
    call's input and output in this chain); ``choose`` makes it a decision.
    """

    ops: tuple[str, ...]
    over: str
    history: History = "stateless"
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    body: tuple[Stage, ...] = ()  # stages run once per step (nested stages)


@dataclass(frozen=True)
class ReduceStage:
    """``reduce merge [fanin 4 | fanin choose]``: a tree over the previous stage's outputs.

    Each node merges ``fanin`` children; the op's ``x`` is the number of original units under
    the node.
    """

    op: str
    fanin: Expr | None = None  # None = choose
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


# The ways a combine stage can merge outputs in code (each has code in every target).
COMBINES = ("sum", "concat", "merge", "vote", "max", "min", "count", "first", "last", "all", "any")


@dataclass(frozen=True)
class CombineStage:
    """``combine sum``: exact combination in code (one of ``COMBINES``); free."""

    how: str
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class RouteStage:
    """``route solve by classify``: when ``solve`` runs on a model that can do it only if
    routed, ``classify`` runs first (once per call of ``solve``)."""

    op: str
    classifier: str
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


Stage = MapStage | ChainStage | ReduceStage | CombineStage | RouteStage


def stage_ops(stage: Stage) -> tuple[str, ...]:
    """The LLM ops a stage runs (a route stage names the op and its classifier)."""
    match stage:
        case MapStage(ops=ops) | ChainStage(ops=ops):
            return ops
        case ReduceStage(op=op):
            return (op,)
        case RouteStage(op=op, classifier=cls):
            return (op, cls)
    return ()


# ---------------------------------------------------------------------------------------------
# Boosters, requirements, objective, baselines
# ---------------------------------------------------------------------------------------------

VoteKind = Literal["ahead_by", "majority", "judge"]
# The language's words for a vote and a chain's history (``allow vote KIND``, ``pin op.vote``,
# ``history full``): every other module reads them from here.
VOTE_KINDS: tuple[str, ...] = ("ahead_by", "majority", "judge", "expand")
VOTE_WORDS: tuple[str, ...] = ("none", *VOTE_KINDS)
HISTORY_WORDS: tuple[str, ...] = ("stateless", "full")


@dataclass(frozen=True)
class VoteBooster:
    """``allow vote ahead_by [max 20] [on move, ...]``, or ``allow vote judge J [max n] [on
    ...]``: best of n samples, picked by the judge op ``J`` (kind ``judge``)."""

    kind: VoteKind
    max: Expr | None = None
    ops: tuple[str, ...] = ()  # empty = every op
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    judge: str | None = None  # the judge op of kind ``judge``


@dataclass(frozen=True)
class RetryBooster:
    """``allow retry [max 5] until exact|OP [on mutate]``: verify and retry.

    ``until exact`` is a verifier in code; ``until OP`` an LLM verifier op whose ``success`` is
    its accuracy. ``max`` None = unbounded retries for an exact check.
    """

    check: str  # "exact" or an op name
    max: Expr | None = None
    ops: tuple[str, ...] = ()
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


# The most candidates one level of a beam search may hold (width × keep): its success is
# computed exactly (aalp.model.beam), at a cost that grows as the cube of the candidates.
BEAM_MAX_CANDIDATES = 32


@dataclass(frozen=True)
class ExpandBooster:
    """``expand OP by SCORE width b keep w depth d``: every decision of ``op`` is a beam
    search of ``depth`` levels, ``width`` candidates per node kept (None: ``choose``, the
    optimizer's decision ``op.votes``), the ``keep`` best by ``scorer`` kept per level."""

    op: str
    scorer: str
    width: Expr | None
    keep: Expr
    depth: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    kind: str = "expand"
    max: Expr | None = None  # the booster's common fields: no 'max' (width is the count)

    @property
    def ops(self) -> tuple[str, ...]:
        return (self.op,)


Booster = VoteBooster | RetryBooster | ExpandBooster


def checking_op(booster: Booster) -> str | None:
    """The LLM op a booster calls beside the op it boosts: a retry's verifier or a vote's
    judge (None for an exact check and for ahead_by and majority votes)."""
    if isinstance(booster, RetryBooster):
        return None if booster.check == "exact" else booster.check
    if isinstance(booster, ExpandBooster):
        return booster.scorer
    return booster.judge if booster.kind == "judge" else None


Metric = Literal[
    "calls",
    "forward_passes",
    "cost",
    "tokens",
    "dollars",
    "latency",
    "latency_calls",
    "seconds",
    "success",
]
METRICS: tuple[str, ...] = (
    "calls",
    "forward_passes",
    "cost",
    "tokens",
    "dollars",
    "latency",
    "latency_calls",
    "seconds",
    "success",
)
# The metrics that are a critical path (max over parallel copies, not a sum of them).
LATENCY_METRICS: tuple[str, ...] = ("latency", "latency_calls", "seconds")

# Per-item measures (docs/model.md §3, items): bounded by ``require``, over a task's items.
ITEM_METRICS: tuple[str, ...] = ("accuracy", "errors")
REQUIRE_METRICS: tuple[str, ...] = METRICS + ITEM_METRICS


@dataclass(frozen=True)
class Requirement:
    """``require success >= 0.99``, ``require dollars <= 10``, ``require latency <= 1e6``,
    ``require accuracy [of DATA] >= 0.999``, ``require errors [of DATA] <= 100``.

    ``data`` names the items an ``accuracy`` or ``errors`` bound counts (None: the data of the
    task's first map)."""

    metric: str
    cmp: Literal[">=", "<="]
    bound: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    data: str | None = None


@dataclass(frozen=True)
class Objective:
    sense: Literal["minimize", "maximize"]
    metric: str
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Pin:
    """``move.x = s``, ``move.vote = none``, ``solve.model = generalist``.

    ``value`` is a formula, or a bare word for symbolic decisions (kept as a ``Name``).
    """

    op: str
    field: str
    value: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


PIN_FIELDS = ("x", "model", "vote", "votes", "retries", "fanin", "history")


@dataclass(frozen=True)
class Baseline:
    name: str
    pins: tuple[Pin, ...]
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Repeat:
    """``repeat STAGE K then vote``: K independent runs of the ``stage``-th top-level stage of
    the task (its nested stages with it), then a majority of their final answers. ``count``
    None is ``choose`` (the optimizer picks an odd K)."""

    stage: int  # index among the task's top-level stages, in order
    count: Expr | None
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Task:
    name: str
    data: tuple[Data, ...]
    ops: tuple[Op, ...]
    stages: tuple[Stage, ...]
    boosters: tuple[Booster, ...] = ()
    requirements: tuple[Requirement, ...] = ()
    objective: Objective | None = None
    pins: tuple[Pin, ...] = ()
    baselines: tuple[Baseline, ...] = ()
    workers: Expr | None = None  # ``workers 8``: bounded parallelism; None = unbounded
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    # In a checked spec, ``stages`` is flat (nested stages follow their enclosing stage, in
    # order) and ``within[i]`` is the index of stage i's enclosing stage, None at top level;
    # empty when no stage nests (aalp.front.nesting).
    within: tuple[int | None, ...] = ()
    # ``repeat STAGE K then vote`` clauses (aalp.front.repeat): each names a top-level stage.
    repeats: tuple[Repeat, ...] = ()

    def op(self, name: str) -> Op:
        """The op named ``name`` (``KeyError`` when there is none)."""
        return self._ops_by_name[name]

    def datum(self, name: str) -> Data:
        return next(d for d in self.data if d.name == name)

    @cached_property
    def _ops_by_name(self) -> dict[str, Op]:
        out: dict[str, Op] = {}
        for o in self.ops:
            out.setdefault(o.name, o)  # the first of a duplicate name, as a scan finds it
        return out


@dataclass(frozen=True)
class Comment:
    """A ``# comment`` as written (including the ``#``), kept for the formatter."""

    text: str
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Layout:
    """Source trivia the formatter writes back: comments and blank lines. No meaning."""

    comments: tuple[Comment, ...] = ()
    blank_lines: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Spec:
    params: tuple[Param, ...]
    models: tuple[Model, ...]
    tasks: tuple[Task, ...]
    file: str = field(default="<spec>", compare=False)
    layout: Layout = field(default=Layout(), compare=False, repr=False)
    attention: Attention | None = None  # the spec-wide setting (a model's own wins)
    tools: tuple[Tool, ...] = ()

    def model(self, name: str) -> Model:
        return next(m for m in self.models if m.name == name)

    def tool_of(self, op: Op) -> Tool | None:
        """The tool ``op`` runs on, if it names one in its ``on`` list."""
        return next((t for t in self.tools if t.name in op.models), None)

    def attention_of(self, model: Model) -> str:
        """The attention a model's calls are costed with: its own, else the spec's, else
        linear."""
        setting = model.attention or self.attention
        return setting.kind if setting is not None else "linear"


# The functions a formula may call, with their least and most argument counts.
ARITY: dict[str, tuple[int, int]] = {
    "log": (1, 2),
    "log2": (1, 1),
    "ln": (1, 1),
    "exp": (1, 1),
    "sqrt": (1, 1),
    "ceil": (1, 1),
    "floor": (1, 1),
    "min": (1, 99),
    "max": (1, 99),
}

"""What the plan and the cost model read from a checked spec for one task: sizes, models,
capabilities, routes and boosters; nothing here depends on the decisions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aalp.front import expr as ex
from aalp.front.compiled import evaluate_at
from aalp.front.ir import (
    ITEM_METRICS,
    ExpandBooster,
    Expr,
    MapStage,
    Op,
    RetryBooster,
    RouteStage,
    Spec,
    Task,
    Tool,
    VoteBooster,
)
from aalp.front.numbers import Number, exact, float_env
from aalp.plan.pace import Pace, pace_of
from aalp.plan.plan import DecisionError


@dataclass(frozen=True)
class ModelInfo:
    name: str
    size: float
    context: float
    price_in: float
    price_out: float
    can: frozenset[str]
    can_routed: frozenset[str]
    attention: str = "linear"  # how a call's cost grows with what it reads (model.md §1)
    pace: Pace | None = None  # its speed (model.md §1, seconds); None: seconds unknown
    price_call: float = 0.0  # dollars per call: a tool's price (model.md §1, tools)
    tool: bool = False  # a tool (aalp.plan.tools): no tokens, no votes

    @property
    def quadratic(self) -> bool:
        """True when the model's prefill is costed quadratically in its context."""
        return self.attention == "quadratic"

    def allows(self, op: str) -> bool:
        """True if the model declares ``can op`` (without ``if routed``)."""
        return op in self.can


@dataclass(frozen=True)
class Context:
    """Everything about one task that does not depend on the decisions."""

    spec: Spec
    task: Task
    env: dict[str, Any]  # exact where possible
    fenv: dict[str, float]
    models: dict[str, ModelInfo]
    routes: dict[str, str]  # routed op -> classifier op
    workers: float | None
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)
    # The data whose items an accuracy counts (docs/model.md §3, items): the one a
    # ``require accuracy|errors of DATA`` names, else the first map's; None without either.
    items: str | None = None
    # What the optimizer carries as a plan's reliability: ``success`` (every item right) or,
    # when the task bounds accuracy or errors, ``accuracy`` (a lower bound on it, model.md §4).
    measure: str = "success"

    def op(self, name: str) -> Op:
        return self.task.op(name)

    def count(self, data: str) -> Number:
        """The number of units of a data name (exact when the size is)."""
        value = self.env.get(data)
        if value is None:
            value = exact(self.task.datum(data).count, self.env)
        return value

    def formula(
        self, expr: Expr, x: Number | None = None, extra: Mapping[str, float] = {}
    ) -> float:
        """Evaluate a formula at granularity x (raises ``aalp.front.expr.EvalError``)."""
        if not extra:
            return evaluate_at(expr, self.fenv, None if x is None else float(x))
        env = {**self.fenv, **extra}
        if x is not None:
            env["x"] = float(x)
        return ex.evaluate(expr, env)

    def vote_booster(self, op: str, kind: str) -> VoteBooster | None:
        for b in self.task.boosters:
            if isinstance(b, VoteBooster) and b.kind == kind and (not b.ops or op in b.ops):
                return b
        return None

    def expand_booster(self, op: str) -> ExpandBooster | None:
        """The beam search every decision of ``op`` is (``expand op by ...``), if any."""
        for b in self.task.boosters:
            if isinstance(b, ExpandBooster) and b.op == op:
                return b
        return None

    def beam(self, op: str) -> tuple[int, int]:
        """``(keep, depth)`` of op's beam search, evaluated."""
        b = self.expand_booster(op)
        assert b is not None
        return int(self.formula(b.keep)), int(self.formula(b.depth))

    def retry_booster(self, op: str) -> RetryBooster | None:
        for b in self.task.boosters:
            if isinstance(b, RetryBooster) and (not b.ops or op in b.ops):
                return b
        return None

    def has_booster(self, op: str) -> bool:
        return any(not b.ops or op in b.ops for b in self.task.boosters)

    def candidate_models(self, op: str) -> list[str]:
        """Models the op may run on: its ``on`` list (or every model), filtered by capability."""
        names = list(self.task.op(op).models) or list(self.models)
        return [
            m
            for m in names
            if m in self.models
            and (
                self.models[m].allows(op) or (op in self.models[m].can_routed and op in self.routes)
            )
        ]

    def routed(self, op: str, model: str) -> bool:
        """True when ``op`` on ``model`` needs its router's classifier first."""
        info = self.models.get(model)
        return (
            info is not None and op in self.routes and not info.allows(op) and op in info.can_routed
        )


_CACHE: dict[tuple[int, str | None], tuple[Any, Context]] = {}


def build_context(checked: Any, task: Task | str | None = None) -> Context:
    """Read a checked spec (anything with ``spec`` and ``env``) for one task (default: first).

    The last few contexts are cached by the identity of ``checked`` (which the cache keeps
    alive, so an identity is never reused while cached): the optimizer evaluates thousands of
    plans of one spec."""
    key = (id(checked), task if isinstance(task, str | None) else task.name)
    hit = _CACHE.get(key)
    if (
        hit is not None
        and hit[0] is checked
        and (task is None or isinstance(task, str) or hit[1].task is task)
    ):
        return hit[1]
    ctx = _build_context(checked, task)
    if len(_CACHE) >= 16:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[key] = (checked, ctx)
    return ctx


def _build_context(checked: Any, task: Task | str | None) -> Context:
    spec: Spec = checked.spec
    if task is None:
        task = spec.tasks[0]
    elif isinstance(task, str):
        found = [t for t in spec.tasks if t.name == task]
        if not found:
            raise DecisionError(f"no task named '{task}'", task)
        task = found[0]
    env: dict[str, Any] = dict(checked.env)
    for d in task.data:
        if d.name not in env:
            env[d.name] = exact(d.count, env)
    fenv = float_env(env)
    models: dict[str, ModelInfo] = {}
    for m in spec.models:
        models[m.name] = ModelInfo(
            name=m.name,
            size=ex.evaluate(m.size, fenv),
            context=ex.evaluate(m.context, fenv),
            price_in=ex.evaluate(m.price_in, fenv),
            price_out=ex.evaluate(m.price_out, fenv),
            can=frozenset(c.op for c in m.capabilities if not c.routed),
            can_routed=frozenset(c.op for c in m.capabilities if c.routed),
            attention=spec.attention_of(m),
            pace=pace_of(m.speed, lambda e: ex.evaluate(e, fenv)),
        )
    for t in spec.tools:
        models[t.name] = _tool_info(spec, t, fenv)
    routes = {s.op: s.classifier for s in task.stages if isinstance(s, RouteStage)}
    workers = ex.evaluate(task.workers, fenv) if task.workers is not None else None
    items, measure = items_of(task)
    return Context(spec, task, env, fenv, models, routes, workers, items=items, measure=measure)


def _tool_info(spec: Spec, tool: Tool, fenv: dict[str, float]) -> ModelInfo:
    """A tool as a model of size 0 that its ops alone may run on (aalp.plan.tools)."""
    from aalp.plan import tools

    value = lambda e: ex.evaluate(e, fenv)  # noqa: E731
    return ModelInfo(
        name=tool.name,
        size=0.0,
        context=tools.UNBOUNDED,
        price_in=0.0,
        price_out=0.0,
        can=tools.tool_users(spec, tool),
        can_routed=frozenset(),
        pace=tools.tool_pace(tool, value),
        price_call=tools.tool_price(tool, value),
        tool=True,
    )


def items_of(task: Task) -> tuple[str | None, str]:
    """(the data an accuracy counts, the measure the optimizer carries) of a task."""
    per_item = [r for r in task.requirements if r.metric in ITEM_METRICS]
    named = next((r.data for r in per_item if r.data is not None), None)
    # the first top-level map (a nested stage's data exists once per enclosing chunk)
    top = [s for i, s in enumerate(task.stages) if not task.within or task.within[i] is None]
    first = next((s.over for s in top if isinstance(s, MapStage)), None)
    return (named or first), ("accuracy" if per_item else "success")

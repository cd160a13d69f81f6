"""What the cost model reads from a checked spec: sizes, models, boosters and decisions.

Counts are kept exact (``Fraction`` or ``int``) so that chunk counts of astronomically large
data (``s = 2^64 − 1``) are computed with integer arithmetic; formulas are evaluated in floating
point through ``aalp.front.expr``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from aalp.front import expr as ex
from aalp.front.ir import (
    BinOp,
    ChainStage,
    Expr,
    MapStage,
    Name,
    Neg,
    Num,
    Op,
    RetryBooster,
    RouteStage,
    Spec,
    Task,
    VoteBooster,
)
from aalp.model.metrics import DecisionError

Number = int | Fraction | float


def exact(expr: Expr, env: Mapping[str, Any]) -> Number:
    """Evaluate ``expr`` exactly (``Fraction``) when it uses only + − · / and integer powers
    of exact values; otherwise fall back to ``aalp.front.expr.evaluate`` (a float)."""

    def go(e: Expr) -> Number:
        match e:
            case Num(value=value):
                return Fraction(value)
            case Name(id=ident) if ident in env and isinstance(env[ident], int | Fraction):
                return Fraction(env[ident])
            case Neg(operand=operand):
                return -go(operand)
            case BinOp(op=op, left=left, right=right):
                a, b = go(left), go(right)
                if isinstance(a, Fraction) and isinstance(b, Fraction):
                    if op == "+":
                        return a + b
                    if op == "-":
                        return a - b
                    if op == "*":
                        return a * b
                    if op == "/" and b != 0:
                        return a / b
                    if op == "^" and b.denominator == 1 and abs(b) <= 4096 and a != 0:
                        return a ** int(b)
        return ex.evaluate(e, float_env(env))

    return go(expr)


def float_env(env: Mapping[str, Any]) -> dict[str, float]:
    """The numeric values of ``env`` as floats: an exact value beyond the float range (a
    ``Fraction`` of 2^2000) becomes ±inf, a non-number is left out."""
    out: dict[str, float] = {}
    for k, v in env.items():
        try:
            out[k] = float(v)
        except OverflowError:
            out[k] = math.inf if v > 0 else -math.inf
        except (TypeError, ValueError):
            continue
    return out


def ceil_div(n: Number, d: Number) -> int:
    """``ceil(n/d)`` exactly for exact operands (floats only when a size is itself a float)."""
    if isinstance(n, float) or isinstance(d, float):
        return math.ceil(n / d)
    q = Fraction(n) / Fraction(d)
    return -((-q.numerator) // q.denominator)


@dataclass(frozen=True)
class ModelInfo:
    name: str
    size: float
    context: float
    price_in: float
    price_out: float
    can: frozenset[str]
    can_routed: frozenset[str]

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
        env = self.fenv if x is None and not extra else {**self.fenv, **extra}
        if x is not None:
            env["x"] = float(x)
        return ex.evaluate(expr, env)

    def vote_booster(self, op: str, kind: str) -> VoteBooster | None:
        for b in self.task.boosters:
            if isinstance(b, VoteBooster) and b.kind == kind and (not b.ops or op in b.ops):
                return b
        return None

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
        )
    routes = {s.op: s.classifier for s in task.stages if isinstance(s, RouteStage)}
    workers = ex.evaluate(task.workers, fenv) if task.workers is not None else None
    return Context(spec, task, env, fenv, models, routes, workers)


# ---------------------------------------------------------------------------------------------
# decisions
# ---------------------------------------------------------------------------------------------


def _missing(key: str) -> DecisionError:
    return DecisionError(f"missing decision '{key}'", key)


def as_int(key: str, value: Any) -> int:
    """A decision that must be a whole number (``x``, ``votes``, ``fanin``)."""
    if isinstance(value, bool):
        raise DecisionError(f"decision '{key}' must be a whole number, not {value!r}", key)
    if isinstance(value, int):
        return value
    if isinstance(value, Fraction) and value.denominator == 1:
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise DecisionError(f"decision '{key}' must be a whole number, not {value!r}", key)


def as_retries(key: str, value: Any) -> int | str:
    if isinstance(value, str) and value.strip().lower() in ("inf", "infinity", "∞"):
        return "inf"
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    return as_int(key, value)


@dataclass(frozen=True)
class Choice:
    """An op's decided model and booster."""

    model: str
    booster: str  # none | ahead_by | majority | retry
    votes: int | None = None
    retries: int | str | None = None
    check: str | None = None  # "exact" or a verifier op (retry only)
    verifier_model: str | None = None


def read_model(ctx: Context, decisions: Mapping[str, Any], op: str) -> str:
    key = f"{op}.model"
    if key in decisions:
        value = decisions[key]
        return value.id if isinstance(value, Name) else str(value)
    candidates = ctx.candidate_models(op)
    declared = list(ctx.task.op(op).models)
    if len(candidates) == 1 and (not declared or len(declared) == 1):
        return candidates[0]
    if len(ctx.models) == 1 and not declared:
        return next(iter(ctx.models))
    raise _missing(key)


def read_choice(ctx: Context, decisions: Mapping[str, Any], op: str) -> Choice:
    """The model and booster of an op. A decision that can take only one value may be left
    out (the only model that can run it; ``none`` when no booster is allowed on it)."""
    model = read_model(ctx, decisions, op)
    vote = decisions.get(f"{op}.vote")
    if isinstance(vote, Name):
        vote = vote.id
    retries = decisions.get(f"{op}.retries")
    if retries is not None and vote in (None, "none"):
        r = as_retries(f"{op}.retries", retries)
        booster = ctx.retry_booster(op)
        check = booster.check if booster is not None else "exact"
        vmodel = None
        if check != "exact":
            vmodel = read_model(ctx, decisions, check)
        return Choice(model, "retry", retries=r, check=check, verifier_model=vmodel)
    if vote is None:
        if ctx.has_booster(op):
            raise _missing(f"{op}.vote")
        vote = "none"
    vote = str(vote)
    if vote == "none":
        return Choice(model, "none")
    if vote not in ("ahead_by", "majority"):
        raise DecisionError(
            f"decision '{op}.vote' must be none, ahead_by or majority, not {vote!r}", f"{op}.vote"
        )
    key = f"{op}.votes"
    if key not in decisions:
        raise _missing(key)
    return Choice(model, vote, votes=as_int(key, decisions[key]))


def shared_x_ops(ctx: Context, stage: MapStage | ChainStage) -> list[str]:
    """The stage's ops whose granularity is over the stage's data (they share one x)."""
    out = []
    for name in stage.ops:
        g = ctx.op(name).granularity
        if g is not None and g.data == stage.over:
            out.append(name)
    return out


def read_x(ctx: Context, decisions: Mapping[str, Any], op: str) -> int:
    """``op.x`` for an op with a granularity; 1 for an op without one."""
    if ctx.op(op).granularity is None:
        return 1
    key = f"{op}.x"
    if key not in decisions:
        raise _missing(key)
    value = decisions[key]
    if isinstance(value, Expr):
        value = exact(value, ctx.env)
    return as_int(key, value)

"""Reading a decision dict (``{"move.x": 4, "move.vote": "ahead_by", ...}``): each value checked
for its kind, with a ``DecisionError`` naming the decision that is missing or wrong."""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from aalp.front.ir import VOTE_KINDS, ChainStage, Expr, MapStage, Name
from aalp.front.numbers import exact
from aalp.plan.context import Context
from aalp.plan.plan import Choice, DecisionError, Expand, Judge, Retry, Vote


def _missing(key: str) -> DecisionError:
    return DecisionError(f"missing decision '{key}'", key)


def as_int(key: str, value: Any, least: int | None = None) -> int:
    """A decision that must be a whole number (``x``, ``votes``, ``fanin``), at least
    ``least`` when given (a plan given whole, by ``--decisions`` or the explorer, is read
    here: ``move.x = 0`` is refused with its reason, not divided by)."""
    number = _whole(key, value)
    if least is not None and number < least:
        raise DecisionError(
            f"decision '{key}' is {number}; it must be a whole number of at least {least}", key
        )
    return number


def _whole(key: str, value: Any) -> int:
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
    retries = evaluated(ctx, decisions.get(f"{op}.retries"))
    if retries is not None and vote in (None, "none"):
        r = as_retries(f"{op}.retries", retries)
        booster = ctx.retry_booster(op)
        check = booster.check if booster is not None else "exact"
        vmodel = None
        if check != "exact":
            vmodel = read_model(ctx, decisions, check)
        limit = None if r == "inf" else r
        return Choice(model, Retry(check, limit), vmodel)
    beam = ctx.expand_booster(op)
    if beam is not None and vote is None:
        vote = "expand"  # every decision of the op is its beam search
        if f"{op}.votes" not in decisions and beam.width is not None:
            decisions = {**decisions, f"{op}.votes": int(ctx.formula(beam.width))}
    if vote is None:
        if ctx.has_booster(op):
            raise _missing(f"{op}.vote")
        vote = "none"
    vote = str(vote)
    if vote == "none":
        return Choice(model)
    if vote not in VOTE_KINDS:
        raise DecisionError(
            f"decision '{op}.vote' must be none, ahead_by, majority or judge, not {vote!r}",
            f"{op}.vote",
        )
    key = f"{op}.votes"
    if key not in decisions:
        raise _missing(key)
    count = as_int(key, evaluated(ctx, decisions[key]), least=1)
    if vote == "expand":
        beam = ctx.expand_booster(op)
        if beam is None:
            raise DecisionError(f"'{op}' is no beam search (expand {op} by ...)", f"{op}.vote")
        keep, depth = ctx.beam(op)
        scorer_model = read_model(ctx, decisions, beam.scorer)
        return Choice(model, Expand(beam.scorer, count, keep, depth), scorer_model)
    if vote == "judge":
        booster = ctx.vote_booster(op, "judge")
        if booster is None or booster.judge is None:
            raise DecisionError(f"vote judge is not allowed on '{op}'", f"{op}.vote")
        return Choice(model, Judge(booster.judge, count), read_model(ctx, decisions, booster.judge))
    return Choice(model, Vote(vote, count))


def evaluated(ctx: Context, value: Any) -> Any:
    """A decision's value, a formula (a baseline's pin kept symbolic, ``votes = 13``)
    evaluated exactly; a word (``inf``) or a number as it is."""
    if isinstance(value, Name):
        return value.id
    if isinstance(value, Expr):
        return exact(value, ctx.env)
    return value


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
    return as_int(key, value, least=1)

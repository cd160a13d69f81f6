"""The sampling of ``aalp calibrate`` (docs/calibration.md §1).

For every op with examples and every model it may run on, the examples are grouped by
granularity x (the strata), shuffled with the seed, and drawn in rounds of ``batch`` units per
stratum; each unit is sent ``repeats`` times (at least twice: how often a unit's samples
agree on a wrong answer is what tells correlated errors from independent ones). Before any
call the whole sampling is projected in calls and dollars and refused over the budget; after
each round an op stops once the plan no longer depends on where its estimates lie within
their intervals (``settled``, the sequential rule), or when its examples run out.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aalp import codes
from aalp.calibration.apply import prompt_hash
from aalp.calibration.schema import Calibration, ModelCalibration, OpCalibration, Point
from aalp.diagnostics import AalpError
from aalp.front import ir
from aalp.front.expr import evaluate

from . import reading
from .examples import NO_ANSWER, Example, ExamplesError


class OverBudget(AalpError):
    code = codes.OVER_BUDGET


@dataclass
class Settings:
    """How much to sample: at most ``units`` units per op, model and x, each ``repeats``
    times, ``batch`` units per stratum a round; ``budget`` in dollars (None: none)."""

    units: int = 100
    repeats: int = 2
    batch: int = 25
    seed: int = 0
    confidence: float = 0.95
    budget: float | None = None
    model_map: dict[str, str] = field(default_factory=dict)
    concurrency: int = 8
    temperature: float = 1.0


@dataclass
class Stratum:
    """The units of one op on one model at one x, in the order they are drawn."""

    op: str
    model: str
    x: int
    units: list[Example]
    done: int = 0  # units sampled so far


def _models(spec: ir.Spec, op: ir.Op) -> list[str]:
    out = []
    for name in op.models:
        model = spec.model(name)
        if any(c.op == op.name for c in model.capabilities):
            out.append(name)
    return out


def strata(
    checked: Any, task: ir.Task, examples: list[Example], settings: Settings
) -> list[Stratum]:
    """Every (op, model, x) with examples, each with its shuffled units (at most
    ``settings.units``)."""
    by: dict[tuple[str, int], list[Example]] = {}
    for example in examples:
        by.setdefault((example.op, example.x), []).append(example)
    out = []
    for (op_name, x), units in sorted(by.items()):
        op = task.op(op_name)
        for model in _models(checked.spec, op):
            rng = random.Random(f"{settings.seed}|{op_name}|{model}|{x}")
            drawn = list(units)
            rng.shuffle(drawn)
            out.append(Stratum(op_name, model, x, drawn[: settings.units]))
    return out


def _per_call(checked: Any, task: ir.Task, stratum: Stratum) -> float:
    """The dollars of one call the spec expects (its reads and writes at x, list prices)."""
    from aalp.front.numbers import float_env

    env = {**float_env(checked.env), "x": float(stratum.x)}
    op, model = task.op(stratum.op), checked.spec.model(stratum.model)
    reads, writes = evaluate(op.reads, env), evaluate(op.writes, env)
    return (evaluate(model.price_in, env) * reads + evaluate(model.price_out, env) * writes) / 1e6


def projection(checked: Any, task: ir.Task, found: list[Stratum], settings: Settings) -> dict:
    """The calls and dollars of the whole sampling if no op stops early."""
    calls = sum(len(s.units) * settings.repeats for s in found)
    dollars = sum(len(s.units) * settings.repeats * _per_call(checked, task, s) for s in found)
    return {"calls": calls, "dollars": dollars}


@dataclass
class _Context:
    checked: Any
    task: ir.Task
    env: dict[str, float]
    endpoint: Any
    oracle: Any
    settings: Settings
    systems: dict[str, str]
    spent: float = 0.0
    calls: int = 0


def _right(ctx: _Context, example: Example) -> Any:
    if example.answer is not NO_ANSWER:
        return example.answer
    if ctx.oracle is None:
        raise ExamplesError(
            f"an example of op {example.op!r} has no 'answer' and no --oracle was given"
        )
    from aalp.sim.core import _roles
    from aalp.sim.oracles import Ask

    role = _roles(ctx.task).get(example.op, "other")
    return ctx.oracle.answer(Ask(example.op, role, example.request, ctx.task, ctx.env))


def _limit(op: ir.Op, env: dict[str, float], x: int) -> int | None:
    flag = op.red_flag
    if flag is None or flag.max_writes is None:
        return None
    return round(evaluate(flag.max_writes, {**env, "x": float(x)}))


def _sample_unit(ctx: _Context, stratum: Stratum, index: int, example: Example) -> Point:
    """Every sample of one unit, as a point of its own (merged into the stratum's)."""
    from aalp.calibrate.endpoint import Reply

    op = ctx.task.op(stratum.op)
    right = reading.key(_right(ctx, example))
    limit = _limit(op, ctx.env, stratum.x)
    body: dict[str, Any] = {
        "model": ctx.settings.model_map.get(stratum.model, stratum.model),
        "messages": [
            {"role": "system", "content": ctx.systems[stratum.op]},
            {"role": "user", "content": reading.runtime()["_to_json"](example.request)},
        ],
        "temperature": ctx.settings.temperature,
    }
    if limit is not None:
        body["max_tokens"] = limit + 1
    point = Point(stratum.x, units=1)
    kept: list[str] = []
    for rep in range(ctx.settings.repeats):
        where = f"{stratum.op}/{stratum.model}/x{stratum.x}"
        call = f"calibrate/{ctx.settings.seed}/{where}/u{index}#{rep}"
        reply: Reply = ctx.endpoint.complete(body, call)
        _count(point, reply)
        parsed, answer = reading.read(op.answer, reply.text)
        if not parsed or (limit is not None and reply.completion_tokens > limit):
            continue
        kept.append(reading.key(answer))
    point.kept = len(kept)
    point.right = sum(k == right for k in kept)
    for i in range(len(kept)):
        for j in range(i + 1, len(kept)):
            point.pairs += 1
            point.agree += kept[i] == kept[j] != right
    return point


def _count(point: Point, reply: Any) -> None:
    point.samples += 1
    point.prompt_tokens += reply.prompt_tokens
    point.completion_tokens += reply.completion_tokens
    point.prompt_tokens_sq += reply.prompt_tokens**2
    point.completion_tokens_sq += reply.completion_tokens**2
    point.seconds += reply.seconds
    if reply.prefill_seconds is not None:
        point.prefill_seconds = (point.prefill_seconds or 0.0) + reply.prefill_seconds
    if reply.decode_seconds is not None:
        point.decode_seconds = (point.decode_seconds or 0.0) + reply.decode_seconds


def _dollars(ctx: _Context, stratum: Stratum, point: Point) -> float:
    model = ctx.checked.spec.model(stratum.model)
    price_in, price_out = evaluate(model.price_in, ctx.env), evaluate(model.price_out, ctx.env)
    return (price_in * point.prompt_tokens + price_out * point.completion_tokens) / 1e6


def _round(ctx: _Context, stratum: Stratum, calibration: Calibration, pool: Any) -> None:
    """One batch of ``stratum``'s units, merged into the calibration in unit order."""
    start, stop = stratum.done, min(len(stratum.units), stratum.done + ctx.settings.batch)
    jobs = [(i, stratum.units[i]) for i in range(start, stop)]
    points = list(pool.map(lambda job: _sample_unit(ctx, stratum, *job), jobs))
    target = calibration.ops[stratum.op].models[stratum.model].point(stratum.x)
    for point in points:
        target.merge(point)
        ctx.spent += _dollars(ctx, stratum, point)
        ctx.calls += point.samples
    stratum.done = stop


def _batch_dollars(ctx: _Context, stratum: Stratum, calibration: Calibration) -> float:
    """What the stratum's next batch will cost: its calls so far, or the spec's guess."""
    point = calibration.ops[stratum.op].models[stratum.model].point(stratum.x)
    units = min(ctx.settings.batch, len(stratum.units) - stratum.done)
    if point.samples:
        per_call = _dollars(ctx, stratum, point) / point.samples
    else:
        per_call = _per_call(ctx.checked, ctx.task, stratum)
    return units * ctx.settings.repeats * per_call


def run(
    checked: Any,
    task: ir.Task,
    examples: list[Example],
    endpoint: Any,
    settings: Settings,
    oracle: Any = None,
    settled: Callable[[Calibration, str], bool] | None = None,
    provenance: dict[str, Any] | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> Calibration:
    """Sample every stratum in rounds until each op is settled, out of units, or the budget
    would be exceeded; the counts as a ``Calibration``."""
    from aalp.checks.loader import prompt_dir_of
    from aalp.front.numbers import float_env

    if settings.repeats < 2:
        raise ExamplesError("every unit must be sampled at least twice (--repeats 2 or more)")
    found = strata(checked, task, examples, settings)
    spec_dir = prompt_dir_of(checked)
    from aalp.plan.prompts import system_prompt

    ops = sorted({s.op for s in found})
    ctx = _Context(
        checked,
        task,
        float_env(checked.env),
        endpoint,
        oracle,
        settings,
        {name: system_prompt(task.op(name), task, spec_dir) for name in ops},
    )
    calibration = Calibration(task.name, dict(provenance or {}))
    for name in ops:
        calibration.ops[name] = OpCalibration(prompt_hash(task.op(name), task, spec_dir))
    for s in found:
        calibration.ops[s.op].models.setdefault(
            s.model, ModelCalibration(settings.model_map.get(s.model, s.model))
        )
        calibration.ops[s.op].models[s.model].point(s.x)
    active = set(ops)
    why: dict[str, str] = {}
    with ThreadPoolExecutor(max(1, settings.concurrency)) as pool:
        while active:
            for s in found:
                if s.op not in active or s.done >= len(s.units):
                    continue
                cost = _batch_dollars(ctx, s, calibration)
                if settings.budget is not None and ctx.spent + cost > settings.budget:
                    for name in active:
                        why[name] = "budget"
                    active.clear()
                    log(f"stopped: the next batch (about ${cost:.4g}) would pass the budget")
                    break
                _round(ctx, s, calibration, pool)
            for name in sorted(active):
                left = any(s.op == name and s.done < len(s.units) for s in found)
                if settled is not None and settled(calibration, name):
                    why[name] = "settled"
                elif not left:
                    why[name] = "sample size"
            active -= set(why)
            log(f"{ctx.calls} calls, ${ctx.spent:.4g}")
    for name, op_cal in calibration.ops.items():
        for mc in op_cal.models.values():
            mc.stopped = why.get(name, "sample size")
            mc.points = [p for p in mc.points if p.samples]
    calibration.provenance.update(
        {
            "calls": ctx.calls,
            "dollars": round(ctx.spent, 9),
            "repeats": settings.repeats,
            "seed": settings.seed,
        }
    )
    return calibration


def now() -> str:
    """The date of a calibration, to the second (UTC)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

"""Context windows: warnings for calls that cannot fit their model's context window, for an op
whatever is chosen, and for the task's pins or a baseline as pinned (the baseline is still
reported, as infeasible)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from aalp import codes
from aalp.checks.context import TaskContext, node_op
from aalp.checks.formulas import NODE_VALUES
from aalp.checks.values import at_x, finite, fmt_number
from aalp.front.expr import EvalError, Number, evaluate_exact
from aalp.front.ir import Baseline, ChainStage, Name, Op, Pin


def check_fits(t: TaskContext, op: Op, points: list[Number] | None) -> None:
    """Warn when even the smallest call of ``op`` overflows every model's context."""
    if points is None:
        return
    x = points[0] if points else None
    size = call_tokens(t, op, x)
    contexts = model_contexts(t, op.models)
    if size is None or not contexts or any(size <= ctx for ctx in contexts.values()):
        return
    t.c.warn(
        codes.NEVER_FITS,
        f"op '{op.name}' needs {fmt_number(size)} tokens per call{at_x(x)}, more than the "
        "context window of every model it lists",
        t.span(op),
        "give it a model with a larger context, or make its calls smaller",
    )


def check_pinned_fits(t: TaskContext, baseline: Baseline | None) -> None:
    """Warn when a pinned baseline (or, for None, the task's own pins) cannot fit a call
    into its model's context window."""
    extra = baseline.pins if baseline is not None else ()
    pins = {(p.op, p.field): p for p in (*t.task.pins, *extra)}
    if baseline is None:
        label = "the task's pins"
        hint = "the plan cannot run as pinned; the optimizer will report it infeasible"
    else:
        label = f"baseline '{baseline.name}'"
        hint = "the baseline is still reported, as infeasible"
    for op in t.ops.values():
        xpin = pins.get((op.name, "x"))
        x: Number | None = None
        if op.name in t.xrange:
            if xpin is None:
                continue  # x is the optimizer's choice
            try:
                x = evaluate_exact(xpin.value, t.c.env)
            except EvalError:
                continue
        mpin = pins.get((op.name, "model"))
        models = [mpin.value.id] if mpin and isinstance(mpin.value, Name) else list(op.models)
        contexts = model_contexts(t, _capable(t, op, models))
        size = call_tokens(t, op, x)
        if size is None or not contexts:
            continue
        history = _history_of(t, op, pins)
        if history is not None:
            size = _with_history(t, op, x, history, size)
        if all(size > ctx for ctx in contexts.values()):
            model, ctx = max(contexts.items(), key=lambda kv: kv[1])
            where = f" with x = {fmt_number(x)}" if x is not None else ""
            hist = " (including the conversation so far)" if history is not None else ""
            t.c.warn(
                codes.BASELINE_OVERFLOW,
                f"{label}: a call of '{op.name}'{where} needs "
                f"{fmt_number(size)} tokens{hist}, more than the context window of "
                f"'{model}' ({fmt_number(ctx)})",
                t.span(xpin or mpin or baseline or t.task),
                hint,
            )


def call_tokens(t: TaskContext, op: Op, x: Number | None) -> Number | None:
    """reads + writes of one call of ``op`` at ``x`` (None if unknown), without history."""
    env = {**t.c.env, **({"x": x} if x is not None else {})}
    if node_op(t, op.name):
        env.update(NODE_VALUES)
    try:
        total = evaluate_exact(op.reads, env, finite=True) + evaluate_exact(
            op.writes, env, finite=True
        )
    except (EvalError, OverflowError, ValueError):
        return None
    return total if finite(total) else None


def model_contexts(t: TaskContext, models: Iterable[str]) -> dict[str, Number]:
    """The context window of each of ``models`` that has a known one."""
    out = {}
    for name in models:
        model = next((m for m in t.c.spec.models if m.name == name), None)
        if model is None:
            continue
        try:
            out[name] = evaluate_exact(model.context, t.c.env)
        except EvalError:
            continue
    return out


def _capable(t: TaskContext, op: Op, models: list[str]) -> list[str]:
    known = {m.name: m for m in t.c.spec.models}
    return [m for m in models if m in known and any(c.op == op.name for c in known[m].capabilities)]


def _history_of(t: TaskContext, op: Op, pins: Mapping[tuple[str, str], Pin]) -> ChainStage | None:
    """The chain stage running ``op`` with full history under these pins, if any."""
    for stage in t.task.stages:
        if isinstance(stage, ChainStage) and op.name in stage.ops:
            pin = pins.get((op.name, "history"))
            full = (
                pin.value.id == "full"
                if pin is not None and isinstance(pin.value, Name)
                else stage.history == "full"
            )
            return stage if full else None
    return None


def _with_history(
    t: TaskContext, op: Op, x: Number | None, stage: ChainStage, size: Number
) -> Number:
    """The tokens of ``op``'s last call in a chain with full history (docs/model.md §3)."""
    count = t.c.env.get(stage.over)
    if count is None:
        return size
    gran = op.granularity
    chunks: Number = count
    if gran is not None and gran.data == stage.over and x is not None and x > 0:
        chunks = -(-count // x)  # ceil(count/x) calls in the chain
    step = 0
    before = 0
    for name in stage.ops:
        other = t.ops.get(name)
        if other is None:
            continue
        tokens = call_tokens(t, other, x if other.granularity == gran else None)
        if tokens is None:
            return size
        step += tokens
        if name == op.name:
            break
        before += tokens
    else:
        return size
    total = step
    for name in stage.ops[stage.ops.index(op.name) + 1 :]:
        other = t.ops.get(name)
        tokens = call_tokens(t, other, x if other.granularity == gran else None) if other else 0
        total += tokens or 0
    return size + (chunks - 1) * total + before

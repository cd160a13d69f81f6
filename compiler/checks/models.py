"""Models: sizes, context windows and prices in range, capabilities naming real ops, and each
op listing models that exist and can perform it."""

from __future__ import annotations

from aalp import codes
from aalp.checks.context import Context, TaskContext, at
from aalp.checks.formulas import value
from aalp.checks.values import fmt_number
from aalp.front.ir import ATTENTION, Attention, Model, Op, RouteStage
from aalp.suggest import did_you_mean


def check_models(c: Context) -> None:
    _check_attention(c, c.spec.attention, "the whole spec")
    for model in c.spec.models:
        _check_attention(c, model.attention, f"model '{model.name}'")
        _check_model(c, model)


def _check_attention(c: Context, setting: Attention | None, what: str) -> None:
    """``attention WORD`` names a known kind (docs/model.md §1)."""
    if setting is None or setting.kind in ATTENTION:
        return
    known = " or ".join(f"'{k}'" for k in ATTENTION)
    c.error(
        codes.UNKNOWN_ATTENTION,
        f"unknown attention '{setting.kind}' for {what}; it is {known}",
        setting.span,
        did_you_mean(setting.kind, ATTENTION, "attention"),
    )


def _check_model(c: Context, model: Model) -> None:
    checks = (
        (model.size, "size", False),
        (model.context, "context window", False),
        (model.price_in, "input price", True),
        (model.price_out, "output price", True),
    )
    for expr, label, zero_ok in checks:
        what = f"the {label} of model '{model.name}'"
        val = value(c, expr, c.param_scope, model.span, what)
        if val is None:
            continue
        if val < 0 or (val == 0 and not zero_ok):
            c.error(
                codes.NOT_POSITIVE,
                f"{what} is {fmt_number(val)}; it must be "
                + ("zero or more" if zero_ok else "positive"),
                at(expr, model.span),
                "prices are dollars per million tokens"
                if zero_ok
                else "sizes are relative weights and contexts are tokens, both above zero",
            )


def check_capabilities(c: Context) -> None:
    """Each ``can OP`` names an op of some task, and ``if routed`` one that a stage routes."""
    all_ops = {op.name for task in c.spec.tasks for op in task.ops}
    routed_ops = {
        stage.op for task in c.spec.tasks for stage in task.stages if isinstance(stage, RouteStage)
    }
    for model in c.spec.models:
        for cap in model.capabilities:
            span = at(cap, model.span)
            if cap.op not in all_ops:
                c.error(
                    codes.UNKNOWN_OP,
                    f"model '{model.name}' can '{cap.op}', but no task has an op '{cap.op}'",
                    span,
                    did_you_mean(cap.op, all_ops, "op"),
                )
            elif cap.routed and cap.op not in routed_ops:
                c.error(
                    codes.ROUTED_WITHOUT_ROUTE,
                    f"model '{model.name}' can '{cap.op}' only if routed, but no stage "
                    f"routes '{cap.op}'",
                    span,
                    f"add a stage 'route {cap.op} by CLASSIFIER' or drop 'if routed'",
                )


def check_op_models(t: TaskContext, op: Op) -> None:
    """The models ``op`` lists exist, and at least one of them can perform it."""
    models = [m.name for m in t.c.spec.models]
    tools = [tool.name for tool in t.c.spec.tools]
    for model in op.models:
        if model not in models and model not in tools:
            what = "model or tool" if tools else "model"
            t.c.error(
                codes.UNKNOWN_MODEL,
                f"unknown {what} '{model}' in op '{op.name}'",
                t.span(op),
                did_you_mean(model, models + tools, what),
            )
    if any(m in tools for m in op.models):
        return  # an op on a tool (aalp.checks.tools)
    _check_capable(t, op)


def _check_capable(t: TaskContext, op: Op) -> None:
    c = t.c
    known = {m.name: m for m in c.spec.models}
    capable = []
    for name in op.models:
        model = known.get(name)
        if model is None:
            continue
        if any(cap.op == op.name for cap in model.capabilities):
            capable.append(name)
        else:
            c.warn(
                codes.MODEL_CANNOT,
                f"model '{name}' is listed for op '{op.name}' but does not declare "
                f"'can {op.name}'; it will not be used",
                t.span(op),
                f"add 'can {op.name}' to model '{name}' or remove it from the op",
            )
    if op.models and not capable and all(m in known for m in op.models):
        # one error says it all: drop the per-model warnings just made for this op
        c.diags = [
            d
            for d in c.diags
            if not (d.code == codes.MODEL_CANNOT and f"op '{op.name}'" in d.message)
        ]
        c.error(
            codes.NO_CAPABLE_MODEL,
            f"no model listed for op '{op.name}' can perform it",
            t.span(op),
            f"add 'can {op.name}' to one of: " + ", ".join(f"'{m}'" for m in op.models),
        )
    if not op.models:
        c.error(
            codes.NO_CAPABLE_MODEL,
            f"op '{op.name}' lists no model to run on",
            t.span(op),
            f"add 'on MODEL' to op '{op.name}'",
        )

"""A checked spec with a calibration's estimates in place of its guesses (docs/calibration.md §5).

Calibration is applied before anything is optimized: each calibrated op's ``success on M``,
``rival``, red-flag ``keep``, ``reads`` and ``writes`` are replaced by formulas in ``x`` made
from the measurements, and the optimizer, ``explain``, ``simulate`` and the code targets see an
ordinary spec. ``side`` picks the numbers: the point estimates, the pessimistic one-sided
bounds (``--confidence``: least success and keep, most rival and tokens) or the optimistic ones.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any, Literal

from aalp import codes
from aalp.diagnostics import Diagnostic
from aalp.front import ir
from aalp.front.expr import evaluate

from . import fit
from .estimates import Estimate, estimate
from .schema import Calibration, CalibrationError

Side = Literal["estimate", "pessimistic", "optimistic"]


def prompt_hash(op: ir.Op, task: ir.Task, spec_dir: Any) -> str:
    """``sha256:`` and the hex digest of the op's system prompt (what the endpoint was sent)."""
    from aalp.plan.prompts import system_prompt

    text = system_prompt(op, task, spec_dir)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _num(value: float) -> ir.Num:
    exact = Fraction(repr(float(value)))
    return ir.Num(exact, repr(float(value)))


def curve_expr(curve: fit.Curve, spec_success: ir.Expr | None) -> ir.Expr:
    """A curve as a formula in ``x``."""
    x = ir.Name("x")
    match curve["form"]:
        case "constant":
            return _num(float(curve["value"]))
        case "scaled":
            assert spec_success is not None
            return ir.BinOp("^", spec_success, _num(float(curve["power"])))
        case "weibull":
            power = ir.BinOp("^", x, _num(float(curve["b"])))
            return ir.Call("exp", (ir.Neg(ir.BinOp("*", _num(float(curve["c"])), power)),))
        case "linear":
            return ir.BinOp("+", _num(float(curve["a"])), ir.BinOp("*", _num(float(curve["b"])), x))
        case "ratio":
            assert spec_success is not None
            return ir.BinOp("*", _num(float(curve["factor"])), spec_success)
    raise ValueError(curve["form"])


def at_one(expr: ir.Expr) -> ir.Expr:
    """``expr`` with ``x`` replaced by 1: the calibrated formulas of an op without a
    granularity, which is evaluated at x = 1 and may not name x."""
    match expr:
        case ir.Name(id="x"):
            return _num(1.0)
        case ir.BinOp(op=op, left=left, right=right):
            return ir.BinOp(op, at_one(left), at_one(right))
        case ir.Neg(operand=operand):
            return ir.Neg(at_one(operand))
        case ir.Call(func=func, args=args):
            return ir.Call(func, tuple(at_one(a) for a in args))
    return expr


def _largest(exprs: list[ir.Expr]) -> ir.Expr:
    return exprs[0] if len(exprs) == 1 else ir.Call("max", tuple(exprs))


def _spec_success(op: ir.Op, model: str) -> tuple[ir.Outcome, ...]:
    for override in op.success_on:
        if override.model == model:
            return override.outcomes
    return op.success


@dataclass(frozen=True)
class Applied:
    """The calibrated spec's ``checked``, the warnings the calibration gives, and each
    calibrated op's estimates per model (at the confidence used)."""

    checked: Any
    warnings: tuple[Diagnostic, ...]
    estimates: dict[str, dict[str, Estimate]]


def estimates_of(
    calibration: Calibration, task: ir.Task, env: dict[str, float], confidence: float
) -> dict[str, dict[str, Estimate]]:
    """Every calibrated op's estimates per model; a single granularity takes its shape from
    the spec's success formula (when the op has one component that depends on x)."""
    out: dict[str, dict[str, Estimate]] = {}
    for name, op_cal in calibration.ops.items():
        op = task.op(name)
        out[name] = {}
        for model, mc in op_cal.models.items():
            outcomes = _spec_success(op, model)
            spec_at = None
            at = {p.x: {**env, "x": float(p.x)} for p in mc.points}
            if op.granularity is not None and len(outcomes) == 1:
                spec_at = {x: evaluate(outcomes[0].p, e) for x, e in at.items()}
            tokens = {
                "reads": {x: evaluate(op.reads, e) for x, e in at.items()},
                "writes": {x: evaluate(op.writes, e) for x, e in at.items()},
            }
            out[name][model] = estimate(mc, confidence, spec_at, tokens)
    return out


def _validate(calibration: Calibration, spec: ir.Spec, task: ir.Task, where: str) -> None:
    if calibration.task != task.name:
        raise CalibrationError(
            f"calibration {where} is of task {calibration.task!r}, not {task.name!r}",
            hint="give --task, or the calibration of this task",
        )
    models = {m.name for m in spec.models}
    for name, op_cal in calibration.ops.items():
        if name not in {o.name for o in task.ops}:
            raise CalibrationError(f"calibration {where}: task {task.name!r} has no op {name!r}")
        op = task.op(name)
        for model in op_cal.models:
            if model not in models or model not in op.models:
                raise CalibrationError(
                    f"calibration {where}: op {name!r} does not run on model {model!r}",
                    hint=f"the op runs on {', '.join(op.models)}",
                )


def _warnings(
    calibration: Calibration, task: ir.Task, spec_dir: Any, found: dict[str, dict[str, Estimate]]
) -> list[Diagnostic]:
    out = []
    for name, op_cal in calibration.ops.items():
        op = task.op(name)
        if op_cal.prompt_hash and op_cal.prompt_hash != prompt_hash(op, task, spec_dir):
            out.append(
                Diagnostic(
                    "warning",
                    codes.STALE_CALIBRATION,
                    f"op '{name}' was calibrated with another prompt than it has now: its "
                    "calibration is stale",
                    op.span,
                    "calibrate the op again (aalp calibrate) after changing its prompt",
                )
            )
        for model, est in found[name].items():
            if est.correlated:
                out.append(
                    Diagnostic(
                        "warning",
                        codes.CORRELATED_ERRORS,
                        f"op '{name}' on {model}: samples of one unit agreed on a wrong answer "
                        f"{est.coincidence.agree} times in {est.coincidence.pairs} pairs, "
                        f"more than independence allows; about {est.stuck:.2%} of units get "
                        "the same wrong answer every time, so voting buys less than the "
                        "independent model says",
                        op.span,
                        "the calibrated plan treats those units as lost to any vote",
                    )
                )
    return out


def _success_parts(
    est: Estimate, side: Side, spec_outcomes: tuple[ir.Outcome, ...]
) -> tuple[tuple[ir.Outcome, ...], ir.Expr]:
    """The success outcomes of one calibrated model and the success of its independent part
    (for the rival): a mixture when errors were correlated."""
    curve = {"estimate": est.success, "pessimistic": est.success_low}.get(side, est.success_high)
    base = spec_outcomes[0].p if len(spec_outcomes) == 1 else None
    free = curve_expr(curve, base)
    if not est.correlated or est.stuck <= 0.0:
        return (ir.Outcome(_num(1.0), free),), free
    stuck = est.stuck
    lifted = ir.Call("min", (_num(1.0), ir.BinOp("/", free, _num(1.0 - stuck))))
    outcomes = (ir.Outcome(_num(1.0 - stuck), lifted), ir.Outcome(_num(stuck), _num(0.0)))
    return outcomes, lifted


def _calibrated_op(op: ir.Op, found: dict[str, Estimate], side: Side) -> ir.Op:
    pessimistic = side == "pessimistic"
    success_on = {o.model: o for o in op.success_on}
    rivals: list[ir.Expr] = []
    for model in op.models:
        est = found.get(model)
        if est is None:
            spec_p = _spec_success(op, model)
            if op.rival is not None:
                rivals.append(op.rival)
            elif len(spec_p) == 1:
                rivals.append(ir.BinOp("-", _num(1.0), spec_p[0].p))
            else:
                rivals.append(_num(1.0))
            continue
        outcomes, free = _success_parts(est, side, _spec_success(op, model))
        success_on[model] = ir.ModelSuccess(model, outcomes, op.span)
        # the pairs' estimate of the rival is 0 until two wrong answers of a unit meet, far
        # too noisy when they are rare: every side takes its upper bound (MAKER's worst case
        # until the pairs show a smaller rival), so a smaller rival is never assumed
        share = est.rival_share_high
        rivals.append(ir.BinOp("*", _num(share), ir.BinOp("-", _num(1.0), free)))
    tokens = [
        (e.reads_high, e.writes_high) if pessimistic else (e.reads, e.writes)
        for e in found.values()
    ]
    keeps = [
        {"estimate": e.keep, "pessimistic": e.keep_low}.get(side, e.keep_high)
        for e in found.values()
    ]
    red_flag = op.red_flag
    if red_flag is not None:
        red_flag = replace(red_flag, keep=_num(min(keeps)))
    elif min(keeps) < 1.0:
        # a run discards an answer that does not parse whether or not the spec says so
        red_flag = ir.RedFlag(None, True, _num(min(keeps)), op.span)
    ordered = tuple(success_on[m] for m in op.models if m in success_on)
    out = replace(
        op,
        success_on=ordered,
        rival=_largest(rivals),
        red_flag=red_flag,
        reads=_largest([curve_expr(r, op.reads) for r, _ in tokens]),
        writes=_largest([curve_expr(w, op.writes) for _, w in tokens]),
    )
    return out if op.granularity is not None else _without_x(out)


def _without_x(op: ir.Op) -> ir.Op:
    """An op without a granularity, its formulas at x = 1."""
    success_on = tuple(
        replace(m, outcomes=tuple(ir.Outcome(at_one(o.weight), at_one(o.p)) for o in m.outcomes))
        for m in op.success_on
    )
    flag = op.red_flag
    if flag is not None and flag.keep is not None:
        flag = replace(flag, keep=at_one(flag.keep))
    return replace(
        op,
        success_on=success_on,
        rival=None if op.rival is None else at_one(op.rival),
        red_flag=flag,
        reads=at_one(op.reads),
        writes=at_one(op.writes),
    )


def apply(
    checked: Any,
    calibration: Calibration,
    task_name: str | None = None,
    side: Side = "estimate",
    confidence: float = 0.95,
    where: str = "file",
) -> Applied:
    """``checked`` with ``calibration``'s numbers in its task's ops (``side``: which numbers;
    ``confidence``: the level of the bounds). ``CalibrationError`` when the file does not fit
    the spec."""
    from aalp.checks.loader import prompt_dir_of
    from aalp.front.numbers import float_env

    spec: ir.Spec = checked.spec
    name = task_name or calibration.task
    task = next((t for t in spec.tasks if t.name == name), None)
    if task is None:
        raise CalibrationError(
            f"calibration {where} is of task {calibration.task!r}, which the spec does not have"
        )
    _validate(calibration, spec, task, where)
    env = float_env(checked.env)
    found = estimates_of(calibration, task, env, confidence)
    warnings = _warnings(calibration, task, prompt_dir_of(checked), found)
    ops = tuple(
        _calibrated_op(op, found[op.name], side) if found.get(op.name) else op for op in task.ops
    )
    tasks = tuple(replace(t, ops=ops) if t is task else t for t in spec.tasks)
    new_spec = replace(spec, tasks=tasks)
    diagnostics = (*checked.diagnostics, *warnings)
    return Applied(replace(checked, spec=new_spec, diagnostics=diagnostics), tuple(warnings), found)

"""The explorer's controls: what a page may change in a spec, and how a change is applied.

A control never edits the spec text: the text stays what the user typed, and the page's settings
(parameter values, probabilities, the reliability target, the objective, pinned decisions) are
applied to the parsed IR before it is checked, exactly as ``-D name=value`` applies to parameters.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

from aalp import codes
from aalp.diagnostics import AalpError
from aalp.front.ir import (
    METRICS,
    BinOp,
    Call,
    ChainStage,
    Expr,
    Name,
    Neg,
    Num,
    Objective,
    Op,
    Outcome,
    Pin,
    ReduceStage,
    Requirement,
    RetryBooster,
    Spec,
    Task,
    VoteBooster,
)


class SettingsError(AalpError, ValueError):
    """A setting sent by the page does not fit the spec (unknown control, value out of range)."""

    code = codes.BAD_SETTING


@dataclass(frozen=True)
class Settings:
    """What the page changes on top of the spec text.

    ``params`` are ``-D`` overrides (text, as on the command line); ``probabilities`` replace
    the probability literals named by :func:`probability_controls`; ``target`` replaces the bound
    of ``require success >= ...`` (or of ``require accuracy >= ...``, keeping its data);
    ``objective`` is ``"minimize cost"`` and the like; ``pins``
    map ``op.field`` to a value (text) and replace the task's own pins of the same decision
    (``auto`` removes the task's pin).
    """

    task: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    probabilities: Mapping[str, float] = field(default_factory=dict)
    target: float | None = None
    objective: str | None = None
    pins: Mapping[str, str] = field(default_factory=dict)
    #: ``aalp explore --calibration``: the file's text and the ``--confidence`` (not the
    #: page's to change: the server sets them on every request)
    calibration: str | None = None
    confidence: float | None = None


#: the keys of a request's ``settings`` (``params`` and ``target`` are older names of
#: ``defines`` and ``success_target``)
SETTING_NAMES = frozenset(
    {"task", "defines", "params", "probabilities", "success_target", "target", "objective", "pins"}
)


def settings_from_json(data: Mapping[str, Any]) -> Settings:
    """Read settings from a page request, rejecting anything of the wrong shape."""

    def mapping(key: str) -> dict[str, Any]:
        value = data.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise SettingsError(f"'{key}' must be an object")
        return value

    unknown = sorted(set(data) - SETTING_NAMES)
    if unknown:
        names = ", ".join(sorted(SETTING_NAMES - {"params", "target"}))
        raise SettingsError(f"unknown setting '{unknown[0]}' (the settings are {names})")
    task = data.get("task")
    if task is not None and not isinstance(task, str):
        raise SettingsError("'task' must be a string")
    # the command line's names (-D is --define) come first; the older ones still read
    params = {k: _text(v, k) for k, v in mapping(_named(data, "defines", "params")).items()}
    probabilities = {k: _number(v, k) for k, v in mapping("probabilities").items()}
    pins = {k: _text(v, k) for k, v in mapping("pins").items() if v not in ("", None)}
    target = data.get(_named(data, "success_target", "target"))
    if target is not None:
        target = _number(target, "target")
        if not 0 < target < 1:
            raise SettingsError("the reliability target must lie strictly between 0 and 1")
    objective = data.get("objective")
    if objective is not None and not isinstance(objective, str):
        raise SettingsError("'objective' must be a string")
    return Settings(task, params, probabilities, target, objective or None, pins)


def settings_to_json(settings: Settings) -> dict[str, Any]:
    """``settings`` under the names a request sends them with (``settings_from_json``)."""
    return {
        "task": settings.task,
        "defines": dict(settings.params),
        "probabilities": dict(settings.probabilities),
        "success_target": settings.target,
        "objective": settings.objective,
        "pins": dict(settings.pins),
    }


def _named(data: Mapping[str, Any], name: str, older: str) -> str:
    """The key a setting is sent under: ``name``, or its ``older`` name; both is an error."""
    if name in data and older in data:
        raise SettingsError(f"send '{name}' or its older name '{older}', not both")
    return older if older in data else name


def _text(value: Any, key: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise SettingsError(f"the value of '{key}' must be a number or a word")
    return str(value)


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SettingsError(f"the value of '{key}' must be a finite number")
    return float(value)


# ---------------------------------------------------------------------------------------------
# Which task, and which controls it has
# ---------------------------------------------------------------------------------------------


def pick_task(spec: Spec, name: str | None) -> Task:
    """The task called ``name``, or the spec's first task."""
    if not spec.tasks:
        raise SettingsError("the spec declares no task")
    if name is None:
        return spec.tasks[0]
    for task in spec.tasks:
        if task.name == name:
            return task
    known = ", ".join(t.name for t in spec.tasks)
    raise SettingsError(f"no task '{name}' in the spec (it has {known})")


def _exponent_names(expr: Expr) -> Iterator[str]:
    """Names used inside an exponent: a slider over them must stay small and linear."""
    match expr:
        case BinOp(op="^", left=left, right=right):
            yield from _exponent_names(left)
            yield from (n.id for n in _names(right))
        case BinOp(left=left, right=right):
            yield from _exponent_names(left)
            yield from _exponent_names(right)
        case Neg(operand=operand):
            yield from _exponent_names(operand)
        case Call(func="exp", args=args):
            for arg in args:
                yield from (n.id for n in _names(arg))
        case Call(args=args):
            for arg in args:
                yield from _exponent_names(arg)


def _names(expr: Expr) -> Iterator[Name]:
    from aalp.front.expr import names

    return names(expr)


def _spec_formulas(spec: Spec) -> Iterator[Expr]:
    """Every formula of the spec that can grow a quantity (not the success probabilities)."""
    for param in spec.params:
        yield param.value
    for task in spec.tasks:
        for datum in task.data:
            yield datum.count
            if datum.tokens is not None:
                yield datum.tokens
        for op in task.ops:
            yield op.reads
            yield op.writes


def param_controls(spec: Spec, env: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One slider per parameter.

    A parameter in (0, 1) is a probability (a slider on the scale of nines, see
    :func:`_probability_scale`); one used in an exponent (``2^disks``)
    gets a linear integer slider up to 64; any other size gets a log slider spanning six decades
    around its value, since sizes that matter span decades.
    """
    in_exponent = {n for f in _spec_formulas(spec) for n in _exponent_names(f)}
    controls = []
    for param in spec.params:
        value = float(env.get(param.name, math.nan))
        integer = isinstance(env.get(param.name), Fraction) and env[param.name].denominator == 1
        control: dict[str, Any] = {
            "name": param.name,
            "value": value,
            "doc": param.doc,
            "integer": integer,
        }
        if not math.isfinite(value):
            control |= {"kind": "fixed", "scale": "none", "min": value, "max": value}
        elif 0 < value < 1:
            control |= {"kind": "probability", **_probability_scale(value)}
        elif param.name in in_exponent:
            high = max(64.0, value)
            control |= {"kind": "size", "scale": "linear", "min": 1.0, "max": high}
            control["integer"] = True
        elif value >= 1:
            low, high = max(1.0, value / 1e3), value * 1e3
            control |= {"kind": "size", "scale": "log", "min": low, "max": high}
        else:
            control |= {"kind": "fixed", "scale": "none", "min": value, "max": value}
        controls.append(control)
    return controls


def _probability_scale(value: float) -> dict[str, Any]:
    """A probability slider: on the scale of nines (``-log10(1 - p)``) from 0.5 to 0.99999, so
    0.998 and 0.9995 are far apart; linear from 0 to 1 for a value below one half."""
    if value < 0.5:
        return {"scale": "linear", "min": 0.0, "max": 1.0}
    return {"scale": "nines", "min": 0.5, "max": max(0.99999, value)}


def _probability_literals(expr: Expr) -> Iterator[Num]:
    """Literals in (0, 1) of a success formula, left to right (``0.9978`` in ``0.9978^x``)."""
    match expr:
        case Num(value=value) if 0 < value < 1:
            yield expr
        case BinOp(left=left, right=right):
            yield from _probability_literals(left)
            yield from _probability_literals(right)
        case Neg(operand=operand):
            yield from _probability_literals(operand)
        case Call(args=args):
            for arg in args:
                yield from _probability_literals(arg)


def _success_formulas(op: Op) -> Iterator[tuple[str, Outcome]]:
    """An op's success outcomes with the label of where they come from."""
    for i, outcome in enumerate(op.success):
        yield (f"{op.name}.success" if len(op.success) == 1 else f"{op.name}.success[{i}]"), outcome
    for on in op.success_on:
        for i, outcome in enumerate(on.outcomes):
            label = f"{op.name}.success on {on.model}"
            yield (label if len(on.outcomes) == 1 else f"{label}[{i}]"), outcome


def probability_controls(task: Task) -> list[dict[str, Any]]:
    """One slider per probability literal written in an op's success (or a mixture weight).

    Each gets a stable id ``op:index`` (the index counts literals in the op's success formulas,
    left to right), so a setting survives edits elsewhere in the spec.
    """
    controls = []
    for op in task.ops:
        index = 0
        for label, outcome in _success_formulas(op):
            for part, formula in (("weight", outcome.weight), ("p", outcome.p)):
                for literal in _probability_literals(formula):
                    value = float(literal.value)
                    name = label if part == "p" else f"{label} weight"
                    scale = _probability_scale(value if part == "p" else 0.0)
                    controls.append(
                        {
                            "id": f"{op.name}:{index}",
                            "op": op.name,
                            "label": f"{name}: {literal.text or value}",
                            "value": value,
                            **scale,
                        }
                    )
                    index += 1
    return controls


def decision_controls(task: Task) -> list[dict[str, Any]]:
    """Every decision of the task a user may pin, with its choices where they are few.

    This reads the IR the way the decision space does: ``x`` for ops with a granularity,
    ``model`` when an op may run on several models, vote and retry fields where a booster
    allows them, ``fanin`` for a reduce that chooses, ``history`` for a chain that chooses.
    """
    pinned = {f"{p.op}.{p.field}": _pin_text(p.value) for p in task.pins}
    rows: list[dict[str, Any]] = []

    def add(key: str, kind: str, choices: list[str] | None = None) -> None:
        rows.append({"key": key, "kind": kind, "choices": choices, "pinned": pinned.get(key)})

    for op in task.ops:
        if op.granularity is not None:
            add(f"{op.name}.x", "number")
        if len(op.models) > 1:
            add(f"{op.name}.model", "choice", list(op.models))
        votes = [b for b in task.boosters if isinstance(b, VoteBooster) and _covers(b.ops, op)]
        retries = [b for b in task.boosters if isinstance(b, RetryBooster) and _covers(b.ops, op)]
        if votes:
            add(f"{op.name}.vote", "choice", ["none", *sorted({b.kind for b in votes})])
            add(f"{op.name}.votes", "number")
        if retries:
            add(f"{op.name}.retries", "number")
    for stage in task.stages:
        match stage:
            case ReduceStage(op=op, fanin=None):
                add(f"{op}.fanin", "number")
            case ChainStage(ops=ops, history="choose"):
                # one policy per chain, addressed by its first op (as the decision space does)
                add(f"{ops[0]}.history", "choice", ["stateless", "full"])
    return rows


def _covers(ops: tuple[str, ...], op: Op) -> bool:
    return not ops or op.name in ops


def _pin_text(value: Expr) -> str:
    match value:
        case Name(id=ident):
            return ident
        case Num(value=number, text=text):
            return text or str(number)
    from aalp.front.expr import to_sympy

    return str(to_sympy(value))


def target_control(task: Task, env: Mapping[str, Any]) -> dict[str, Any] | None:
    """The task's ``require success >= t`` (the reliability target), if it has one.

    When the bound is a parameter (``require success >= target``), ``param`` names it: the
    page moves that parameter, so the target and the parameter never disagree.
    """
    for req in task.requirements:
        if req.metric in ("success", "accuracy") and req.cmp == ">=":
            param = req.bound.id if isinstance(req.bound, Name) else None
            return {"metric": req.metric, "value": _float_or_none(req.bound, env), "param": param}
    return None


def _float_or_none(expr: Expr, env: Mapping[str, Any]) -> float | None:
    from aalp.front.expr import EvalError, evaluate

    try:
        return evaluate(expr, {k: float(v) for k, v in env.items()})
    except EvalError:
        return None


def objective_control(task: Task) -> dict[str, Any]:
    """The task's objective and every objective the page may pick instead."""
    current = task.objective or Objective("minimize", "cost")
    options = [f"minimize {m}" for m in METRICS if m != "success"] + ["maximize success"]
    return {"value": f"{current.sense} {current.metric}", "options": options}


# ---------------------------------------------------------------------------------------------
# Applying settings to the IR
# ---------------------------------------------------------------------------------------------


def _replace_literals(expr: Expr, new: Mapping[int, float], counter: list[int]) -> Expr:
    """Replace the probability literals of ``expr`` whose running index is in ``new``."""
    match expr:
        case Num(value=value) if 0 < value < 1:
            index = counter[0]
            counter[0] += 1
            if index in new:
                number = Fraction(new[index]).limit_denominator(10**12)
                return Num(number, repr(new[index]), expr.span)
            return expr
        case BinOp(left=left, right=right):
            left = _replace_literals(left, new, counter)
            return replace(expr, left=left, right=_replace_literals(right, new, counter))
        case Neg(operand=operand):
            return replace(expr, operand=_replace_literals(operand, new, counter))
        case Call(args=args):
            return replace(expr, args=tuple(_replace_literals(a, new, counter) for a in args))
    return expr


def _apply_probabilities(op: Op, new: Mapping[int, float]) -> Op:
    counter = [0]

    def outcomes(items: tuple[Outcome, ...]) -> tuple[Outcome, ...]:
        result = []
        for o in items:
            weight = _replace_literals(o.weight, new, counter)
            result.append(replace(o, weight=weight, p=_replace_literals(o.p, new, counter)))
        return tuple(result)

    success = outcomes(op.success)
    success_on = tuple(replace(on, outcomes=outcomes(on.outcomes)) for on in op.success_on)
    return replace(op, success=success, success_on=success_on)


def _number_expr(value: float) -> Num:
    return Num(Fraction(value).limit_denominator(10**12), repr(value))


def _parse_objective(text: str) -> Objective:
    parts = text.split()
    if len(parts) != 2 or parts[0] not in ("minimize", "maximize") or parts[1] not in METRICS:
        raise SettingsError(f"'{text}' is not an objective (say 'minimize cost' or the like)")
    return Objective(parts[0], parts[1])  # type: ignore[arg-type]


def _pin_expr(text: str) -> Expr:
    """A pin's value: a number, a bare word (``ahead_by``, ``inf``) or a formula (``s``)."""
    text = text.strip()
    try:
        return Num(Fraction(text), text)
    except (ValueError, ZeroDivisionError):
        pass
    if text.isidentifier():
        return Name(text)
    try:
        from aalp.front.parser import parse_expr
    except ImportError:
        raise SettingsError(f"'{text}' is not a number or a name") from None
    from ..diagnostics import SpecError

    try:
        return parse_expr(text)
    except SpecError as err:
        raise SettingsError(f"'{text}' is not a formula: {err}") from None


def apply_settings(spec: Spec, settings: Settings) -> tuple[Spec, Task]:
    """The spec with ``settings`` applied to its chosen task, and that task.

    Parameter overrides are not applied here: they go to the checker as ``-D`` overrides.
    """
    task = pick_task(spec, settings.task)
    by_op: dict[str, dict[int, float]] = {}
    known = {c["id"] for c in probability_controls(task)}
    for key, value in settings.probabilities.items():
        if key not in known:
            raise SettingsError(f"no probability '{key}' in task '{task.name}'")
        if not 0 <= value <= 1:
            raise SettingsError(f"probability '{key}' must lie in [0, 1], not {value}")
        op, index = key.split(":")
        by_op.setdefault(op, {})[int(index)] = value
    ops = tuple(_apply_probabilities(o, by_op[o.name]) if o.name in by_op else o for o in task.ops)
    new = replace(task, ops=ops)
    if settings.target is not None:
        bound = _number_expr(settings.target)
        # the target is the task's reliability bound: success, or per-item accuracy
        per_item = next((r for r in new.requirements if r.metric == "accuracy"), None)
        metric = "accuracy" if per_item is not None else "success"
        reqs = [r for r in new.requirements if not (r.metric == metric and r.cmp == ">=")]
        data = per_item.data if per_item is not None else None
        reqs.append(Requirement(metric, ">=", bound, data=data))
        new = replace(new, requirements=tuple(reqs))
    if settings.objective is not None:
        new = replace(new, objective=_parse_objective(settings.objective))
    if settings.pins:
        keys = {row["key"] for row in decision_controls(task)}
        pins = {f"{p.op}.{p.field}": p for p in new.pins}
        for key, value in settings.pins.items():
            if key not in keys:
                raise SettingsError(f"'{key}' is not a decision of task '{task.name}'")
            op, name = key.split(".")
            if value.strip() == "auto":  # let the optimizer choose, even if the spec pins it
                pins.pop(key, None)
            else:
                try:
                    pins[key] = Pin(op, name, _pin_expr(value))
                except SettingsError as err:  # say which pin, so the page can point at it
                    raise SettingsError(f"'{key}' in the task's pins: {err}") from None
        new = replace(new, pins=tuple(pins.values()))
    tasks = tuple(new if t.name == task.name else t for t in spec.tasks)
    return replace(spec, tasks=tasks), new

"""Pins and baselines: each pinned decision names a real op and field, once, with a value in
the decision's range; pins that are all valid are then checked against the context windows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from aalp import codes
from aalp.checks.context import TaskContext, at
from aalp.checks.formulas import value
from aalp.checks.names import op_ref
from aalp.checks.values import fmt_number, is_int
from aalp.checks.windows import check_pinned_fits
from aalp.front.expr import Number
from aalp.front.ir import HISTORY_WORDS, PIN_FIELDS, VOTE_WORDS, Name, Pin, Span
from aalp.suggest import did_you_mean

# what a pin of a numeric field must be, for a pin that names something else
NUMBER_HINTS = {
    "retries": "a whole number of at least 1, or inf",
    "x": "a number of units, e.g. 1 or the data's size",
}


def check_pins_and_baselines(t: TaskContext) -> None:
    pins_ok = check_pins(t, t.task.pins, "the task's pins")
    if pins_ok and t.task.pins:
        check_pinned_fits(t, None)
    for baseline in t.task.baselines:
        if check_pins(t, baseline.pins, f"baseline '{baseline.name}'") and pins_ok:
            check_pinned_fits(t, baseline)


def check_pins(t: TaskContext, pins: Iterable[Pin], where: str) -> bool:
    """Check every pin; True when all are valid (then the context check can run)."""
    ok = True
    seen: dict[tuple[str, str], Pin] = {}
    pins = tuple(pins)
    for pin in pins:
        span = t.span(pin)
        if not op_ref(t, pin.op, span, where):
            ok = False
            continue
        if pin.field not in PIN_FIELDS:
            t.c.error(
                codes.UNKNOWN_FIELD,
                f"'{pin.op}.{pin.field}' in {where}: ops have no decision '{pin.field}'",
                span,
                did_you_mean(pin.field, PIN_FIELDS, "decision"),
            )
            ok = False
            continue
        key = (pin.op, pin.field)
        if key in seen:
            t.c.error(
                codes.DUPLICATE,
                f"'{pin.op}.{pin.field}' is pinned twice in {where}",
                span,
                "keep one of the two",
            )
            ok = False
            continue
        seen[key] = pin
        ok = check_pin(t, pin, span, where, pins) and ok
    return ok


@dataclass(frozen=True)
class _Pin:
    """One pin being checked: what messages call it, where they point, and the word it pins
    (``pin move.vote = majority``), if it pins a word."""

    t: TaskContext
    pin: Pin
    label: str
    vspan: Span
    word: str | None

    def bad(self, message: str, hint: str = "") -> bool:
        """Report the pin's value out of range; False."""
        self.t.c.error(codes.PIN_OUT_OF_RANGE, f"{self.label} {message}", self.vspan, hint)
        return False


def check_pin(t: TaskContext, pin: Pin, span: Span, where: str, pins: tuple[Pin, ...]) -> bool:
    """True if ``pin`` (of a known op and field, one of ``pins``) has a value in range."""
    word = pin.value.id if isinstance(pin.value, Name) else None
    p = _Pin(t, pin, f"'{pin.op}.{pin.field}' in {where}", at(pin.value, span), word)
    match pin.field:
        case "model":
            return _check_model_pin(p)
        case "vote":
            if p.word not in VOTE_WORDS:
                return p.bad(
                    "must be one of " + ", ".join(VOTE_WORDS),
                    did_you_mean(p.word, VOTE_WORDS, "vote kind") if p.word else "",
                )
            return True
        case "history":
            return _check_history_pin(p)
        case "retries" if p.word == "inf":
            return True
    if p.word is not None and p.word not in t.scope and pin.field in NUMBER_HINTS:
        return p.bad(f"must be {NUMBER_HINTS[pin.field]}, not '{p.word}'")
    val = value(t.c, pin.value, t.scope, span, p.label)
    if val is None:
        return False
    return _check_number_pin(p, val, pins)


def _check_model_pin(p: _Pin) -> bool:
    op = p.t.ops[p.pin.op]
    models = {m.name for m in p.t.c.spec.models}
    if p.word is None:
        return p.bad("must name a model")
    if p.word not in models:
        p.t.c.error(
            codes.UNKNOWN_MODEL,
            f"unknown model '{p.word}' in {p.label}",
            p.vspan,
            did_you_mean(p.word, op.models or models, "model"),
        )
        return False
    if p.word not in op.models:
        return p.bad(
            f"names '{p.word}', which is not one of the op's models",
            "models of the op: " + ", ".join(f"'{m}'" for m in op.models),
        )
    return True


def _check_history_pin(p: _Pin) -> bool:
    if p.word not in HISTORY_WORDS:
        return p.bad(
            "must be 'full' or 'stateless'",
            did_you_mean(p.word, HISTORY_WORDS, "history") if p.word else "",
        )
    if p.pin.op not in p.t.chained:
        return p.bad(
            f"pins a history, but '{p.pin.op}' is not run by a chain stage",
            "history applies to ops in 'chain' stages",
        )
    return True


def _check_number_pin(p: _Pin, val: Number, pins: tuple[Pin, ...]) -> bool:
    """The value ``val`` of a pin of x, votes, retries or fanin, in the field's range."""
    op = p.pin.op
    match p.pin.field:
        case "x":
            rng = p.t.xrange.get(op, "none")
            if rng == "none":
                return p.bad(
                    f"pins x, but op '{op}' has no granularity",
                    f"declare one: op {op}(x of DATA)",
                )
            if val < 1 or not is_int(val):
                return p.bad(f"is {fmt_number(val)}; x must be a whole number of at least 1")
            if rng is not None and val > rng[1]:
                return p.bad(
                    f"is {fmt_number(val)}, above the largest x, {fmt_number(rng[1])}",
                    "x counts the units one call handles; it cannot exceed the data's size",
                )
        case "votes":
            if val < 1 or not is_int(val):
                return p.bad(f"is {fmt_number(val)}; votes must be a whole number of at least 1")
            kind = next(
                (
                    q.value.id
                    for q in pins
                    if q.op == op and q.field == "vote" and isinstance(q.value, Name)
                ),
                None,
            )
            if kind == "majority" and val % 2 == 0:
                return p.bad(
                    f"is {fmt_number(val)}; a majority vote needs an odd number of votes",
                    "use an odd K so there can be no tie",
                )
        case "retries":
            if val < 1 or not is_int(val):
                return p.bad(f"is {fmt_number(val)}; retries must be a whole number of at least 1")
        case "fanin":
            if op not in p.t.reduced:
                return p.bad(
                    f"pins a fan-in, but '{op}' is not run by a reduce stage",
                    "fan-in applies to ops in 'reduce' stages",
                )
            if val < 2 or not is_int(val):
                return p.bad(f"is {fmt_number(val)}; a fan-in must be a whole number of at least 2")
    return True

"""Pins: decisions fixed by the spec (``pin move.x = 4``) or the command line
(``--pin move.x=4``), read by one parser into decision values."""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from aalp import codes
from aalp.diagnostics import Diagnostic, SpecError
from aalp.front import expr as ex
from aalp.front.ir import NO_SPAN, Name, Pin
from aalp.front.numbers import float_env

Value = int | str


def _int_value(v: float) -> int:
    """Round a float that should be an integer (a count) to the nearest integer, exactly."""
    if math.isnan(v):
        return 0
    if math.isinf(v):
        return 2**200 if v > 0 else -(2**200)
    return int(Fraction(v).limit_denominator(1)) if abs(v) < 2**53 else int(v)


def pin_value(pin: Pin, env: Mapping[str, Any]) -> Value:
    """A pin's value: a word for symbolic decisions, an integer (or ``"inf"``) otherwise."""
    if pin.field in ("model", "vote", "history"):
        if isinstance(pin.value, Name):
            return pin.value.id
        message = f"'{pin.op}.{pin.field}' takes a name, not a formula"
        raise SpecError([_diag(pin, codes.PIN_OUT_OF_RANGE, message)])
    if isinstance(pin.value, Name) and pin.value.id in ("inf", "unbounded"):
        return "inf"
    try:
        v = ex.evaluate(pin.value, float_env(env))
    except ex.EvalError as err:
        message = f"cannot evaluate pin '{pin.op}.{pin.field}': {err}"
        raise SpecError([_diag(pin, codes.EVAL_FAILED, message)]) from None
    return _int_value(v)


def _diag(pin: Pin, code: str, message: str) -> Diagnostic:
    return Diagnostic("error", code, message, pin.span or NO_SPAN)


def parse_pin_text(text: str) -> tuple[str, str]:
    """``op.field=value`` from the command line, as ``("op.field", "value")``."""
    key, sep, value = text.partition("=")
    op, dot, field = key.strip().partition(".")
    if not sep or not dot or not op or not field or not value.strip():
        raise ValueError(f"'{text}' is not OP.FIELD=VALUE (for example move.votes=3)")
    return key.strip(), value.strip()

"""The IR as plain JSON, for tools (``aalp parse --json``).

Every node becomes an object whose first key, ``"node"``, names its IR class, followed by its
fields in declaration order and, last, its ``"span"`` (``{line, col, end_line, end_col}``, or
null when the node has no source). Formulas appear twice: ``"text"``, their canonical form, and
``"tree"``, their structure. Exact numbers are strings (``"499/500"``) with a float beside them
(``"float"``, null when it does not fit in a double). Key order is fixed, so the same spec gives
byte-identical JSON.
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction
from typing import Any

from aalp.front import ir
from aalp.front.printer import format_expr, format_number

_FORMULA_TYPES = (ir.Num, ir.Name, ir.BinOp, ir.Neg, ir.Call)


def spec_to_json(spec: ir.Spec) -> dict[str, Any]:
    """The whole spec as a JSON-ready dict (see the module docstring for the shape).

    >>> from aalp.front.parser import parse
    >>> spec_to_json(parse("param n = 1k"))["params"][0]["value"]["text"]
    '1k'
    """
    return {
        "node": "Spec",
        "file": spec.file,
        "attention": _value(spec.attention),
        "params": [_node(p) for p in spec.params],
        "models": [_node(m) for m in spec.models],
        **({"tools": [_node(t) for t in spec.tools]} if spec.tools else {}),
        "tasks": [_node(t) for t in spec.tasks],
        "comments": [_node(c) for c in spec.layout.comments],
    }


def expr_to_json(expr: ir.Expr) -> dict[str, Any]:
    """A formula as ``{"text": ..., "tree": ...}``."""
    return {"text": format_expr(expr), "tree": _tree(expr)}


def span_to_json(span: ir.Span) -> dict[str, int] | None:
    """``{line, col, end_line, end_col}`` (1-based, end inclusive), or None without source."""
    if span.line <= 0:
        return None
    return {"line": span.line, "col": span.col, "end_line": span.end_line, "end_col": span.end_col}


def _node(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"node": type(obj).__name__}
    span = None
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if f.name == "span":
            span = value
            continue
        if f.name == "io" and value == ("reads", "writes"):
            continue  # every op but one on a tool writes both (its shape stays as it was)
        out[f.name] = _value(value)
    if span is not None:
        out["span"] = span_to_json(span)
    return out


def _value(value: Any) -> Any:
    if isinstance(value, _FORMULA_TYPES):
        return expr_to_json(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _node(value)
    if isinstance(value, tuple | list):
        return [_value(v) for v in value]
    if isinstance(value, frozenset | set):
        return sorted(_value(v) for v in value)
    if isinstance(value, Fraction):
        return _exact(value)
    return value


def _exact(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else str(value)


def _float(value: Fraction) -> float | None:
    try:
        number = value.numerator / value.denominator
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _tree(expr: ir.Expr) -> dict[str, Any]:
    match expr:
        case ir.Num(value=value):
            node = {
                "node": "Num",
                "text": format_number(expr),
                "value": _exact(value),
                "float": _float(value),
            }
        case ir.Name(id=ident):
            node = {"node": "Name", "id": ident}
        case ir.BinOp(op=op, left=left, right=right):
            node = {"node": "BinOp", "op": op, "left": _tree(left), "right": _tree(right)}
        case ir.Neg(operand=operand):
            node = {"node": "Neg", "operand": _tree(operand)}
        case ir.Call(func=func, args=args):
            node = {"node": "Call", "func": func, "args": [_tree(a) for a in args]}
        case _:
            raise TypeError(f"not a formula: {expr!r}")
    node["span"] = span_to_json(expr.span)
    return node

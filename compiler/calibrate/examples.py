"""The units a calibration samples: labelled requests, one JSON object a line.

Each line is ``{"op": NAME, "request": {...}, "answer": VALUE}``: the request an emitted
program sends for one decision of the op (its ``x`` is the granularity; 1 when absent) and
the right answer. ``answer`` may be left out when an oracle (``--oracle MODULE:FUNCTION``)
says what is right.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aalp import codes
from aalp.diagnostics import AalpError

NO_ANSWER = object()


class ExamplesError(AalpError):
    code = codes.BAD_EXAMPLES


@dataclass(frozen=True)
class Example:
    op: str
    x: int
    request: dict[str, Any]
    answer: Any  # NO_ANSWER when the oracle labels it


def parse(text: str, where: str, ops: set[str]) -> list[Example]:
    """Every example of ``text``; ``ExamplesError`` naming the first bad line."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        at = f"{where}:{n}"
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as err:
            raise ExamplesError(f"examples {at}: not JSON ({err.msg})") from None
        if not isinstance(raw, dict) or not isinstance(raw.get("request"), dict):
            raise ExamplesError(f"examples {at}: needs an 'op' and a 'request' object")
        op = raw.get("op")
        if op not in ops:
            known = ", ".join(sorted(ops))
            raise ExamplesError(f"examples {at}: no op {op!r} in the task (its ops: {known})")
        x = raw["request"].get("x", 1)
        if isinstance(x, bool) or not isinstance(x, int) or x < 1:
            raise ExamplesError(f"examples {at}: the request's 'x' must be a whole number >= 1")
        out.append(Example(op, x, raw["request"], raw.get("answer", NO_ANSWER)))
    if not out:
        raise ExamplesError(f"examples {where}: no example")
    return out


def read(path: str | Path, ops: set[str]) -> list[Example]:
    from aalp.checks.loader import FileProblem, read_text_file

    try:
        text = read_text_file(path, limit=256 << 20)
    except FileProblem as err:
        raise ExamplesError(f"examples {path}: cannot be read: {err.problem}") from None
    return parse(text, str(path), ops)


def to_line(op: str, request: dict[str, Any], answer: Any) -> str:
    """One example as its line."""
    return json.dumps({"op": op, "request": request, "answer": answer}, sort_keys=True)

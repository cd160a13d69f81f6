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


def regranulate(
    examples: list[Example], op: str, xs: list[int], units: int, seed: int
) -> list[Example]:
    """Units of a map op at other granularities: the items of the op's examples, joined in
    file order, cut into windows of each x in ``xs`` at seeded random offsets (``units`` per
    x), unlabelled (an oracle says what is right). Only a map's plain requests (``x``,
    ``chunk``, ``items``) can be cut so; ``ExamplesError`` otherwise."""
    import random

    own = [e for e in examples if e.op == op]
    if not own:
        raise ExamplesError(f"--x {op}=...: the examples hold no unit of op {op!r}")
    pool: Any = None
    for e in own:
        items = e.request.get("items")
        if set(e.request) - {"x", "chunk", "items"} or not isinstance(items, list | str):
            raise ExamplesError(
                f"--x {op}=...: op {op!r}'s requests are not a map's plain chunks "
                "({'x', 'chunk', 'items'}), so they cannot be cut to another x"
            )
        pool = items if pool is None else pool + items
    out = []
    for x in xs:
        if x > len(pool):
            raise ExamplesError(
                f"--x {op}={x}: the examples hold {len(pool)} items of op {op!r}, fewer than x"
            )
        rng = random.Random(f"{seed}|{op}|{x}")
        for c in range(units):
            start = rng.randrange(0, len(pool) - x + 1)
            out.append(
                Example(op, x, {"x": x, "chunk": c, "items": pool[start : start + x]}, NO_ANSWER)
            )
    return out

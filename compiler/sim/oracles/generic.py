"""A task of no known family: the right answer is a fixed function of the request.

Enough to exercise voting, red flags and faults on any spec; the result has no meaning.
"""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

from aalp.front import ir

from . import Ask, count, perturb_number


def answer(ask: Ask) -> Any:
    body = json.dumps(ask.request, sort_keys=True).encode("utf-8")
    value = int(hashlib.sha256(body).hexdigest()[:8], 16)
    # an op answering a list gets one (a bare number would be unparsable for it)
    return [value] if _form(ask) == "list" else value


def _form(ask: Ask) -> str:
    try:
        return ask.task.op(ask.op).answer
    except KeyError:
        return "text"


def wrong(ask: Ask, right: Any, rng: random.Random) -> Any:
    if isinstance(right, list):
        return [perturb_number(right[0] if right else 0, rng)]
    return perturb_number(right, rng)


def make_input(task: ir.Task, env: dict[str, float], seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    data: dict[str, Any] = {}
    per_unit = _per_unit(task)
    for datum in task.data:
        if datum.kind != "items":
            continue
        if datum.name in per_unit:  # one list per unit of the enclosing stage's data
            outer = count(task, env, per_unit[datum.name])
            n = count(task, env, datum.name)
            data[datum.name] = [[rng.randint(0, 9) for _ in range(n)] for _ in range(outer)]
        elif datum.name not in _nested(task):
            data[datum.name] = [rng.randint(0, 9) for _ in range(count(task, env, datum.name))]
    return data


def _nested(task: ir.Task) -> set[str]:
    """The data of nested stages (``aalp.front.nesting``)."""
    within = task.within or (None,) * len(task.stages)
    return {
        getattr(s, "over", "") for s, w in zip(task.stages, within, strict=True) if w is not None
    }


def _per_unit(task: ir.Task) -> dict[str, str]:
    """Nested data whose enclosing stage makes one chunk per unit (its ops have no
    granularity over its data) -> that stage's data: the program takes one value per chunk."""
    out: dict[str, str] = {}
    for i, parent in enumerate(task.within):
        if parent is None:
            continue
        stage, up = task.stages[i], task.stages[parent]
        per_unit = all((g := task.op(o).granularity) is None or g.data != up.over for o in up.ops)
        if hasattr(stage, "over") and task.within[parent] is None and per_unit:
            out[stage.over] = up.over
    return out


def expected(task: ir.Task, env: dict[str, float], data: dict[str, Any]) -> Any:
    return None

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
    return int(hashlib.sha256(body).hexdigest()[:8], 16)


def wrong(ask: Ask, right: Any, rng: random.Random) -> Any:
    return perturb_number(right, rng)


def make_input(task: ir.Task, env: dict[str, float], seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    data: dict[str, Any] = {}
    for datum in task.data:
        if datum.kind == "items":
            data[datum.name] = [rng.randint(0, 9) for _ in range(count(task, env, datum.name))]
    return data


def expected(task: ir.Task, env: dict[str, float], data: dict[str, Any]) -> Any:
    return None

"""Counting (Chen et al. 2024): how many digits are in a string of letters and digits.

Each call counts the digits of its chunk (``items``, a string); ``combine sum`` adds them.
"""

from __future__ import annotations

import random
import string
from typing import Any

from aalp import ir

from . import Ask, count, data_name


def answer(ask: Ask) -> Any:
    request = ask.request
    if "children" in request:  # a reduce node adding partial counts
        return sum(c for c in request["children"] if isinstance(c, int | float))
    items = request.get("items") or ""
    return sum(1 for ch in items if str(ch).isdigit())


def wrong(ask: Ask, right: Any, rng: random.Random) -> Any:
    return (
        max(0, int(right) + rng.choice([-1, 1]) * rng.randint(1, 1000))
        if right
        else (rng.randint(1, 1000))
    )


def make_input(task: ir.Task, env: dict[str, float], seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    name = data_name(task, "items")
    alphabet = string.ascii_lowercase + string.digits
    return {name: "".join(rng.choice(alphabet) for _ in range(count(task, env, name)))}


def expected(task: ir.Task, env: dict[str, float], data: dict[str, Any]) -> Any:
    return sum(ch.isdigit() for ch in data[data_name(task, "items")])

"""Counting (Chen et al. 2024): how many times the digit 7 occurs in a string of digits.

Each call counts the 7s of its chunk (``items``, a string); ``combine sum`` adds them.
"""

from __future__ import annotations

import random
import string
from typing import Any

from aalp.front import ir

from . import Ask, count, data_name

DIGIT = "7"


def answer(ask: Ask) -> Any:
    request = ask.request
    if "children" in request:  # a reduce node adding partial counts
        return sum(c for c in request["children"] if isinstance(c, int | float))
    items = request.get("items") or ""
    return sum(1 for ch in items if str(ch) == DIGIT)


def wrong(ask: Ask, right: Any, rng: random.Random) -> Any:
    # a wide range keeps independent wrong counts distinct (they must not look like a rival)
    below = int(right) - rng.randint(1, 10**6)
    return below if below >= 0 and rng.random() < 0.5 else int(right) + rng.randint(1, 10**6)


def make_input(task: ir.Task, env: dict[str, float], seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    name = data_name(task, "items")
    return {name: "".join(rng.choice(string.digits) for _ in range(count(task, env, name)))}


def expected(task: ir.Task, env: dict[str, float], data: dict[str, Any]) -> Any:
    return sum(ch == DIGIT for ch in data[data_name(task, "items")])

"""Sorting (Chen et al. 2024): sort chunks of numbers, then merge sorted lists.

A map call sorts its ``items``; a reduce call merges its sorted ``children``. A wrong answer
swaps two neighbours or changes one number.
"""

from __future__ import annotations

import heapq
import random
from typing import Any

from aalp.front import ir

from . import Ask, count, data_name


def answer(ask: Ask) -> Any:
    request = ask.request
    if "children" in request:
        lists = [c for c in request["children"] if isinstance(c, list)]
        return list(heapq.merge(*[sorted(c) for c in lists]))
    return sorted(request.get("items") or [])


def wrong(ask: Ask, right: Any, rng: random.Random) -> Any:
    out = list(right)
    if len(out) >= 2 and rng.random() < 0.5:
        i = rng.randrange(len(out) - 1)
        if out[i] != out[i + 1]:
            out[i], out[i + 1] = out[i + 1], out[i]
            return out
    if not out:
        return [rng.randint(0, 10**6)]
    i = rng.randrange(len(out))
    out[i] = out[i] + rng.choice([-1, 1]) * rng.randint(1, 10**6)
    return out


def make_input(task: ir.Task, env: dict[str, float], seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    name = data_name(task, "items")
    return {name: [rng.randint(0, 999) for _ in range(count(task, env, name))]}


def expected(task: ir.Task, env: dict[str, float], data: dict[str, Any]) -> Any:
    return sorted(data[data_name(task, "items")])

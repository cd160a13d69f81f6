"""Needle retrieval (Chen et al. 2024): find the value of the one key hidden in a long text.

The input is a list of words with the needle ``"needle=VALUE"`` somewhere; a call answers
``{"answer": VALUE}`` if its window holds the needle and ``{"answer": null}`` ("I don't
know") otherwise. Mistakes are misses when the needle is there and made-up values when it is
not; ``combine vote`` takes the most common answer that is not null.
"""

from __future__ import annotations

import random
from typing import Any

from aalp.front import ir

from . import Ask, count, data_name

WORDS = ("alpha", "bravo", "delta", "echo", "golf", "hotel", "kilo", "lima", "oscar", "tango")


def answer(ask: Ask) -> Any:
    for word in ask.request.get("items") or []:
        if isinstance(word, str) and word.startswith("needle="):
            return {"answer": word.removeprefix("needle=")}
    return {"answer": None}


def wrong(ask: Ask, right: Any, rng: random.Random) -> Any:
    if right["answer"] is not None and rng.random() < 0.5:
        return {"answer": None}
    return {"answer": f"K{rng.randint(0, 10**9):09d}"}


def make_input(task: ir.Task, env: dict[str, float], seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    name = data_name(task, "items")
    n = count(task, env, name)
    words = [rng.choice(WORDS) for _ in range(n)]
    words[rng.randrange(n)] = f"needle=V{rng.randint(0, 10**6):06d}"
    return {name: words}


def expected(task: ir.Task, env: dict[str, float], data: dict[str, Any]) -> Any:
    words = data[data_name(task, "items")]
    return {"answer": next(w.removeprefix("needle=") for w in words if w.startswith("needle="))}

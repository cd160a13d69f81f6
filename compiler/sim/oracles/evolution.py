"""Evolutionary optimization (AALPs §3.3): rewrite blocks until each one is correct.

A block is ``{"id": i, "text": ...}``; its correct form is its text with the letters sorted
(a stand-in for a fitness function computed in code). A call answers ``{"blocks": [...]}``,
one string per block of its chunk; a wrong answer spoils one of them. ``check`` is the exact
check in code that ``retry until exact`` runs.
"""

from __future__ import annotations

import random
import string
from typing import Any

from aalp.front import ir

from . import Ask, count, data_name


def correct(block: Any) -> str:
    text = block.get("text", "") if isinstance(block, dict) else str(block)
    return "".join(sorted(text))


def answer(ask: Ask) -> Any:
    return {"blocks": [correct(b) for b in ask.request.get("items") or []]}


def wrong(ask: Ask, right: Any, rng: random.Random) -> Any:
    blocks = list(right["blocks"]) or [""]
    i = rng.randrange(len(blocks))
    blocks[i] = blocks[i] + "".join(rng.choice(string.ascii_lowercase) for _ in range(6))
    return {"blocks": blocks}


def check(request: dict[str, Any], answer: Any) -> bool:
    """The fitness test: every block of the chunk is correct."""
    items = request.get("items") or []
    return isinstance(answer, dict) and answer.get("blocks") == [correct(b) for b in items]


def make_input(task: ir.Task, env: dict[str, float], seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    name = data_name(task, "items")
    letters = string.ascii_lowercase
    blocks = [
        {"id": i, "text": "".join(rng.choice(letters) for _ in range(12))}
        for i in range(count(task, env, name))
    ]
    return {name: blocks}


def expected(task: ir.Task, env: dict[str, float], data: dict[str, Any]) -> Any:
    """Every block's correct text, in order (the chunks' answers concatenated)."""
    return [correct(b) for b in data[data_name(task, "items")]]

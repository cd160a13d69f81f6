"""Majority voting over a difficulty mixture (Chen et al. 2024, "Are more LLM calls all you
need?"): multiple-choice questions whose right letter is a fixed function of the question.

Easy and hard inputs differ only in the success the spec states for their mixture component;
on a hard input the wrong answers agree per input (the hard question has a tempting answer).
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

from aalp.front import ir

from . import Ask, count, data_name

LETTERS = "ABCD"
CORRELATED = True


def _question(request: dict[str, Any]) -> str:
    items = request.get("items") or [""]
    item = items[0] if isinstance(items, list) and items else ""
    return item.get("question", "") if isinstance(item, dict) else str(item)


def letter(question: str) -> str:
    return LETTERS[hashlib.sha256(question.encode("utf-8")).digest()[0] % len(LETTERS)]


def answer(ask: Ask) -> Any:
    return letter(_question(ask.request))


def wrong(ask: Ask, right: Any, rng: random.Random) -> Any:
    return rng.choice([c for c in LETTERS if c != right])


def make_input(task: ir.Task, env: dict[str, float], seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    name = data_name(task, "items")
    n = count(task, env, name)
    return {name: [{"question": f"Question {rng.randint(0, 10**9)}?"} for _ in range(n)]}


def expected(task: ir.Task, env: dict[str, float], data: dict[str, Any]) -> Any:
    return [letter(q["question"]) for q in data[data_name(task, "items")]]

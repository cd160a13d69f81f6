"""k-task routing (AALPs §3.1): a delegator names the kind of a request, a specialist solves it.

Each input is ``{"id": ..., "kind": "math" | "code" | "prose", "text": ...}``. The classifier's
right answer is the kind; the solver's is ``{"answer": ...}``, a fixed function of the text. A
solver reached through the wrong route (the request's ``route`` is not the input's kind) is
always wrong: a specialist cannot do another specialist's task.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

from aalp.front import ir

from . import Ask, count, data_name

KINDS = ("math", "code", "prose")


def _item(request: dict[str, Any]) -> dict[str, Any]:
    items = request.get("items") or [{}]
    item = items[0] if isinstance(items, list) and items else {}
    return item if isinstance(item, dict) else {}


def solution(text: str) -> str:
    return "A" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]


def answer(ask: Ask) -> Any:
    item = _item(ask.request)
    if ask.role == "classifier":
        return item.get("kind", KINDS[0])
    return {"answer": solution(str(item.get("text", "")))}


def wrong(ask: Ask, right: Any, rng: random.Random) -> Any:
    if ask.role == "classifier":
        return rng.choice([k for k in KINDS if k != right])
    return {"answer": "W" + "".join(rng.choice("0123456789abcdef") for _ in range(10))}


def misrouted(ask: Ask) -> bool:
    """True when a routed solver got a request of another kind."""
    route = ask.request.get("route")
    return (
        ask.role != "classifier" and route is not None and route != _item(ask.request).get("kind")
    )


def make_input(task: ir.Task, env: dict[str, float], seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    name = data_name(task, "items")
    items = []
    for i in range(count(task, env, name)):
        kind = rng.choice(KINDS)
        items.append({"id": i, "kind": kind, "text": f"{kind} request {rng.randint(0, 10**9)}"})
    return {name: items}


def expected(task: ir.Task, env: dict[str, float], data: dict[str, Any]) -> Any:
    return [{"answer": solution(item["text"])} for item in data[data_name(task, "items")]]

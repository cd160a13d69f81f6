"""A plain reference interpreter of a plan view over the fake world (stdlib only).

It runs the stages the way docs/model.md describes them, drawing each decision's samples from
``world.answer`` in the order the inputs are asked, and returns the result and the calls per
op. The framework programs must reproduce both exactly: any difference in how they vote,
red-flag, retry or cut chunks changes the counts.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any

from . import world

ROUTE_MODEL = "specialist"
#: a verifier's answers that accept a try (the python target's rule)
ACCEPT = ("true", "yes", "accept", "pass", "1", "ok")


def _parse(fmt: str, text: str) -> Any:
    """The answer formats the world writes (docs/backends.md, "Answers"): strict JSON, a JSON
    number, one line of choice, or any text (unquoted when it is one JSON string)."""
    body = text.strip()
    if fmt == "text" and len(body) >= 2 and body[0] == body[-1] == '"':
        try:
            value = json.loads(body)
        except ValueError:
            return body
        return value.strip() if isinstance(value, str) else body
    if fmt == "json":
        return json.loads(body)
    if fmt == "number":
        number = json.loads(body)
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise ValueError("not a number")
        return int(number) if float(number).is_integer() else number
    if fmt == "choice" and (not body or "\n" in body):
        raise ValueError("not one choice")
    return body


class Reference:
    """Replays a plan; ``calls`` counts samples per op, ``asked`` samples per (op, input)."""

    def __init__(self, view: dict[str, Any]):
        self.view = view
        self.calls: Counter[str] = Counter()
        self.asked: Counter[tuple[str, str]] = Counter()

    def sample(self, op: str, request: dict[str, Any], limit: int | None) -> tuple[bool, Any]:
        spec = self.view["ops"][op]
        text = json.dumps(request, ensure_ascii=False)
        nth = self.asked[(op, text)]
        self.asked[(op, text)] += 1
        self.calls[op] += 1
        out = world.answer(op, text, nth)
        if limit is not None and len(out.split()) > limit:
            return False, None
        try:
            return True, _parse(spec["answer"], out)
        except ValueError:
            return False, None  # an answer that does not parse is always a red flag

    def decide(self, op: str, request: dict[str, Any]) -> Any:
        """One decision: samples drawn one at a time (batching never changes the outcome)."""
        spec = self.view["ops"][op]
        if spec["routed_by"]:
            route = self.decide(spec["routed_by"], request)
            request = {**request, "route": route}
        booster = spec["booster"]
        if booster["kind"] == "retry":
            tries, answer = 0, None
            while booster["retries"] is None or tries < booster["retries"]:
                kept, sample = self.sample(op, request, spec["max_writes"])
                if not kept:
                    continue  # drawn again: not a try
                tries, answer = tries + 1, sample
                if self.accepted(op, booster["check"], request, sample):
                    break
            return answer
        tally: Counter[str] = Counter()
        answers: dict[str, Any] = {}
        while True:
            ranked = [*sorted(tally.values(), reverse=True), 0, 0]
            if booster["kind"] == "ahead_by" and ranked[0] - ranked[1] >= booster["votes"]:
                break
            if booster["kind"] == "majority" and sum(tally.values()) >= booster["votes"]:
                break
            if booster["kind"] in ("none", "retry") and tally:
                break
            kept, answer = self.sample(op, request, spec["max_writes"])
            if kept:
                key = json.dumps(answer, sort_keys=True)
                tally[key] += 1
                answers.setdefault(key, answer)
        # a tie goes to the answer voted first (the tally keeps the order keys came in)
        best = max(tally, key=tally.__getitem__)
        return answers[best]

    def accepted(self, op: str, check: str, request: dict[str, Any], answer: Any) -> bool:
        """An exact check in code, or the LLM verifier ``check``'s decision on the try."""
        if check == "exact":
            return world.check(op, request, answer)
        verdict = self.decide(check, {"request": request, "answer": answer})
        return str(verdict).strip().lower() in ACCEPT

    def run(self, data: dict[str, Any]) -> Any:
        value: Any = None
        for stage in self.view["stages"]:
            match stage["kind"]:
                case "chain":
                    previous = data.get(stage["over"], value)
                    count, x = stage["count"], stage["x"]
                    for first in range(0, count, x):
                        for op in stage["ops"]:
                            request = {
                                "x": min(x, count - first),
                                "step": first,
                                "steps": count,
                                "previous": previous,
                            }
                            previous = self.decide(op, request)
                    value = previous
                case "map":
                    units = data.get(stage["over"], value)
                    x, stride = stage["x"], stage["stride"]
                    starts = range(0, 1 + math.ceil(max(0, len(units) - x) / stride))
                    value = []
                    for c, j in enumerate(starts):
                        chunk = units[int(j * stride) : int(j * stride) + x]
                        request: dict[str, Any] = {"x": len(chunk), "chunk": c, "items": chunk}
                        for op in stage["ops"]:
                            answer = self.decide(op, request)
                            request = {**request, op: answer}
                        value.append(answer)
                case "combine":
                    assert stage["how"] == "sum", stage["how"]
                    value = sum(value)
        return value


def expected(view: dict[str, Any], data: dict[str, Any]) -> tuple[Any, dict[str, int]]:
    """The result and calls per op the plan makes on ``data`` in the fake world."""
    ref = Reference(view)
    result = ref.run(data)
    return result, dict(sorted(ref.calls.items()))

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


def _parse(fmt: str, text: str) -> Any:
    body = text.strip()
    if fmt == "json":
        return json.loads(body)
    if fmt == "number":
        number = float(body)
        return int(number) if number.is_integer() else number
    if not body:
        raise ValueError("empty")
    return body


class Reference:
    """Replays a plan; ``calls`` counts samples per op, ``asked`` samples per (op, input)."""

    def __init__(self, view: dict[str, Any]):
        self.view = view
        self.calls: Counter[str] = Counter()
        self.asked: Counter[tuple[str, str]] = Counter()

    def sample(self, op: str, value: Any, limit: int | None) -> tuple[bool, Any]:
        spec = self.view["ops"][op]
        text = world.render(value)
        nth = self.asked[(op, text)]
        self.asked[(op, text)] += 1
        self.calls[op] += 1
        out = world.answer(op, text, value, nth)
        if limit is not None and len(out.split()) > limit:
            return False, None
        try:
            return True, _parse(spec["answer"], out)
        except ValueError:
            return (False, None) if spec["unparsable"] else (True, out.strip())

    def decide(self, op: str, value: Any, limit: int | None = None) -> Any:
        """One decision: samples drawn one at a time (batching never changes the outcome)."""
        spec = self.view["ops"][op]
        booster = spec["booster"]
        limit = spec["max_writes"] if limit is None else limit
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
            kept, answer = self.sample(op, value, limit)
            if kept:
                key = json.dumps(answer, sort_keys=True)
                tally[key] += 1
                answers[key] = answer
        best = min(tally, key=lambda key: (-tally[key], key))
        return answers[best]

    def run(self, value: Any) -> Any:
        ops = self.view["ops"]
        for stage in self.view["stages"]:
            match stage["kind"]:
                case "chain":
                    for _ in range(stage["chunks"]):
                        for op in stage["ops"]:
                            value = self.decide(op, value)
                case "map":
                    stride, x = int(stage["stride"]), stage["x"]
                    if x == 1:
                        chunks = list(value)  # one unit per call: the unit itself
                    else:
                        chunks = [value[i : i + x] for i in range(0, len(value), stride)]
                    outs = []
                    for chunk in chunks[: stage["chunks"]]:
                        for op in stage["ops"]:
                            if ops[op]["routed_by"]:
                                self.decide(ops[op]["routed_by"], chunk)
                            chunk = self.decide(op, chunk)
                        outs.append(chunk)
                    value = outs
                case "reduce":
                    while len(value) > 1:
                        f = stage["fanin"]
                        groups = [value[i : i + f] for i in range(0, len(value), f)]
                        value = [self.decide(stage["op"], g) for g in groups]
                    value = value[0]
                case "combine":
                    assert stage["how"] == "sum", stage["how"]
                    value = sum(value)
        return value


def expected(view: dict[str, Any], value: Any) -> tuple[Any, dict[str, int]]:
    """The result and calls per op the plan makes on ``value`` in the fake world."""
    ref = Reference(view)
    result = ref.run(value)
    return result, dict(sorted(ref.calls.items()))


__all__ = ["ROUTE_MODEL", "expected", "math"]

"""A tiny deterministic world for the framework targets' fake chat models (stdlib only).

It answers the three sample families (a Towers of Hanoi move, a digit count, a routed query)
and decides, from a hash of the op, the call's input and how many times that input was asked
before, whether a sample is right, wrong, unparsable or over-long. Keying on the input (not on
call order) makes parallel branches reach the same answers in any order, so a run's calls are
reproducible; ``reference`` replays the plan with the same script to count the calls it must
make, independently of any framework.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

# fraction of samples that are wrong, unparsable (kept under red flags only), over-long
RATES = {"wrong": 0.15, "garbage": 0.05, "long": 0.05}


def kind(op: str, text: str, nth: int) -> str:
    """What the ``nth`` sample (0-based) of ``op`` on the user message ``text`` is."""
    digest = hashlib.sha256(f"{op}\0{text}\0{nth}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    for name, rate in RATES.items():
        if u < rate:
            return name
        u -= rate
    return "right"


def hanoi_next(state: dict[str, Any]) -> dict[str, Any]:
    """The optimal next position: the iterative solution (smallest disk cycles one way)."""
    pegs = [list(p) for p in state["pegs"]]
    step = state["step"]
    n = sum(len(p) for p in pegs)
    if step % 2 == 0:
        src = next(i for i, p in enumerate(pegs) if p and p[-1] == 1)
        dst = (src + (1 if n % 2 == 0 else -1)) % 3
    else:
        a, b = (i for i, p in enumerate(pegs) if not (p and p[-1] == 1))
        top = lambda i: pegs[i][-1] if pegs[i] else 10**9  # noqa: E731
        src, dst = (a, b) if top(a) < top(b) else (b, a)
    pegs[dst].append(pegs[src].pop())
    return {"pegs": pegs, "step": step + 1}


def right_answer(op: str, value: Any) -> str:
    """The right answer's text for ``op`` on the input ``value``."""
    match op:
        case "move":
            return json.dumps(hanoi_next(value))
        case "count":
            return str(str(value if isinstance(value, str) else "".join(value)).count("7"))
        case "classify":
            return value.split(":", 1)[0]
        case "solve":
            return value.split(":", 1)[1][::-1]
    raise KeyError(op)


def answer(op: str, text: str, value: Any, nth: int, max_words: int = 750) -> str:
    """The ``nth`` sample's text: right, or scripted wrong, unparsable or over-long."""
    right = right_answer(op, value)
    match kind(op, text, nth):
        case "wrong":
            return right + " 9" if op in ("classify", "solve") else _wrong(op, value, right)
        case "garbage":
            return "{not json" if op == "move" else "???" if op == "count" else right
        case "long":
            return " ".join(["word"] * (max_words + 50))
    return right


def _wrong(op: str, value: Any, right: str) -> str:
    if op == "count":
        return str(int(right) + 1)
    state = json.loads(right)
    state["pegs"] = state["pegs"][::-1]
    return json.dumps(state)


def render(value: Any) -> str:
    """The user message of an input, as every emitted program writes it."""
    return value if isinstance(value, str) else json.dumps(value)


def make_input(task: str, size: int) -> Any:
    """A task input: the start position, a digit string, or ``kind:payload`` queries."""
    match task:
        case "hanoi":
            return {"pegs": [list(range(size, 0, -1)), [], []], "step": 0}
        case "counting":
            return "".join(str((i * 7 + i // 3) % 10) for i in range(size))
        case "routing":
            kinds = ("math", "code", "prose")
            return [f"{kinds[i % 3]}:query{i}" for i in range(size)]
    raise KeyError(task)

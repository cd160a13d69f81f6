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
import importlib.util
import json
import os
import sys
from types import ModuleType
from typing import Any

# fraction of samples that are wrong, unparsable (always red-flagged), over-long
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


def hanoi_next(state: list[list[int]], step: int) -> dict[str, Any]:
    """The optimal next move (the smallest disk cycles one way on even steps) and position."""
    pegs = [list(p) for p in state]
    n = sum(len(p) for p in pegs)
    if step % 2 == 0:
        src = next(i for i, p in enumerate(pegs) if p and p[-1] == 1)
        dst = (src + (1 if n % 2 == 0 else -1)) % 3
    else:
        a, b = (i for i, p in enumerate(pegs) if not (p and p[-1] == 1))
        top = lambda i: pegs[i][-1] if pegs[i] else 10**9  # noqa: E731
        src, dst = (a, b) if top(a) < top(b) else (b, a)
    disk = pegs[src].pop()
    pegs[dst].append(disk)
    return {"moves": [[disk, src, dst]], "state": pegs}


def right_answer(op: str, request: dict[str, Any]) -> str:
    """The right answer's text for ``op`` on ``request`` (the call's JSON user message)."""
    match op:
        case "move":
            return json.dumps(hanoi_next(request["previous"]["state"], request["step"]))
        case "count":
            return str("".join(map(str, request["items"])).count("7"))
        case "classify":
            return request["items"][0].split(":", 1)[0]
        case "solve":  # a JSON string: an answer in the json format and in the text format
            return json.dumps(request["items"][0].split(":", 1)[1][::-1])
        case "judge":  # an LLM verifier of a count: is the try's answer right?
            return "yes" if check("count", request["request"], request["answer"]) else "no"
    raise KeyError(op)


def check(op: str, request: dict[str, Any], answer: Any) -> bool:
    """An exact check (``retry ... until exact``): is ``answer`` the right one?"""
    right = right_answer(op, request)
    parsed = json.loads(right) if op in ("move", "solve") else right
    return answer == parsed or str(answer) == right


def install_checks(module: Any) -> None:
    """Give an emitted program the world's exact checks for every op that retries."""
    for name, spec in module.OPS.items():
        if spec["retries"] is not None:
            module.CHECKS[name] = lambda request, answer, name=name: check(name, request, answer)


def answer(op: str, text: str, nth: int, max_words: int = 750) -> str:
    """The ``nth`` sample's text for the user message ``text``: right, or scripted wrong,
    unparsable or over-long."""
    request = json.loads(text)
    right = right_answer(op, request)
    match kind(op, text, nth):
        case "wrong":
            if op == "judge":
                return "no" if right == "yes" else "yes"
            return right + " 9" if op == "classify" else _wrong(op, right)
        case "garbage":
            return "{not json" if op == "move" else "???" if op == "count" else right
        case "long":
            return " ".join(["word"] * (max_words + 50))
    return right


def _wrong(op: str, right: str) -> str:
    if op == "count":
        return str(int(right) + 1)
    if op == "solve":
        return json.dumps(json.loads(right) + " 9")
    answer = json.loads(right)
    answer["state"] = answer["state"][::-1]
    return json.dumps(answer)


def make_input(task: str, size: int, name: str = "") -> dict[str, Any]:
    """A task input under data name ``name``: the start position, digits, or
    ``kind:payload`` queries."""
    match task:
        case "hanoi":
            return {name or "s": {"state": [list(range(size, 0, -1)), [], []]}}
        case "counting":
            return {name or "digits": "".join(str((i * 7 + i // 3) % 10) for i in range(size))}
        case "routing":
            kinds = ("math", "code", "prose")
            return {name or "queries": [f"{kinds[i % 3]}:query{i}" for i in range(size)]}
    raise KeyError(task)


def load_run(argv: list[str], checks: bool = True) -> tuple[ModuleType, dict[str, Any], Any]:
    """A driver's arguments ``PROGRAM VIEW INPUT``: the emitted program imported as the module
    ``program`` (its type hints resolve in its globals), the plan's view and the task input."""
    program, view_path, input_path = argv[1:4]
    sys.path.insert(0, os.path.dirname(os.path.abspath(program)))  # its runtime module
    spec = importlib.util.spec_from_file_location("program", program)
    module = importlib.util.module_from_spec(spec)
    sys.modules["program"] = module
    spec.loader.exec_module(module)
    if checks:
        install_checks(module)
    with open(view_path) as f:
        view = json.load(f)
    with open(input_path) as f:
        task_input = json.load(f)
    return module, view, task_input

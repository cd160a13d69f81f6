"""Iterative code debugging (AALPs §3.2): QA finds one bug per call, a developer fixes it.

The code is a list of functions ``{"name": "f3", "spec": ..., "body": ...}``; function ``fi``
is right when its body is ``return i``. The chain's state (``previous``) is ``{"code": [...]}``.
QA (``check``) answers ``{"function": name, "bug": ...}`` for the first wrong function, or
``{"function": null}``; the developer (``fix``) answers the whole code with the reported
function corrected. ``check`` below is the exact check of a fix (``retry until exact``).
"""

from __future__ import annotations

import copy
import random
from typing import Any

from aalp.front import ir

from . import Ask, count, data_name


def _right_body(function: dict[str, Any]) -> str:
    return f"return {str(function.get('name', 'f0'))[1:]}"


def _code(request: dict[str, Any]) -> list[dict[str, Any]]:
    previous = request.get("previous")
    code = previous.get("code") if isinstance(previous, dict) else None
    return [f for f in code if isinstance(f, dict)] if isinstance(code, list) else []


def _report(request: dict[str, Any]) -> Any:
    for key, value in request.items():
        if key not in ("x", "step", "steps", "previous", "items") and isinstance(value, dict):
            return value.get("function")
    return None


def fixed(request: dict[str, Any]) -> dict[str, Any]:
    """The right answer of the developer: the reported function corrected, nothing else."""
    code = copy.deepcopy(_code(request))
    target = _report(request)
    for function in code:
        if function.get("name") == target:
            function["body"] = _right_body(function)
    return {"code": code}


def answer(ask: Ask) -> Any:
    if ask.op == _first_op(ask.task):
        for function in _code(ask.request):
            if function.get("body") != _right_body(function):
                return {"function": function["name"], "bug": "does not meet its spec"}
        return {"function": None}
    return fixed(ask.request)


def _first_op(task: ir.Task) -> str:
    for stage in task.stages:
        ops = getattr(stage, "ops", ())
        if ops:
            return str(ops[0])
    return task.ops[0].name


def wrong(ask: Ask, right: Any, rng: random.Random) -> Any:
    code = _code(ask.request)
    if "function" in right:
        names = [f["name"] for f in code if f.get("name") != right["function"]]
        return {"function": rng.choice(names) if names else "nothing", "bug": "misread"}
    out = copy.deepcopy(right)
    if out["code"]:
        victim = rng.randrange(len(out["code"]))
        out["code"][victim]["body"] = f"return -{rng.randint(1, 10**6)}"
    return out


def check(request: dict[str, Any], answer: Any) -> bool:
    """A fix is accepted when it corrects the reported function and changes nothing else."""
    return answer == fixed(request)


def make_input(task: ir.Task, env: dict[str, float], seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    k = count(task, env, data_name(task, "items"))
    bugs = min(k, count(task, env, data_name(task, "steps")))
    wrong_ones = set(rng.sample(range(k), bugs))
    code = [
        {
            "name": f"f{i}",
            "spec": f"return the number {i}",
            "body": f"return {i + 1}" if i in wrong_ones else f"return {i}",
        }
        for i in range(k)
    ]
    return {data_name(task, "steps"): {"code": code}}


def expected(task: ir.Task, env: dict[str, float], data: dict[str, Any]) -> Any:
    code = copy.deepcopy(data[data_name(task, "steps")]["code"])
    for function in code:
        function["body"] = _right_body(function)
    return {"code": code}

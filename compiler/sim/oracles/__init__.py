"""Oracles: the task logic of the simulated LLM, one small module per sample family.

Each module defines

* ``answer(ask) -> value``: the right answer to one request;
* ``wrong(ask, right, rng) -> value``: a wrong answer (different from ``right``);
* ``make_input(task, env, seed) -> dict``: an input for the emitted program (``--input``);
* ``expected(task, env, data) -> value``: the right final result for that input.

``Ask`` carries the op, its role in the plan (``map``, ``chain``, ``reduce``, ``classifier``,
``verifier``) and the request (the JSON object the program sent).
"""

from __future__ import annotations

import importlib
import random
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from aalp.front import ir

#: family -> words that identify it in a task's name
FAMILIES: dict[str, tuple[str, ...]] = {
    "hanoi": ("hanoi",),
    "counting": ("count",),
    "sorting": ("sort",),
    "retrieval": ("retriev", "needle"),
    "routing": ("rout",),
    "debugging": ("debug",),
    "evolution": ("evol", "mutat"),
    "voting": ("vot", "major"),
}


@dataclass(frozen=True)
class Ask:
    """One request as an oracle sees it."""

    op: str
    role: str
    request: dict[str, Any]
    task: ir.Task
    env: dict[str, float]


def family_of(task: ir.Task) -> str:
    """The oracle family of ``task``, from its name (``generic`` when none matches)."""
    name = task.name.lower()
    for family, words in FAMILIES.items():
        if any(word in name for word in words):
            return family
    return "generic"


def oracle(family: str) -> ModuleType:
    """The oracle module of ``family``."""
    if family not in FAMILIES and family != "generic":
        raise KeyError(family)
    return importlib.import_module(f"aalp.sim.oracles.{family}")


def data_name(task: ir.Task, kind: str) -> str:
    """The first data of ``kind`` (``items`` or ``steps``) that a stage runs over."""
    for stage in task.stages:
        over = getattr(stage, "over", None)
        if over is not None and task.datum(over).kind == kind:
            return over
    for datum in task.data:
        if datum.kind == kind:
            return datum.name
    raise KeyError(kind)


def count(task: ir.Task, env: dict[str, float], name: str) -> int:
    """The number of units of data ``name`` under ``env``."""
    from aalp.front.expr import evaluate

    return max(1, round(evaluate(task.datum(name).count, env)))


def perturb_number(right: Any, rng: random.Random) -> Any:
    """A wrong number near ``right``."""
    base = right if isinstance(right, int | float) and not isinstance(right, bool) else 0
    return base + rng.choice([-1, 1]) * rng.randint(1, 1_000_000)

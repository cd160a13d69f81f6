"""The simulated LLM in a beam search (``expand OP by SCORE``): OP's proposals after a path
with a wrong step are wrong (a wrong step is not undone), and SCORE's right verdict on
``{"request", "path", "candidate"}`` accepts exactly the candidates that extend a right path
with a right step (docs/model.md §2, expand)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aalp.front import ir

from .oracles import Ask


def _beam_of(task: ir.Task, name: str, *, scorer: bool = False) -> ir.ExpandBooster | None:
    for b in task.boosters:
        if isinstance(b, ir.ExpandBooster) and (b.scorer if scorer else b.op) == name:
            return b
    return None


def _right_path(sim: Any, op: ir.Op, base: dict[str, Any], path: list[Any], to_text) -> bool:
    """Whether every step of ``path`` is OP's right answer after the steps before it."""
    for j, step in enumerate(path):
        ask = Ask(
            op.name, sim.roles.get(op.name, "other"), {**base, "path": path[:j]}, sim.task, sim.env
        )
        right = sim.oracle.answer(ask)
        if not (step == right or to_text(step, op.answer) == to_text(right, op.answer)):
            return False
    return True


def dead_end(sim: Any, op: ir.Op, request: dict[str, Any], to_text: Callable) -> bool:
    """A proposal of an expanded op after a path holding a wrong step (it cannot be right)."""
    path = request.get("path")
    if sim.family == "custom" or _beam_of(sim.task, op.name) is None or not isinstance(path, list):
        return False
    base = {k: v for k, v in request.items() if k != "path"}
    return not _right_path(sim, op, base, path, to_text)


def scorer_verdict(sim: Any, op: ir.Op, request: dict[str, Any], to_text: Callable) -> str | None:
    """The right verdict of a beam's scorer: accept a right step after a right path. None for
    a request of another shape, or a user's oracle (it answers its scorers itself)."""
    beam = _beam_of(sim.task, op.name, scorer=True)
    if sim.family == "custom" or beam is None:
        return None
    if not {"request", "path", "candidate"} <= set(request):
        return None
    base, path = request["request"], request["path"]
    if not isinstance(base, dict) or not isinstance(path, list):
        return None
    gen = sim.task.op(beam.op)
    whole = [*path, request["candidate"]]
    return "accept" if _right_path(sim, gen, base, whole, to_text) else "reject"


def scored_tokens(sim: Any, op: ir.Op, x: float) -> int:
    """What a beam's scorer reads beside its own prompt: the candidate, as the expanded op
    writes it (its ``writes`` at x), as the cost model counts it."""
    beam = _beam_of(sim.task, op.name, scorer=True)
    return 0 if beam is None else round(sim._at(sim.task.op(beam.op).writes, x))

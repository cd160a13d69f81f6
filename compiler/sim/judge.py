"""The simulated judge of a best-of-n vote (``allow vote judge J``): the emitted programs ask
it ``{"request": ..., "candidates": [...]}`` and it answers the number of one candidate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aalp.front import ir

from .oracles import Ask


def judged_op(task: ir.Task, judge: str) -> str | None:
    """The op whose samples ``judge`` picks among (the first the booster names)."""
    for b in task.boosters:
        if isinstance(b, ir.VoteBooster) and b.kind == "judge" and b.judge == judge:
            names = b.ops or tuple(o.name for o in task.ops if o.name != judge)
            return names[0] if names else None
    return None


def judge_picks(
    sim: Any, op: ir.Op, request: dict[str, Any], to_text: Callable[[Any, str], str]
) -> tuple[int, int] | None:
    """``(right, wrong)``: the number of a right candidate and of a wrong one (the same when
    all are right, or none is: then any pick is as good), comparing answers as ``to_text``
    writes them. None for a request of another shape, or a user's oracle (it answers its
    judges itself)."""
    candidates = request.get("candidates")
    inner = request.get("request")
    checked = judged_op(sim.task, op.name)
    if sim.family == "custom" or checked is None or not isinstance(candidates, list):
        return None
    if not candidates or not isinstance(inner, dict):
        return None
    gen = sim.task.op(checked)
    ask = Ask(gen.name, sim.roles.get(gen.name, "other"), inner, sim.task, sim.env)
    right = sim.oracle.answer(ask)
    good = [
        i
        for i, c in enumerate(candidates)
        if c == right or to_text(c, gen.answer) == to_text(right, gen.answer)
    ]
    bad = [i for i in range(len(candidates)) if i not in good]
    if not good:
        return bad[0], bad[0]
    return good[0], bad[0] if bad else good[0]


def candidate_tokens(sim: Any, op: ir.Op, request: dict[str, Any], x: float) -> int:
    """What a judge reads beside its own prompt: each candidate as the judged op writes it
    (its ``writes`` at x), as the cost model counts it."""
    checked = judged_op(sim.task, op.name)
    candidates = request.get("candidates")
    if checked is None or not isinstance(candidates, list):
        return 0
    return len(candidates) * round(sim._at(sim.task.op(checked).writes, x))

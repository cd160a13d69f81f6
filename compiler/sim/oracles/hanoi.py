"""Towers of Hanoi (MAKER): each call makes the next ``x`` moves of the optimal solution.

The request's ``previous`` holds the position as the sample's prompt describes it,
``{"pegs": [[...], [...], [...]], "step": s}`` (pegs bottom to top), and the answer is the
position after the moves in the same shape. A position given as ``{"state": ...}`` is
answered ``{"moves": [[disk, from, to], ...], "state": ...}``. The optimal
solution from peg 0 to peg 2 follows from the state and the step's parity alone: even steps
move disk 1 one peg around (0→2→1 for an odd number of disks, 0→1→2 for an even one), odd
steps make the only legal move that does not touch disk 1.
"""

from __future__ import annotations

import copy
import math
import random
from typing import Any

from aalp.front import ir

from . import Ask, count, data_name

State = list[list[int]]


def _valid(state: Any) -> bool:
    return (
        isinstance(state, list)
        and len(state) == 3
        and all(isinstance(peg, list) and all(isinstance(d, int) for d in peg) for peg in state)
    )


def _next_move(state: State, step: int) -> tuple[int, int, int] | None:
    disks = sum(len(peg) for peg in state)
    if step % 2 == 0:
        where = next((i for i, peg in enumerate(state) if peg and peg[-1] == 1), None)
        if where is None:
            return None
        to = (where + (1 if disks % 2 == 0 else 2)) % 3
        return 1, where, to
    for a in range(3):
        for b in range(3):
            if a == b or not state[a] or state[a][-1] == 1:
                continue
            if not state[b] or state[b][-1] > state[a][-1]:
                return state[a][-1], a, b
    return None


def solve(state: State, step: int, x: int) -> dict[str, Any]:
    """The next ``x`` optimal moves from ``state`` at ``step`` and the state after them."""
    state = copy.deepcopy(state)
    moves = []
    for j in range(step, step + x):
        move = _next_move(state, j)
        if move is None:
            break
        disk, a, b = move
        state[b].append(state[a].pop())
        moves.append([disk, a, b])
    return {"moves": moves, "state": state}


def final_state(position: Any) -> Any:
    """The pegs of a position in either shape."""
    if isinstance(position, dict):
        return position.get("pegs", position.get("state"))
    return position


def _state(previous: Any) -> State:
    state = final_state(previous)
    return state if _valid(state) else [[], [], []]


def answer(ask: Ask) -> Any:
    request = ask.request
    x = int(request.get("x") or 1)
    step = int(request.get("step") or 0)
    previous = request.get("previous")
    result = solve(_state(previous), step, x)
    if isinstance(previous, dict) and "pegs" in previous:
        return {"pegs": result["state"], "step": step + len(result["moves"])}
    return result


def wrong(ask: Ask, right: Any, rng: random.Random) -> Any:
    """A plausible mistake: one disk moved to the wrong peg, reported consistently."""
    if "pegs" in right:
        spoiled = wrong(ask, {"moves": [[1, 0, 1]], "state": right["pegs"]}, rng)
        return {"pegs": spoiled["state"], "step": right["step"]}
    state = copy.deepcopy(right["state"])
    disks = max(1, sum(len(peg) for peg in state))
    for _ in range(20):
        a, b = rng.sample(range(3), 2)
        if state[a]:
            state[b].append(state[a].pop())
            break
    else:
        state[0].append(disks + 1)
    moves = [*copy.deepcopy(right["moves"][:-1]), [rng.randint(1, disks), *rng.sample(range(3), 2)]]
    out = {"moves": moves, "state": state}
    return out if out != right else {"moves": moves, "state": [*state, []]}


def disks_of(task: ir.Task, env: dict[str, float]) -> int:
    if "disks" in env:
        return int(env["disks"])
    return round(math.log2(count(task, env, data_name(task, "steps")) + 1))


def make_input(task: ir.Task, env: dict[str, float], seed: int) -> dict[str, Any]:
    disks = disks_of(task, env)
    return {data_name(task, "steps"): {"pegs": [list(range(disks, 0, -1)), [], []], "step": 0}}


def expected(task: ir.Task, env: dict[str, float], data: dict[str, Any]) -> Any:
    """The solved position (compare with ``final_state(result)``)."""
    disks = disks_of(task, env)
    return [[], [], list(range(disks, 0, -1))]

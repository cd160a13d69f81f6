"""Examples for calibrating the hanoi and counting samples, made with their oracles, and a
calibration run in-process against the simulated LLM's core."""

from __future__ import annotations

import random
import string
from typing import Any

from aalp.calibrate import sample
from aalp.calibrate.endpoint import SimEndpoint
from aalp.calibrate.examples import Example
from aalp.sim import Faults, SimCore
from aalp.sim.oracles import hanoi as hanoi_oracle


def hanoi_examples(disks: int, units: int, seed: int) -> list[Example]:
    """``units`` random steps of the Towers of Hanoi with ``disks`` disks, x = 1."""
    rng = random.Random(seed)
    steps = 2**disks - 1
    state = [list(range(disks, 0, -1)), [], []]
    positions = []
    for step in range(steps):
        positions.append({"pegs": [list(p) for p in state], "step": step})
        state = hanoi_oracle.solve(state, step, 1)["state"]
    out = []
    for _ in range(units):
        previous = rng.choice(positions)
        request = {"x": 1, "step": previous["step"], "steps": steps, "previous": previous}
        answer = hanoi_oracle.solve(previous["pegs"], previous["step"], 1)["state"]
        out.append(Example("move", 1, request, {"pegs": answer, "step": previous["step"] + 1}))
    return out


def counting_examples(xs: list[int], units: int, seed: int) -> list[Example]:
    """``units`` random digit strings at each chunk length of ``xs``."""
    rng = random.Random(seed)
    out = []
    for x in xs:
        for c in range(units):
            items = "".join(rng.choice(string.digits) for _ in range(x))
            request = {"x": x, "chunk": c, "items": items}
            out.append(Example("count", x, request, items.count("7")))
    return out


def calibrate(
    checked: Any,
    examples: list[Example],
    seed: int,
    success: dict[str, Any] | None = None,
    faults: Faults | None = None,
    settled: Any = None,
    **settings: Any,
) -> Any:
    """A calibration of ``checked``'s first task against the simulated LLM (server seed
    ``seed``, true success ``success``), every unit sampled unless ``settled`` stops an op."""
    core = SimCore(checked, None, seed, faults or Faults(), None, None, success)
    task = checked.spec.tasks[0]
    chosen = sample.Settings(seed=seed, concurrency=1, **settings)
    return sample.run(checked, task, examples, SimEndpoint(core), chosen, None, settled)

"""The simulated tools: ``POST .../tools/NAME`` with ``{"op": OP, "request": {...}}`` answers
``{"result": TEXT}``, the op's answer as its oracle gives it (right with the op's success on
the tool, as a model's sample is right with the op's success on the model), keyed by the
``X-Aalp-Call`` header so a run is reproducible call by call. Counted with the model calls,
by op, with no tokens (docs/backends.md, "The simulated LLM").
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from aalp.front import ir

from .core import SimError, _node_names, _seeded, request_x, to_text
from .oracles import Ask


def tool_call(sim: Any, name: str, body: Any, key: str | None) -> dict[str, Any]:
    """The answer of ``sim`` (a ``SimCore``) to one call of tool ``name``; ``SimError`` for
    an unknown tool (404) or a body that names no op of the task on this tool (400)."""
    tool, op = _tool_op(sim, name, body)
    request = body["request"]
    x = request_x(request)
    if key is None:  # a caller without keys: the request and how often it was seen
        raw = json.dumps(body, sort_keys=True)
        with sim.lock:
            sim.seen[raw] += 1
            key = f"{hashlib.sha256(raw.encode()).hexdigest()[:16]}:{sim.seen[raw]}"
    with sim.lock:
        sim.calls[op.name] += 1
        sim.keys.append(key)
    node = _node_names(request) if sim.roles.get(op.name) == "reduce" else None
    input_id = hashlib.sha256(json.dumps(request, sort_keys=True).encode("utf-8")).hexdigest()
    a = sim._success_of(op, tool.name, x, node, input_id)
    rng = _seeded(sim.seed, "call", key)
    ask = Ask(op.name, sim.roles.get(op.name, "other"), request, sim.task, sim.env)
    try:
        right = sim.oracle.answer(ask)
    except Exception as err:  # the user's oracle failed: the client gets why, in one line
        raise SimError(500, f"the {sim.family} oracle failed on op {op.name!r}: {err!r}") from None
    answer = sim._pick(op, ask, right, rng.random(), a, x, input_id, rng, node)
    if sim.faults.tool_latency:
        time.sleep(_latency(sim, tool))
    return {"result": to_text(answer, op.answer)}


def _tool_op(sim: Any, name: str, body: Any) -> tuple[ir.Tool, ir.Op]:
    """The tool ``name`` and the op of the task on it that ``body`` names, or ``SimError``."""
    tool = next((t for t in sim.spec.tools if t.name == name), None)
    if tool is None:
        known = ", ".join(t.name for t in sim.spec.tools) or "none"
        raise SimError(404, f"no tool {name!r}; the spec's tools: {known}")
    if not isinstance(body, dict) or not isinstance(body.get("request"), dict):
        raise SimError(400, 'a tool call\'s body must be {"op": OP, "request": {...}}')
    on_tool = [o.name for o in sim.task.ops if tool.name in o.models]
    if body.get("op") not in on_tool:
        raise SimError(
            400, f"tool {name!r} runs no op {body.get('op')!r} of task {sim.task.name!r}: {on_tool}"
        )
    return tool, sim.task.op(body["op"])


def _latency(sim: Any, tool: ir.Tool) -> float:
    """The tool's latency in seconds (0 when it gives none)."""
    if tool.latency_ms is None:
        return 0.0
    return max(0.0, sim._at(tool.latency_ms, 1.0)) / 1000.0

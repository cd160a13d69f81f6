"""A tool as the cost model reads it (docs/model.md §1, tools): a model of size 0 that reads
and writes nothing, whose calls cost ``price`` dollars and take ``latency`` seconds each.

So one call of an op on a tool is 1 call, 0 forward passes, 0 cost, 0 tokens, ``price``
dollars, latency 0 passes and 1 call, and ``latency`` seconds; its success is the op's (the
tool's when the op gives none). Retries until a verifier compose with it as with any op.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from aalp.front.ir import Spec, Tool
from aalp.plan.pace import Pace

__all__ = ["tool_pace", "tool_price", "tool_users"]


def tool_price(tool: Tool, value: Callable[[Any], Any]) -> Any:
    """Dollars per call (0 when the tool gives no price)."""
    return value(tool.price) if tool.price is not None else 0.0


def tool_pace(tool: Tool, value: Callable[[Any], Any]) -> Pace:
    """The pace of a tool's call: its latency, fixed, whatever it reads or writes."""
    return Pace(value(tool.latency_ms) / 1000 if tool.latency_ms is not None else 0.0)


def tool_users(spec: Spec, tool: Tool) -> frozenset[str]:
    """The ops that run on ``tool`` (its capabilities, as a model's ``can``)."""
    return frozenset(op.name for task in spec.tasks for op in task.ops if tool.name in op.models)


UNBOUNDED = math.inf  # a tool's context window: it reads nothing

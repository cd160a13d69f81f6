"""A simulated LLM: an OpenAI-compatible server that answers the sample tasks.

``SimCore`` recognises the op of a request from its system prompt (it knows the spec), asks
the task family's oracle for the right answer, and answers right with the probability the spec
states for that op, model and x, wrongly otherwise; ``SimServer`` serves it over HTTP on
127.0.0.1. Faults (HTTP 500s, delays, malformed or over-long outputs) are injected on request.
"""

from __future__ import annotations

from .core import Faults, SimCore, SimError
from .server import SimServer

__all__ = ["Faults", "SimCore", "SimError", "SimServer"]

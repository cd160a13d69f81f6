"""The targets, by name: an explicit table, imported lazily so listing them stays cheap."""

from __future__ import annotations

import importlib

from aalp import codes
from aalp.diagnostics import AalpError
from aalp.suggest import did_you_mean

from .base import Backend

#: name -> (module, class, one-line description). Adding a target is one line here.
TARGETS: dict[str, tuple[str, str, str]] = {
    "python": (
        "aalp.backends.python",
        "PythonBackend",
        "standalone asyncio program (stdlib + openai SDK), any OpenAI-compatible endpoint",
    ),
    "langgraph": (
        "aalp.backends.langgraph",
        "LangGraphBackend",
        "LangGraph StateGraph: Send fan-out, reducers, vote and retry nodes",
    ),
    "dspy": (
        "aalp.backends.dspy",
        "DSPyBackend",
        "DSPy Module: signatures per op, dspy.Parallel fan-out, rollout votes",
    ),
    "autogen": (
        "aalp.backends.autogen",
        "AutoGenBackend",
        "AutoGen AgentChat: a GraphFlow of stages, an AssistantAgent run per call",
    ),
    "crewai": (
        "aalp.backends.crewai",
        "CrewAIBackend",
        "CrewAI Flow: a method per stage, a one-task crew per call with an output_pydantic",
    ),
    "openai-agents": (
        "aalp.backends.openai_agents",
        "OpenAIAgentsBackend",
        "OpenAI Agents SDK: one Agent per op with an output_type, Runner over Chat Completions",
    ),
    "ray": (
        "aalp.backends.ray",
        "RayBackend",
        "Ray Core tasks on a cluster (or a local Ray), bounded with ray.wait, resumable",
    ),
}

DEFAULT_TARGET = "python"


class UnknownTarget(AalpError, LookupError):
    """An unknown target name; the message carries a suggestion."""

    code = codes.UNKNOWN_TARGET


def get(name: str) -> Backend:
    """The backend called ``name``; ``UnknownTarget`` with a "did you mean" hint otherwise."""
    try:
        module, cls, _ = TARGETS[name]
    except KeyError:
        hint = did_you_mean(name, TARGETS, "target")
        raise UnknownTarget(f"unknown target '{name}': {hint}") from None
    backend: Backend = getattr(importlib.import_module(module), cls)()
    return backend


def describe() -> list[tuple[str, str]]:
    """``(name, description)`` of every target, sorted by name."""
    return [(name, TARGETS[name][2]) for name in sorted(TARGETS)]

"""The ``langgraph`` target: the plan as a LangGraph ``StateGraph``.

Fan-out (chunks of a map, samples of a vote) is a conditional edge returning ``Send``s; the
samples gather through a reducer; every vote, red flag and retry is decided in a tally node
whose conditional edge either sends the samples still needed or moves on. ``build_graph(llm)``
takes any LangChain chat model; ``main`` runs it with ``ChatOpenAI`` against an
OpenAI-compatible endpoint. LangGraph is not imported here.
"""

from __future__ import annotations

from typing import ClassVar

from ..frameworks import FrameworkBackend


class LangGraphBackend(FrameworkBackend):
    """Emits ``<task>_langgraph.py``."""

    name: ClassVar[str] = "langgraph"
    description: ClassVar[str] = "LangGraph StateGraph: Send fan-out, reducers, vote nodes"
    package: ClassVar[str] = "aalp.backends.langgraph"
    template = "graph.py.j2"
    suffix = "langgraph"
    requires: ClassVar[dict[str, str]] = {
        "langgraph": "langgraph",
        "langchain_core": "langchain-core",
        "langchain_openai": "langchain-openai",
        "openai": "openai",
    }
    unsupported = frozenset({"llm_verifier"})

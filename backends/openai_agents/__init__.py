"""The ``openai-agents`` target: the plan run by the OpenAI Agents SDK.

One ``Agent`` per op (its prompt as instructions, its plan model by name, its ``output_type``
the op's answer model); every call is one ``Runner.run``; fan-out is ``asyncio.gather`` under
a semaphore of the plan's concurrency; a ``ModelProvider`` maps the plan's model names to
``OpenAIChatCompletionsModel`` over an ``AsyncOpenAI`` client with ``max_retries=0``; tracing
is disabled. Each spec tool is an SDK ``FunctionTool`` over its function in the python
target's ``tools.py`` (written beside the program), invoked by the plan for its tool ops'
calls. The SDK is not imported here.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..frameworks import FrameworkBackend, answer_models, literal
from ..refusals import BEAM_SEARCH, JUDGE_VOTE
from ..view import View
from .handoffs import routes


class OpenAIAgentsBackend(FrameworkBackend):
    """Emits ``<task>_agents.py``."""

    name: ClassVar[str] = "openai-agents"
    description: ClassVar[str] = "OpenAI Agents SDK: an Agent per op, Runner over Chat Completions"
    package: ClassVar[str] = "aalp.backends.openai_agents"
    template = "agents_plan.py.j2"
    suffix = "agents"
    requires: ClassVar[dict[str, str]] = {
        "agents": "openai-agents",
        "pydantic": "pydantic",
        "openai": "openai",
    }
    # a run's conversation is one agent's input: a chain's shared history is not expressed
    unsupported = frozenset({"routed_verifier", "history_full", JUDGE_VOTE, BEAM_SEARCH})

    def context(self, view: View, context: dict[str, Any]) -> dict[str, Any]:
        """Each op's answer model, every agent's ``output_type``; the routes run as handoffs
        (``HANDOFFS``) and a line for each route that stays in code."""
        handoffs, in_code = routes(view)
        return {
            **context,
            "answers": answer_models(view),
            "handoffs": handoffs,
            "handoffs_literal": literal("HANDOFFS: dict[str, str] = ", handoffs),
            "routed_in_code": in_code,
        }

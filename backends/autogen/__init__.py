"""The ``autogen`` target: the plan run by AutoGen AgentChat (``autogen-agentchat``).

The stages run as a ``GraphFlow`` built with ``DiGraphBuilder``: a ``StageAgent`` node per
stage (it calls no model), an edge from each to the next. Every call is one run of an
``AssistantAgent`` (the op's prompt as its system message, a fresh model context per sample);
fan-out is ``asyncio.gather`` under a semaphore of the plan's
concurrency; ``main`` gives every plan model an ``OpenAIChatCompletionClient`` with its own
retries off. AutoGen is not imported here.
"""

from __future__ import annotations

from typing import ClassVar

from ..frameworks import FrameworkBackend
from ..refusals import BEAM_SEARCH, JUDGE_VOTE


class AutoGenBackend(FrameworkBackend):
    """Emits ``<task>_autogen.py`` and the runtime beside it."""

    name: ClassVar[str] = "autogen"
    description: ClassVar[str] = "AutoGen AgentChat: a GraphFlow of stages, an agent run per call"
    package: ClassVar[str] = "aalp.backends.autogen"
    template = "team.py.j2"
    requires: ClassVar[dict[str, str]] = {
        "autogen_agentchat": "autogen-agentchat",
        "autogen_core": "autogen-core",
        "autogen_ext": "autogen-ext[openai]",
        "openai": "openai",
    }
    suffix = "autogen"
    # an agent's run is one turn here: a chain's shared conversation is not expressed
    unsupported = frozenset({"routed_verifier", "history_full", JUDGE_VOTE, BEAM_SEARCH})

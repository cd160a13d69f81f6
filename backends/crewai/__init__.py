"""The ``crewai`` target: the plan as a CrewAI ``Flow``.

A ``Flow`` method per stage (``@start`` the first, ``@listen`` each next on the one before);
every call is a crew of one agent (the op's prompt as its goal) and one task whose
``output_pydantic`` is the op's answer model, read by a converter that never asks the LLM
again; fan-out is ``asyncio.gather`` under a semaphore of the plan's concurrency; ``main``
gives every plan model a ``crewai.LLM`` on the endpoint with its own retries off. CrewAI is
not imported here.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..frameworks import FrameworkBackend, answer_models
from ..refusals import BEAM_SEARCH, JUDGE_VOTE
from ..view import View


class CrewAIBackend(FrameworkBackend):
    """Emits ``<task>_crewai.py`` and the runtime beside it."""

    name: ClassVar[str] = "crewai"
    description: ClassVar[str] = "CrewAI Flow: a method per stage, a one-task crew per call"
    package: ClassVar[str] = "aalp.backends.crewai"
    template = "flow.py.j2"
    requires: ClassVar[dict[str, str]] = {
        "crewai": "crewai",
        "pydantic": "pydantic",
        "openai": "openai",
    }
    suffix = "crewai"
    # a crew's task is one turn here: a chain's shared conversation is not expressed
    unsupported = frozenset({"routed_verifier", "history_full", JUDGE_VOTE, BEAM_SEARCH})

    def context(self, view: View, context: dict[str, Any]) -> dict[str, Any]:
        """Each op's answer model: its class name and what its ``answer`` field holds."""
        # the flow's state is saved after every round of samples (``save_round``) and keeps
        # the calls made: its persistence, not the journal, is what a resumed run replays
        return {
            **context,
            "answers": answer_models(view),
            "round_saved": True,
            "own_persistence": True,
        }

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

from ..frameworks import ANSWERS, FrameworkBackend
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
        # the flow's state is saved after every round of samples (``save_round``)
        return {**context, "answers": answer_models(view), "round_saved": True}


def answer_models(view: View) -> list[dict[str, str]]:
    """One pydantic model per op, ``<Op>Answer``, named uniquely (``_2`` on a clash), with
    the op's answer format as the field's description."""
    models, taken = [], set()
    for name, op in sorted(view["ops"].items()):
        base = "".join(part.capitalize() for part in name.split("_")) + "Answer"
        cls, n = base, 1
        while cls in taken:
            n += 1
            cls = f"{base}_{n}"
        taken.add(cls)
        models.append(
            {"op": name, "cls": cls, "form": op["answer"], "description": ANSWERS[op["answer"]]}
        )
    return models

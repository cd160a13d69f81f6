"""The ``dspy`` target: the plan as a ``dspy.Module``.

One ``dspy.Predict`` per op (its signature: the request in, the answer out, the prompt as
instructions, each field described from the op's stage and answer format), ``dspy.Parallel``
for every fan-out, votes sampled with distinct ``rollout_id``s at temperature 1.0; the module
is usable inside a team's DSPy program and optimizable by DSPy's optimizers. ``main`` runs it
with ``dspy.LM`` (``cache=False``, ``num_retries=0``) against an OpenAI-compatible endpoint.
DSPy is not imported here.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..frameworks import ANSWERS, FrameworkBackend, literal
from ..refusals import BEAM_SEARCH, JUDGE_VOTE
from ..view import View

#: what a call's request holds, by the kind of stage the op runs in
REQUESTS = {
    "map": "a JSON object: `items` (the units of this chunk), `chunk` (its number), `x`",
    "chain": (
        "a JSON object: `previous` (the state after the previous step), `step` (the first "
        "unit of this call), `steps`, `x`, and `items` when the chain runs over a collection"
    ),
    "reduce": "a JSON object: `children` (the answers to merge), `level`, `node`, `x`",
    "verify": "a JSON object: `request` (a try's request) and `answer` (that try's answer)",
}


class DSPyBackend(FrameworkBackend):
    """Emits ``<task>_dspy.py`` and the runtime beside it."""

    name: ClassVar[str] = "dspy"
    description: ClassVar[str] = "DSPy Module: a Predict per op, dspy.Parallel fan-out, votes"
    package: ClassVar[str] = "aalp.backends.dspy"
    template = "program.py.j2"
    suffix = "dspy"
    requires: ClassVar[dict[str, str]] = {"dspy": "dspy"}
    # DSPy modules are stateless per call: a chain's growing conversation is not expressed
    unsupported = frozenset({"routed_verifier", "history_full", JUDGE_VOTE, BEAM_SEARCH})

    def context(self, view: View, context: dict[str, Any]) -> dict[str, Any]:
        """Each op's signature fields: its request and its answer, described."""
        fields = {
            name: {"task_input": REQUESTS[_role(view, name)], "answer": ANSWERS[op["answer"]]}
            for name, op in sorted(view["ops"].items())
        }
        return {
            **context,
            "fields_literal": literal("FIELDS: dict[str, dict[str, str]] = ", fields),
        }


def _role(view: View, name: str) -> str:
    """The kind of stage op ``name`` runs in (a verifier: ``verify``; a router: its op's)."""
    for stage in view["stages"]:
        ops = [stage["op"]] if stage["kind"] == "reduce" else stage.get("ops", [])
        routers = [view["ops"][op]["routed_by"] for op in ops]
        if name in ops or name in routers:
            return stage["kind"]
    return "verify"

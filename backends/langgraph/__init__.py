"""The ``langgraph`` target: the plan as a LangGraph ``StateGraph``.

Fan-out (chunks of a map, samples of a vote) is a conditional edge returning ``Send``s; the
samples gather through a reducer; every vote, red flag and retry is decided in a tally node
whose conditional edge either sends the samples still needed or moves on. Every conditional
edge declares where it can lead (its path map), so the drawn graph is the plan's shape; an LLM
verifier is a pair of nodes after the tally of the op it judges. ``build_graph(llm)`` takes any
LangChain chat model; ``main`` runs it with ``ChatOpenAI`` against an OpenAI-compatible
endpoint; an op asks a chat model with structured output for its answer through
``with_structured_output`` (a schema from its answer format). LangGraph is not imported here.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from ..frameworks import ANSWERS, FrameworkBackend, literal
from ..refusals import BEAM_SEARCH, JUDGE_VOTE
from ..view import View


class LangGraphBackend(FrameworkBackend):
    """Emits ``<task>_langgraph.py`` and the runtime beside it."""

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
    unsupported = frozenset({"routed_verifier", JUDGE_VOTE, BEAM_SEARCH})

    def context(self, view: View, context: dict[str, Any]) -> dict[str, Any]:
        """The graph's edges (every node's possible next nodes), its verifier nodes and the
        recursion limit the plan needs."""
        stages = [_edges(view, stage) for stage in context["stages"]]
        phase_ops, judging = {}, {}
        for stage in stages:
            for phase in stage.get("phases", []):
                phase_ops[phase["node"]] = phase["op"]
                if phase["verify"]:
                    phase_ops[phase["verify"]["node"]] = phase["verify"]["op"]
                    judging[phase["verify"]["node"]] = phase["node"]
        return {
            **context,
            "stages": stages,
            "phases_literal": literal("PHASES: dict[str, str] = ", phase_ops),
            "judging_literal": literal("JUDGING: dict[str, str] = ", judging),
            "structured_literal": literal(
                "STRUCTURED: dict[str, Any] = ",
                {name: structured(op["answer"]) for name, op in sorted(view["ops"].items())},
            ),
            "recursion_limit": recursion_limit(view, len(stages)),
            "verifiers": bool(judging),
        }


#: the JSON type of the structured answer's one field, by answer format. Not ``json``: a JSON
#: value may be a list or a number, and both JSON mode and an ``object`` field ask for an
#: object, so a model would wrap its answer in one the runtime would then accept as the answer
FIELD_TYPES = {"number": "number", "list": "array", "choice": "string"}


def structured(answer: str) -> dict[str, Any] | None:
    """How an op of answer format ``answer`` asks a chat model with structured output: a
    JSON schema of one typed field ``answer``, or None (plain text).

    >>> structured("number")["schema"]["properties"]
    {'answer': {'type': 'number', 'description': 'one JSON number, nothing else'}}
    >>> structured("json"), structured("text")
    (None, None)
    """
    if answer not in FIELD_TYPES:
        return None
    field = {"type": FIELD_TYPES[answer], "description": ANSWERS[answer]}
    schema = {
        "type": "object",
        "properties": {"answer": field},
        "required": ["answer"],
        "additionalProperties": False,
    }
    return {"name": "answer", "schema": schema}


def _edges(view: View, stage: dict[str, Any]) -> dict[str, Any]:
    """``stage`` with the targets of its start node's and every phase's conditional edges."""
    if stage["kind"] == "combine":
        return stage
    phases = [dict(phase) for phase in stage["phases"]]
    first = phases[0]["call"]
    for i, phase in enumerate(phases):
        if i + 1 < len(phases):
            done = [phases[i + 1]["call"]]
        elif stage["kind"] == "map":
            done = [stage["next"]]
        else:  # a chain's next step, a reduce tree's next level, or the next stage
            done = [first, stage["next"]]
        booster = view["ops"][phase["op"]]["booster"]
        phase["verify"] = None
        if booster["kind"] == "retry" and booster["check"] != "exact":
            node = phase["node"] + "_verify"
            phase["verify"] = {
                "op": booster["check"],
                "node": node,
                "call": node + "_call",
                "targets": _unique([node + "_call", phase["call"], *done]),
            }
            done = [node + "_call", *done]
        phase["targets"] = _unique([phase["call"], *done])
    start = [first] if stage["kind"] == "chain" else [first, stage["next"]]
    return {**stage, "phases": phases, "targets": start}


def _unique(names: list[str]) -> list[str]:
    return list(dict.fromkeys(names))


def recursion_limit(view: View, stages: int) -> int:
    """Graph steps a run may take: each round of samples is two (the calls, their tally)
    and has at least one call, so twice the predicted calls' 99.9 % upper bound, plus a
    start per stage, doubled for margin; 10**6 rounds when the prediction has no bound."""
    interval = (view.get("prediction") or {}).get("calls_interval") or [0, None]
    high = interval[1]
    if not isinstance(high, int | float) or not math.isfinite(high):
        high = 10**6
    return 2 * (2 * math.ceil(high) + stages + 1) + 10

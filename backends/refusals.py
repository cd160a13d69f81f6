"""Plan features that only some targets run, found in a view, so that a target that does not
run one refuses it by name at compile time (``PlanError``, E604)."""

from __future__ import annotations

from typing import Any

NESTED_STAGES = "nested_stages"
JUDGE_VOTE = "judge_vote"
BEAM_SEARCH = "beam_search"
REPEAT_VOTE = "repeat_vote"
TOOL_OP = "tool_op"
#: the targets whose programs call tools (the python target's tools.py)
RUNS_TOOLS = frozenset({"python", "openai-agents"})


def tool_features(spec: Any, task: Any, target: str) -> list[tuple[str, str]]:
    """``(TOOL_OP, message)`` for every op that runs on a tool (``op NAME on TOOL``) when
    ``target`` does not run tool calls (every target but those of ``RUNS_TOOLS``), so it
    refuses each by name at compile time."""
    found: list[tuple[str, str]] = []
    if target in RUNS_TOOLS:
        return found
    for op in task.ops:
        tool = spec.tool_of(op)
        if tool is not None:
            found.append(
                (
                    TOOL_OP,
                    f"op '{op.name}' runs on tool '{tool.name}' (tool ops), which the {target}"
                    f" target does not run (use the {' or '.join(sorted(RUNS_TOOLS))} target)",
                )
            )
    return found


def judge_features(view: dict[str, Any]) -> list[tuple[str, str]]:
    """``(JUDGE_VOTE, message)`` for every op whose decisions are best of n picked by a judge
    (``allow vote judge J``)."""
    found = []
    for name, op in sorted(view["ops"].items()):
        booster = op["booster"]
        if booster["kind"] == "judge":
            found.append(
                (
                    JUDGE_VOTE,
                    f"op '{name}' picks the best of {booster['votes']} samples with the judge "
                    f"'{booster['check']}' (allow vote judge), which this target does not run "
                    "(use the python target)",
                )
            )
    return found


def beam_features(view: dict[str, Any]) -> list[tuple[str, str]]:
    """``(BEAM_SEARCH, message)`` for every op whose decisions are beam searches (``expand``),
    which only the python target runs."""
    return [
        (
            BEAM_SEARCH,
            f"op '{name}' is a beam search (expand {name} by {op['booster']['check']}), which "
            "this target does not run (use the python target)",
        )
        for name, op in sorted(view["ops"].items())
        if op["booster"]["kind"] == "expand"
    ]


def nested_features(view: dict[str, Any]) -> list[tuple[str, str]]:
    """``(NESTED_STAGES, message)`` for the first stage nested in another's block
    (``map OP over DATA { ... }``), which only the python target runs."""
    for inner in view["stages"]:
        if inner.get("within") is not None:
            outer = view["stages"][inner["within"]]
            return [
                (
                    NESTED_STAGES,
                    f"stage {inner['index'] + 1} is nested in '{outer['kind']} "
                    f"{', '.join(outer['ops'])} over {outer['over']} {{ ... }}' (nested stages), "
                    "which this target does not express (use the python target)",
                )
            ]
    return []


def repeat_features(view: dict[str, Any]) -> list[tuple[str, str]]:
    """``(REPEAT_VOTE, message)`` for every stage run K times and voted (``repeat STAGE K then
    vote``), which no target emits yet: the program would run the stage once."""
    return [
        (
            REPEAT_VOTE,
            f"stage {stage['index'] + 1} ({stage['kind']} {', '.join(stage['ops'])}) is repeated"
            f" {stage['repeat']} times and voted (repeat ... then vote), which this target does"
            " not run",
        )
        for stage in view["stages"]
        if stage.get("repeat") is not None
    ]

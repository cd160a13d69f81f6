"""Which routes the Agents SDK program runs as handoffs, and which stay routed in code.

A handoff acts on the classifier's first sample: the classifier's single call is also the
transfer (``transfer_to_<label>``) to the routed op's agent. That is the plan's calls exactly
when the classifier is sampled once, with no booster (no vote, no retry, no verifier) and no
red flag (a flagged answer must be drawn again, after the transfer happened). Such a route is
a handoff; any other stays routed in code, after the classifier's decided answer.
"""

from __future__ import annotations

from typing import Any

from aalp.front.ir import VOTE_KINDS

from ..view import View


def exact(op: dict[str, Any]) -> bool:
    """Whether op ``op`` of the view (a classifier) is sampled once and never drawn again."""
    booster = op["booster"]
    unboosted = booster["kind"] == "none" or (
        booster["kind"] in VOTE_KINDS and booster["votes"] == 1
    )
    flagless = op["max_writes"] is None and not op["unparsable"] and op["keep"] >= 1.0
    return unboosted and flagless


def routes(view: View) -> tuple[dict[str, str], list[str]]:
    """``(handoffs, in_code)``: the classifier -> routed op of each route run as a handoff,
    and a line for each route that stays routed in code, saying why."""
    handoffs: dict[str, str] = {}
    in_code: list[str] = []
    for stage in view["stages"]:
        if stage["kind"] != "route" or not stage["active"]:
            continue
        classifier, routed = stage["classifier"], stage["op"]
        if exact(view["ops"][classifier]):
            handoffs[classifier] = routed
        else:
            in_code.append(
                f"{classifier} -> {routed} stays routed in code: {classifier} has a booster or a "
                "red flag, and a handoff would act on its first sample"
            )
    return handoffs, in_code

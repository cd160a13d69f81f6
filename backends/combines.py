"""What a plan's combines need of the answers they combine, for every target's runtime.

A combine that needs numbers (``sum``, ``max``, ``min``), lists (``merge``) or true/false
(``count``, ``all``, ``any``) makes a sample of the op whose answers it combines (the last op of
the map stage just before it) a red flag unless the answer is one: ``needs`` gives each such op
its need, and refuses a plan whose op can never answer one (a ``list`` op feeding a ``sum``).
``source`` names, for a combine's loud failure, the op that answered its values.
"""

from __future__ import annotations

from typing import Any

from .view import PlanError, View

#: what each combine needs of every value (the other combines take any value); the emitted
#: runtime's ``NEEDS`` is printed from this table
NEEDS = {
    "sum": "number",
    "max": "number",
    "min": "number",
    "merge": "list",
    "count": "boolean",
    "all": "boolean",
    "any": "boolean",
}

#: the answer formats that can give each need (text is read in the need's format)
_FORMATS = {
    "number": ("number", "json", "text"),
    "list": ("list", "json", "text"),
    "boolean": ("json", "text"),
}
_NOUNS = {"number": "numbers", "list": "lists", "boolean": "true or false"}
_ADVICE = {"number": "answer number", "list": "answer list", "boolean": "answer json"}


def _feeding(view: View, index: int) -> dict[str, Any] | None:
    """The stage whose output the stage at ``index`` reads (route stages run inside ops)."""
    for stage in reversed(view["stages"][:index]):
        if stage["kind"] != "route":
            return stage
    return None


def source(view: View, index: int) -> dict[str, Any]:
    """The op whose answers the combine at stage ``index`` combines, and whether they are one
    per chunk (after a map) or a single answer (after a chain or reduce)."""
    stage = _feeding(view, index)
    if stage is None or stage["kind"] == "combine":
        return {"op": None, "chunks": False}
    if stage["kind"] == "reduce":
        return {"op": stage["op"], "chunks": False}
    return {"op": stage["ops"][-1], "chunks": stage["kind"] == "map"}


def needs(view: View) -> dict[str, str | None]:
    """Each op's need (None: any answer). Only a map's answers, one per chunk, are red-flagged
    for a combine; after a chain or reduce the combine checks its values when it runs."""
    out: dict[str, str | None] = dict.fromkeys(view["ops"])
    for index, stage in enumerate(view["stages"]):
        need = NEEDS.get(stage["how"]) if stage["kind"] == "combine" else None
        feeding = _feeding(view, index)
        if need is None or feeding is None or feeding["kind"] != "map":
            continue
        op = feeding["ops"][-1]
        form = view["ops"][op]["answer"]
        if form not in _FORMATS[need]:
            raise PlanError(
                f"op '{op}' answers {form}, but combine {stage['how']} needs {_NOUNS[need]}: "
                f"every sample would be red-flagged (declare {_ADVICE[need]})"
            )
        if out[op] not in (None, need):
            raise PlanError(f"op '{op}' feeds combines needing {out[op]} and {need}")
        out[op] = need
    return out

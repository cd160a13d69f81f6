"""The ``python`` target: one standalone asyncio program (stdlib + the openai SDK).

The program's shape lives in ``templates/program.py.j2``; this glue only prepares literals.
"""

from __future__ import annotations

import keyword
from typing import Any, ClassVar

from ..base import Backend
from ..combines import needs, source
from ..header import header_lines, plan_id
from ..literals import py_literal
from ..view import View


def _stage_context(view: View, stage: dict[str, Any]) -> dict[str, Any]:
    out = dict(stage)
    out["comment"] = stage["comment"]
    match stage["kind"]:
        case "map":
            out["ops_py"] = py_literal(stage["ops"])
            out["over_py"] = py_literal(stage["over"])
            out["stride_py"] = py_literal(float(stage["stride"]))
        case "chain":
            out["ops_py"] = py_literal(stage["ops"])
            out["over_py"] = py_literal(stage["over"])
            out["full_py"] = py_literal(stage["history"] == "full")
        case "reduce":
            out["op_py"] = py_literal(stage["op"])
            levels = [{"x": lv["x"], "max_writes": lv["max_writes"]} for lv in stage["levels"]]
            out["levels_py"] = py_literal(levels, indent=8)
        case "combine":
            out["how_py"] = py_literal(stage["how"])
            out["source_py"] = py_literal(source(view, stage["index"]))
    return out


def _blocks(view: View, stages: list[dict[str, Any]]) -> dict[str, Any]:
    """The stages as the template runs them: the top level (``stages``) and, for nested
    stages, one block per enclosing stage (``blocks``, innermost first so each function is
    defined before the lambda that calls it runs; Python resolves names at call time anyway)."""
    nested = any(s.get("within") is not None for s in stages)
    children: dict[int, list[dict[str, Any]]] = {}
    for s in stages:
        if s.get("within") is not None:
            children.setdefault(s["within"], []).append(s)
    for s in stages:
        inner = children.get(s["index"], [])
        s["block"] = bool(inner)
        names = sorted({c["over"] for c in _all_inner(children, s["index"]) if c.get("over")})
        s["inner_data_py"] = py_literal(names)
    blocks = [{"index": i, "stages": children[i]} for i in sorted(children)]
    top = [s for s in stages if s.get("within") is None]
    # repeat S K then vote: each repeated top-level stage runs from a function of its own, K
    # times, its runs' call keys apart by the prefix
    repeated = [
        {"index": s["index"], "stage": {**s, "repeat": None}} for s in top if s.get("repeat")
    ]
    nested = nested or bool(repeated)
    return {
        "repeated": repeated,
        "sequential": view["workers"] is not None,
        "stages": top,
        "blocks": blocks,
        "nested": nested,
        # the call-key prefix of an op in a nested block: empty for a flat plan, so its
        # program is the same as without nesting
        "prefix": "{prefix}" if nested else "",
    }


def _all_inner(children: dict[int, list[dict[str, Any]]], index: int) -> list[dict[str, Any]]:
    """Every stage nested in stage ``index``, at any depth."""
    out = []
    for c in children.get(index, []):
        out += [c, *_all_inner(children, c["index"])]
    return out


_OP_FIELDS = (
    "model",
    "x",
    "system",
    "answer",
    "max_writes",
    "booster",
    "routed_by",
    "price_in",
    "price_out",
    "size",
    "reads",
    "writes",
    "keep",
    "tool",
    "price_call",
)


def agreement(op: dict[str, Any]) -> float | None:
    """The predicted share of an op's decisions whose first sample is the decision's answer:
    a sample's success (its mixture's mean), for a vote of several samples (else None; a
    reduce's success changes with its level)."""
    booster = op["booster"]
    if op["reduces"] or booster["kind"] not in ("ahead_by", "majority") or booster["votes"] < 2:
        return None
    return sum(weight * a for weight, a in op["success"])


class PythonBackend(Backend):
    name = "python"
    runs_repeat: ClassVar[bool] = True  # repeat ... then vote of any top-level stage
    description = "standalone asyncio program (stdlib + openai SDK)"
    requires: ClassVar[dict[str, str]] = {"openai": "openai"}

    def files(self, view: View) -> list[tuple[str, str, dict[str, Any]]]:
        program = f"run_{view['task']}.py"
        need = needs(view)
        ops = {
            name: {
                **{f: op[f] for f in _OP_FIELDS},
                "needs": need[name],
                "agreement": agreement(op),
            }
            for name, op in view["ops"].items()
        }
        for op in ops.values():
            if op["tool"] is not None:  # which function of tools.py makes its calls
                op["tool"] = {**op["tool"], "function": tool_function(op["tool"]["name"])}
        context = {
            "program_name": program,
            "header": header_lines(view),
            "task_py": py_literal(view["task"]),
            "spec_file_py": py_literal(view["spec_file"]),
            "plan_id_py": py_literal(plan_id(view)),
            "ops_py": py_literal(ops, indent=0),
            "prediction_py": py_literal(view["prediction"], indent=0),
            "concurrency_py": py_literal(view["workers"] or 16),
            "tools": any(op["tool"] is not None for op in view["ops"].values()),
            **_blocks(view, [_stage_context(view, s) for s in view["stages"]]),
        }
        out = [(program, "program.py.j2", context)]
        check_ops = [n for n, op in view["ops"].items() if op["booster"]["check"] == "exact"]
        if check_ops:
            messages = {n: py_literal(f"write the exact check for op {n!r}") for n in check_ops}
            out.append(
                ("checks.py", "checks.py.j2", {"check_ops": check_ops, "messages": messages})
            )
        tools = tool_functions(view)
        if tools:
            out.append(("tools.py", "tools.py.j2", {"tools": tools}))
        return out


def tool_function(name: str) -> str:
    """The name of tool ``name``'s function in tools.py (a Python keyword gets a ``_``)."""
    return f"{name}_" if keyword.iskeyword(name) else name


def tool_functions(view: View) -> list[dict[str, Any]]:
    """Each tool the plan's ops run on, as tools.py.j2 writes its function: its function's
    name, its name as a literal, and a docstring saying its price, latency and ops."""
    tools: dict[str, dict[str, Any]] = {}
    for name, op in sorted(view["ops"].items()):
        if op["tool"] is None:
            continue
        tool = tools.setdefault(
            op["tool"]["name"],
            {"op": op, "ops": []},
        )
        tool["ops"].append(name)
    out = []
    for name, tool in sorted(tools.items()):
        op = tool["op"]
        doc = (
            f"Tool {name} (${op['price_call']:g} per call, {op['tool']['latency'] * 1000:g} ms)"
            f": the calls of op{'s' if len(tool['ops']) > 1 else ''} {', '.join(tool['ops'])}."
        )
        out.append({"name": tool_function(name), "name_py": py_literal(name), "doc": doc})
    return out

"""Tools in the IR builder: ``tool NAME { price P per call  latency L ms  success S }`` and the
ops that run on one (docs/language.md §2, tools).

An op that names a tool in its ``on`` list writes no ``reads`` or ``writes`` (a tool call has
no tokens: both are 0) and may leave out ``success`` (it then takes the tool's, 1 when the tool
has none). Which names are tools is known only once the whole file is read, so the builder
defers an op's missing clauses to ``resolve_tool_ops``.
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from typing import Any

from aalp.front import ir
from lark import Transformer_NonRecursive, v_args

__all__ = ["ToolRules", "resolve_tool_ops"]

TOKEN_CLAUSES = ("reads", "writes")


@v_args(meta=True)
class ToolRules(Transformer_NonRecursive):
    """The grammar rules of a ``tool`` block (mixed into the IR builder)."""

    def tool(self: Any, meta, children):
        name, *clauses = children
        seen = self._once(clauses, f"tool '{name.value}'")
        get = {k: c.value for k, c in seen.items()}
        return ir.Tool(
            name.value, get.get("price"), get.get("latency"), get.get("success"), self._span(meta)
        )

    def tool_price(self: Any, meta, children):
        return self._clause("price", children[0], meta)

    def tool_latency(self: Any, meta, children):
        value, unit = children
        scaled = self._scaled(value, 1000) if unit == "s" else value
        return self._clause("latency", scaled, meta)

    def tool_success(self: Any, meta, children):
        return self._clause("success", children[0], meta)


def resolve_tool_ops(
    builder: Any, tasks: tuple[ir.Task, ...], tools: tuple[ir.Tool, ...], models: set[str]
):
    """The tasks with each op on a tool given the tool's success where it has none; an op on
    no tool that left out a clause is reported missing (as the builder reports one without an
    ``on`` list). An op naming neither a model nor a tool is left to the checker, which
    reports the unknown name."""
    by_name = {t.name: t for t in tools}
    out = []
    for task in tasks:
        ops = []
        for op in task.ops:
            tool = next((by_name[m] for m in op.models if m in by_name), None)
            if tool is not None and not op.success:
                p = tool.success if tool.success is not None else ir.Num(Fraction(1), "1")
                op = replace(op, success=(ir.Outcome(ir.Num(Fraction(1), "1"), p, p.span),))
            elif (
                tool is None
                and op.models
                and all(m in models for m in op.models)
                and (len(op.io) < 2 or not op.success)
            ):
                present = {k: None for k in op.io}
                if op.success:
                    present["success"] = None
                builder._require(present, (*TOKEN_CLAUSES, "success"), f"op '{op.name}'", op.span)
            ops.append(op)
        out.append(replace(task, ops=tuple(ops)) if ops != list(task.ops) else task)
    return tuple(out)

"""Tools: a price and a latency of zero or more, a success in [0, 1], names that no model
shares, and ops on a tool that run on that tool alone, with no tokens and no votes (a tool
answers the same input the same way, so votes gain nothing; a retry until a verifier may)."""

from __future__ import annotations

from aalp import codes
from aalp.checks.context import Context, TaskContext, at
from aalp.checks.formulas import value
from aalp.checks.values import fmt_number
from aalp.front.ir import ExpandBooster, Op, VoteBooster


def check_tools(c: Context) -> None:
    """Each tool's parts in range, and no two tools (or a tool and a model) of one name."""
    first: dict[str, int] = {m.name: m.span.line for m in c.spec.models}
    for tool in c.spec.tools:
        if tool.name in first:
            c.error(
                codes.DUPLICATE,
                f"tool '{tool.name}' is declared twice (first declared on line"
                f" {first[tool.name]}, as a model or a tool)",
                tool.span,
                "rename one of them: an op's 'on' list names models and tools alike",
            )
        first.setdefault(tool.name, tool.span.line)
        parts = (
            (tool.price, "price per call", 0, None, "dollars per call, zero or more"),
            (tool.latency_ms, "latency", 0, None, "a time per call (ms or s), zero or more"),
            (tool.success, "success", 0, 1, "the probability that one call is right"),
        )
        for expr, label, low, high, hint in parts:
            if expr is None:
                continue
            what = f"the {label} of tool '{tool.name}'"
            val = value(c, expr, c.param_scope, tool.span, what)
            if val is not None and (val < low or (high is not None and val > high)):
                bound = "zero or more" if high is None else "between 0 and 1"
                c.error(
                    codes.BAD_TOOL,
                    f"{what} is {fmt_number(val)}; it must be {bound}",
                    at(expr, tool.span),
                    hint,
                )


def check_tool_ops(t: TaskContext) -> None:
    """An op on a tool: that tool alone, no reads or writes, no vote, judge or beam search."""
    tools = {tool.name for tool in t.c.spec.tools}
    for op in t.ops.values():
        on = [m for m in op.models if m in tools]
        if not on:
            continue
        if len(op.models) > 1:
            others = ", ".join(f"'{m}'" for m in op.models if m != on[0])
            t.c.error(
                codes.TOOL_AND_MODEL,
                f"op '{op.name}' runs on tool '{on[0]}' and on {others}",
                t.span(op),
                "an op runs on models or on one tool, not both: split it into two ops",
            )
        if op.io or op.red_flag is not None:
            what = ", ".join(f"'{k}'" for k in op.io) or "'red_flag'"
            t.c.error(
                codes.TOOL_TOKENS,
                f"op '{op.name}' runs on tool '{on[0]}' but is given {what}",
                t.span(op),
                "a tool call reads and writes no tokens: drop the clause (its price and"
                " latency are the tool's)",
            )
        _check_votes(t, op, on[0])


def _check_votes(t: TaskContext, op: Op, tool: str) -> None:
    """A vote, judge or beam search that names the op (one allowed on every op skips it)."""
    for booster in t.task.boosters:
        if not isinstance(booster, VoteBooster | ExpandBooster) or op.name not in booster.ops:
            continue
        what = "a beam search" if isinstance(booster, ExpandBooster) else f"vote {booster.kind}"
        t.c.error(
            codes.TOOL_VOTE,
            f"op '{op.name}' runs on tool '{tool}', which cannot be given {what}",
            t.span(booster),
            "a tool answers the same input the same way, so votes gain nothing; 'allow retry"
            " ... until V' may retry it",
        )
        return


def tool_names(c: Context) -> set[str]:
    """The names of the spec's tools."""
    return {tool.name for tool in c.spec.tools}

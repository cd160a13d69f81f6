"""The plan's tree in the explain report's text: the task, one branch per stage, one leaf per
call and, under it, the call's share of the objective.

Each node is a sequence of phrases (``aalp.explainer.words.fold``) laid out in the width its
depth leaves: a long node breaks between phrases, never inside one, and a phrase wider than
its place widens the tree instead of being broken or cut.
"""

from __future__ import annotations

from typing import Any

from aalp.explainer.schema import Call, Report, Stage
from aalp.explainer.units import with_unit
from aalp.explainer.words import counted, fmt, fold, prose, success_text
from aalp.plan.plan import booster_of, booster_text

#: the cells rich's tree indents each level by (``└── ``, ``│   ``)
GUIDE = 4

#: what one of a stage's ``chunks`` is, by the stage's kind
UNIT_OF_WORK = {"map": "chunk", "chain": "step", "reduce": "node"}

#: what a stage's call count includes, said on its row
CALLS_INCLUDE = "(votes, resamples, retries, classifiers and verifiers included)"


def heading(rep: Report) -> str:
    """``task NAME: minimize METRIC``, the first words of the report."""
    return f"task {rep.task}: {rep.objective.sense} {rep.objective.metric}"


def plan_tree(rep: Report, width: int, color: bool) -> tuple[Any, int]:
    """The plan's tree laid out for ``width`` cells, and the width it needs (``width``, or
    more when a phrase is wider than its place)."""
    from rich.text import Text
    from rich.tree import Tree

    needed = [width]

    def label(phrases: list[str], depth: int, style: str = "") -> Any:
        lines = fold(phrases, width - GUIDE * depth)
        needed.append(GUIDE * depth + max(Text(line).cell_len for line in lines))
        return Text("\n".join(lines), style=style, no_wrap=True, overflow="ignore")

    obj = rep.objective
    head = heading(rep).rsplit(" ", 2)
    top = [head[0], head[1], f"{head[2]} = {with_unit(obj.metric, fmt(obj.value))}"]
    tree = Tree(label(top, 0, "bold" if color else ""))
    # a nested stage is a branch of its enclosing stage's, after that stage's calls
    nodes: dict[int, tuple[Any, int]] = {}
    for st in rep.stages:
        parent, depth = nodes.get(st.within, (tree, 0)) if st.within is not None else (tree, 0)
        node = parent.add(label(stage_phrases(st), depth + 1))
        nodes[st.index] = (node, depth + 1)
        for c in st.calls:
            leaf = node.add(label(call_phrases(c), depth + 2))
            leaf.add(label(share_phrases(c, obj.metric, rep.metrics), depth + 3))
    return tree, max(needed)


def stage_phrases(st: Stage) -> list[str]:
    """A stage's row: its kind and ops, units of work, calls in all and their inclusions,
    granularity, fan-in, history and success.

    >>> from aalp.explainer.schema import Stage
    >>> st = Stage(0, "map", ("count",), "digits", 1, 667, None, None, (), {"calls": 3}, 0.9, ())
    >>> print("\\n".join(fold(stage_phrases(st), 60)))
    map count over digits: 1 chunk, 3 calls (votes, resamples,
    retries, classifiers and verifiers included), x = 667,
    success 0.9
    """
    head = f"{st.kind} {', '.join(st.ops)}" + (f" over {st.over}" if st.over else "")
    bits = [[counted(st.chunks, UNIT_OF_WORK.get(st.kind, "decision"))]]
    if st.within is not None:  # a nested stage: its chunks are one run's
        bits[0] = [bits[0][0], *prose(f"per run, {counted(st.runs, 'run')}")]
    calls = st.metrics.get("calls")
    if calls is not None:
        bits.append([counted(calls, "call"), *prose(CALLS_INCLUDE)])
    if st.x is not None:
        bits.append([f"x = {fmt(st.x)}"])
    if st.fanin is not None:
        bits.append([f"fanin {st.fanin}"])
    if st.history:
        bits.append([f"history {st.history}"])
    if st.repeat is not None:  # repeat S K then vote: the calls and success are the K runs'
        bits.append(prose(f"repeated {counted(st.repeat, 'time')} then voted"))
    bits.append([f"success {success_text(st.success)}"])
    if st.accuracy is not None:
        bits.append([f"accuracy {success_text(st.accuracy)}"])
    return [f"{head}:", *_listed(bits)]


def call_phrases(c: Call) -> list[str]:
    """A call's row: op, role, model and booster, decisions × samples, tokens per call."""
    lvl = f" (level {c.level})" if c.level is not None else ""
    role = [] if c.role == "op" else [f"[{c.role}]"]
    return [
        *role,
        f"{c.op}{lvl}",
        f"on tool {c.model}," if c.tool else f"on {c.model},",
        f"{_booster(c)}:",
        f"{counted(c.decisions, 'decision')} × {counted(c.samples_per_decision, 'sample')},",
        f"reads {fmt(c.reads)}",
        f"writes {fmt(c.writes)} tokens",
    ]


#: the metrics a plan's total is the sum of its calls' (a latency is a longest path, not a sum)
ADDITIVE = frozenset({"cost", "dollars", "calls", "tokens", "forward_passes"})


def share_phrases(c: Call, metric: str, totals: Any = None) -> list[str]:
    """The call's objective (its cost when maximizing success), its share of the plan's
    total of that metric (``totals``; the share of the cost without them) and the
    probability that one decision is right."""
    m = c.metrics
    shown = metric if metric in m and metric != "success" else "cost"
    total = (totals or {}).get(shown) if shown in ADDITIVE else None
    if isinstance(total, int | float) and total > 0 and isinstance(m[shown], int | float):
        share, of = m[shown] / total, "of the plan's " + ("cost" if shown == "cost" else shown)
    else:
        share, of = c.cost_share, "of the plan's cost"
    return [
        f"{shown} {with_unit(shown, fmt(m[shown]))}",
        f"({fmt(100 * share)}%",
        *prose(of + "),"),
        f"success per decision {success_text(c.success_per_decision)}",
    ]


def _listed(bits: list[list[str]]) -> list[str]:
    """Groups of phrases as a comma-separated list: a comma after each group but the last."""
    out: list[str] = []
    for i, group in enumerate(bits):
        out += [*group[:-1], group[-1] + ("," if i < len(bits) - 1 else "")]
    return out


def _booster(call: Call) -> str:
    return booster_text(booster_of(call.booster, call.votes, call.retries, call.check))

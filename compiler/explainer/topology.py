"""A plan expanded into its call graph: a networkx DAG with costs, critical path and GoT metrics.

Every decision of the plan (one boosted LLM call position) is a node; a stage that repeats more
than ``FOLD`` times is folded into one node with a ``multiplicity``. Node attributes: ``op``,
``role`` (op, classifier, verifier, combine), ``stage``, ``level`` (reduce), ``model``,
``booster``, ``multiplicity``, ``sequential`` (a folded chain), ``calls``, ``cost``,
``dollars`` and ``latency`` (in forward passes, for the whole node: a folded chain's steps
add up, a folded map's run in parallel). Graph of Thoughts metrics (Besta et al.): ``hops``
(longest path from a source, counting a folded chain's steps) and ``volume`` (decisions with a
path to the node). The graph's ``critical_path`` and ``critical_latency`` follow node latency;
it also carries the plan's ``success`` and, for a task with items, their ``accuracy`` and
expected ``errors``.
"""

from __future__ import annotations

import itertools
import json
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import networkx

FOLD = 8


def _unit_rows(stage: Any) -> list[Any]:
    """The stage's rows in call order: classifier, op, verifier (or judge)."""
    order = {"classifier": 0, "op": 1, "verifier": 2, "judge": 2, "scorer": 2}
    return sorted(stage.op_evals, key=lambda r: (r.level or 0, order.get(r.role, 3)))


def build(checked: Any, task: Any, evaluation: Any, metric: str = "cost") -> networkx.DiGraph:
    """The call graph of an evaluated plan (``aalp.model.cost.Evaluation``); ``metric`` (the
    objective) is the value each node's label shows."""
    import networkx as nx

    g = nx.DiGraph()
    g.graph["task"] = evaluation.task
    g.graph["metric"] = metric
    g.graph["success"] = evaluation.success
    if evaluation.items is not None:  # per item (docs/model.md §3, items)
        g.graph["items"] = evaluation.items
        g.graph["accuracy"] = evaluation.accuracy
        g.graph["errors"] = evaluation.errors
    prev_outputs: list[str] = []
    for st in evaluation.stages:
        if st.kind == "route":
            continue
        if st.kind == "combine":
            node = f"s{st.index}:combine"
            g.add_node(node, **_attrs("combine", "combine", st.index, None, 1, False, None))
            for p in prev_outputs:
                g.add_edge(p, node)
            prev_outputs = [node]
            continue
        rows = _unit_rows(st)
        before = set(g.nodes)
        if st.kind == "reduce":
            prev_outputs = _reduce(g, st, rows, prev_outputs)
        else:
            prev_outputs = _linear(g, st, rows, prev_outputs)
        if st.within is not None:
            _per_run(g, set(g.nodes) - before, st.runs, st.kind == "chain")
        if st.repeat is not None:  # repeat S K then vote: the graph's totals are the K runs'
            g.graph.setdefault("repeat", {})[str(st.index)] = st.repeat
    _metrics(g)
    _seconds(g, evaluation)
    tools = {t.name for t in getattr(checked.spec, "tools", ())}
    for _, d in g.nodes(data=True):
        if d.get("model") in tools:  # the node says tool (only tool nodes carry the key)
            d["tool"] = True
    return g


def _per_run(g: Any, nodes: set[str], runs: int, chain: bool) -> None:
    """A nested stage is drawn once, for one chunk of its enclosing stage: each node stands
    for its call in every one of the ``runs`` (its calls, cost and dollars are all runs').
    Its latency is the stage's, enclosing chunks included: a parallel node carries it already;
    a chain's step carries its share of one run's steps, not of all runs' decisions."""
    for v in nodes:
        d = g.nodes[v]
        d["runs"] = runs
        for key in ("calls", "cost", "dollars", *(("latency",) if chain else ())):
            d[key] *= runs


def _seconds(g: Any, evaluation: Any) -> None:
    """Seconds stay on the nodes, and the plan's on the graph, only when they are known
    (every model of the plan has a speed); otherwise no node claims a time."""
    total = evaluation.metrics.seconds
    if math.isnan(total):
        for _n, d in g.nodes(data=True):
            d.pop("seconds", None)
    else:
        g.graph["seconds"] = total


def _attrs(
    op: str,
    role: str,
    stage: int,
    row: Any,
    mult: int,
    seq: bool,
    level: Any,
    step: bool = False,
) -> dict:
    """A node's attributes: ``mult`` decisions of ``row`` (a folded node when > 1); ``seq``
    for a folded chain, ``step`` for one step of an unfolded chain."""
    if row is None:
        return dict(
            op=op, role=role, stage=stage, level=level, model="", booster="none", votes=None,
            multiplicity=mult, sequential=seq, calls=0.0, cost=0.0, dollars=0.0, latency=0.0,
            seconds=0.0,
        )  # fmt: skip
    per = 1.0 / row.decisions if row.decisions else 0.0
    m = row.metrics
    # A row's latency is its op's part of the stage's latency (aalp.model.cost): a parallel copy
    # carries all of it, one step of a chain its share. So the critical path is the stage's
    # latency by construction, workers included.
    latency = m.latency * (mult * per if seq or step else 1)
    seconds = m.seconds * (mult * per if seq or step else 1)
    return dict(
        op=op,
        role=role,
        stage=stage,
        level=level,
        model=row.model,
        booster=row.booster,
        votes=row.votes,
        multiplicity=mult,
        sequential=seq,
        calls=m.calls * per * mult,
        cost=m.cost * per * mult,
        dollars=m.dollars * per * mult,
        latency=latency,
        seconds=seconds,
    )


def _linear(g: Any, st: Any, rows: list[Any], prev: list[str]) -> list[str]:
    chunks = st.chunks
    seq = st.kind == "chain"
    if chunks > FOLD:
        names = []
        for r in rows:
            node = f"s{st.index}:{r.op}" + ("" if r.role == "op" else f":{r.role}")
            g.add_node(node, **_attrs(r.op, r.role, st.index, r, chunks, seq, None))
            names.append(node)
        for p in prev:
            g.add_edge(p, names[0])
        for a, b in itertools.pairwise(names):
            g.add_edge(a, b)
        return names[-1:]
    outputs = []
    last = None
    for j in range(chunks):
        names = []
        for r in rows:
            node = f"s{st.index}:{r.op}" + ("" if r.role == "op" else f":{r.role}") + f"[{j}]"
            g.add_node(node, **_attrs(r.op, r.role, st.index, r, 1, False, None, step=seq))
            names.append(node)
        for a, b in itertools.pairwise(names):
            g.add_edge(a, b)
        if seq and last is not None:
            g.add_edge(last, names[0])
        elif not seq or last is None:
            for p in prev:
                g.add_edge(p, names[0])
        last = names[-1]
        outputs.append(names[-1])
    return outputs[-1:] if seq else outputs


def _reduce(g: Any, st: Any, rows: list[Any], prev: list[str]) -> list[str]:
    fanin = st.fanin or 2
    below = prev
    for level, (nodes, _x) in enumerate(st.levels, start=1):
        lrows = [r for r in rows if (r.level or 1) == level]
        current = []
        fold = nodes > FOLD or (len(below) == 1 and nodes > 1)
        count = 1 if fold else nodes
        for j in range(count):
            names = []
            for r in lrows:
                tag = "" if r.role == "op" else f":{r.role}"
                node = f"s{st.index}:{r.op}{tag}@L{level}" + ("" if fold else f"[{j}]")
                mult = nodes if fold else 1
                g.add_node(node, **_attrs(r.op, r.role, st.index, r, mult, False, level))
                names.append(node)
            for a, b in itertools.pairwise(names):
                g.add_edge(a, b)
            kids = below if fold or len(below) == 1 else below[j * fanin : (j + 1) * fanin]
            for k in kids:
                g.add_edge(k, names[0])
            current.append(names[-1])
        below = current
    return below


def _metrics(g: Any) -> None:
    import networkx as nx

    order = list(nx.lexicographical_topological_sort(g))
    dist: dict[str, float] = {}
    hops: dict[str, int] = {}
    best_pred: dict[str, str | None] = {}
    for v in order:
        preds = sorted(g.predecessors(v))
        lat = g.nodes[v]["latency"]
        steps = g.nodes[v]["multiplicity"] if g.nodes[v]["sequential"] else 1
        if g.nodes[v]["role"] == "combine":
            steps = 0
        if preds:
            u = max(preds, key=lambda p: (dist[p], p))
            dist[v] = dist[u] + lat
            best_pred[v] = u
            hops[v] = max(hops[p] for p in preds) + steps
        else:
            dist[v] = lat
            best_pred[v] = None
            hops[v] = steps
    for v in order:
        anc = nx.ancestors(g, v)
        g.nodes[v]["hops"] = hops[v]
        # A folded chain's last step also has the chain's earlier steps behind it.
        own = g.nodes[v]["multiplicity"] - 1 if g.nodes[v]["sequential"] else 0
        g.nodes[v]["volume"] = own + sum(
            g.nodes[a]["multiplicity"] for a in anc if g.nodes[a]["role"] != "combine"
        )
    if order:
        end = max(order, key=lambda v: (dist[v], v))
        path = []
        cur: str | None = end
        while cur is not None:
            path.append(cur)
            cur = best_pred[cur]
        g.graph["critical_path"] = list(reversed(path))
        g.graph["critical_latency"] = dist[end]
    else:
        g.graph["critical_path"] = []
        g.graph["critical_latency"] = 0.0
    g.graph["calls"] = sum(d["calls"] for _n, d in g.nodes(data=True))
    g.graph["cost"] = sum(d["cost"] for _n, d in g.nodes(data=True))


#: the metrics every node carries (the objective's, when it is one of them, labels the node)
NODE_METRICS = ("cost", "dollars", "calls", "latency", "seconds")


def _label(node: str, d: dict, metric: str = "cost") -> str:
    """A node's label: op and multiplicity, model, booster, the objective's value with its
    unit (cost when the objective is not a node metric) and the calls it makes."""
    from .units import with_unit

    mult = f" ×{d['multiplicity']:,}" if d["multiplicity"] > 1 else ""
    if d.get("runs", 1) > 1:  # a nested stage's node: once per chunk of the enclosing stage
        mult += f" in each of {d['runs']:,} runs"
    if d["role"] == "combine":
        return "combine (code)"
    boost = d["booster"] if d["booster"] != "none" else ""
    if d.get("votes"):
        boost += f" {d['votes']}"
    shown = metric if metric in NODE_METRICS else "cost"
    value = f"{shown} {with_unit(shown, f'{d[shown]:.4g}')}"
    calls = f"{d['calls']:.4g} calls (votes and retries included)"
    model = f"tool {d['model']}" if d.get("tool") else d["model"]
    parts = [f"{d['op']}{mult}", model, boost.strip(), value]
    if shown != "calls":
        parts.append(calls)
    return "\n".join(p for p in parts if p)


def repeat_caption(g: Any) -> str:
    """What a graph with repeated stages says of them: each node's totals are the K runs'."""
    parts = [
        f"stage {int(i) + 1} runs {k} times, then a vote" for i, k in g.graph["repeat"].items()
    ]
    return "; ".join(parts) + " (each node's calls and cost are all runs')"


def to_dot(g: Any) -> str:
    """Graphviz text (nodes in topological order; critical path drawn bold)."""
    import networkx as nx

    crit = set(zip(g.graph["critical_path"], g.graph["critical_path"][1:], strict=False))

    def q(text: str) -> str:  # a dot string: JSON quoting without \u escapes
        return json.dumps(text, ensure_ascii=False)

    lines = [f"digraph {q(g.graph.get('task', 'plan'))} {{", "  rankdir=TB;"]
    if g.graph.get("repeat"):
        lines.append(f"  label={q(repeat_caption(g))};")
    for n in nx.lexicographical_topological_sort(g):
        d = g.nodes[n]
        shape = "box" if d["role"] != "combine" else "ellipse"
        label = _label(n, d, g.graph.get("metric", "cost"))
        lines.append(f"  {q(n)} [shape={shape}, label={q(label)}];")
    for a, b in sorted(g.edges()):
        style = " [style=bold]" if (a, b) in crit else ""
        lines.append(f"  {q(a)} -> {q(b)}{style};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_mermaid(g: Any) -> str:
    """Mermaid flowchart text."""
    import networkx as nx

    ids = {n: f"n{i}" for i, n in enumerate(nx.lexicographical_topological_sort(g))}
    lines = ["flowchart TD"]
    if g.graph.get("repeat"):
        lines.append(f"  %% {repeat_caption(g)}")
    for n, i in ids.items():
        label = _label(n, g.nodes[n], g.graph.get("metric", "cost"))
        label = label.replace("\n", "<br/>").replace('"', "'")
        lines.append(f'  {i}["{label}"]')
    for a, b in sorted(g.edges()):
        lines.append(f"  {ids[a]} --> {ids[b]}")
    return "\n".join(lines) + "\n"


def to_json(g: Any) -> str:
    """Nodes (with every attribute), edges and the graph's totals as JSON."""
    import networkx as nx

    def clean(v: Any) -> Any:
        if isinstance(v, float):
            return float(f"{v:.12g}")
        return v

    nodes = [
        {"id": n, **{k: clean(v) for k, v in sorted(g.nodes[n].items())}}
        for n in nx.lexicographical_topological_sort(g)
    ]
    out = {
        "task": g.graph.get("task"),
        "nodes": nodes,
        "edges": [list(e) for e in sorted(g.edges())],
        "critical_path": g.graph["critical_path"],
        "critical_latency": clean(g.graph["critical_latency"]),
        "calls": clean(g.graph["calls"]),
        "cost": clean(g.graph["cost"]),
        "success": clean(g.graph.get("success")),
    }
    for key in ("items", "accuracy", "errors"):
        if key in g.graph:
            out[key] = clean(g.graph[key])
    return json.dumps(out, indent=2, ensure_ascii=False) + "\n"

"""The plan's call graph: nodes and folding, critical path against the cost model's latency,
Graph-of-Thoughts hops and volume by hand, and the dot/mermaid/json renderings."""

from __future__ import annotations

import json

from aalp.checks.loader import load_text
from aalp.cli import cli
from aalp.explainer.topology import build, to_dot, to_json, to_mermaid
from aalp.optimizer.driver import optimize
from click.testing import CliRunner

MAP_REDUCE = """\
param n = {n}
model m {{ size 1 context 100k price in 1 out 1 per Mtok can part, merge }}
task t {{
  items xs = n of 10 tokens
  op part(x of xs) on m {{ reads 10*x tokens  writes 5 tokens  success 0.999 }}
  op merge(x of xs) on m {{ reads 5*x tokens  writes 5 tokens  success 0.999 }}
  map part over xs
  reduce merge fanin 2
  pin part.x = 1
}}
"""

CHAIN = """\
model m { size 1 context 100k price in 1 out 1 per Mtok can step }
task t {
  steps s = 3
  op step on m { reads 10 tokens  writes 4 tokens  success 0.99 }
  chain step over s
}
"""


def graph(text: str):
    checked = load_text(text, "t.aalp")
    r = optimize(checked, frontier=False, baselines=False)
    task = checked.spec.tasks[0]
    return build(checked, task, r.plan.evaluation), r.plan.evaluation


def test_map_reduce_tree_expanded():
    g, ev = graph(MAP_REDUCE.format(n=4))
    # 4 leaves, then 2 + 1 merge nodes
    assert sorted(d["op"] for _n, d in g.nodes(data=True)) == ["merge"] * 3 + ["part"] * 4
    assert g.number_of_edges() == 4 + 2
    # critical path: one leaf then two merge levels; its latency is the cost model's
    assert len(g.graph["critical_path"]) == 3
    assert g.graph["critical_latency"] == ev.metrics.latency
    top = g.graph["critical_path"][-1]
    assert g.nodes[top]["hops"] == 3 and g.nodes[top]["volume"] == 6
    assert abs(g.graph["cost"] - ev.metrics.cost) <= 1e-9 * ev.metrics.cost


def test_large_stages_fold_with_multiplicity():
    g, ev = graph(MAP_REDUCE.format(n=1000))
    leaves = [d for _n, d in g.nodes(data=True) if d["op"] == "part"]
    assert len(leaves) == 1 and leaves[0]["multiplicity"] == 1000
    assert abs(g.graph["calls"] - ev.metrics.calls) <= 1e-9 * ev.metrics.calls
    assert g.graph["critical_latency"] == ev.metrics.latency


def test_chain_hops_and_volume():
    g, ev = graph(CHAIN)
    last = g.graph["critical_path"][-1]
    assert len(g.graph["critical_path"]) == 3
    assert g.nodes[last]["hops"] == 3 and g.nodes[last]["volume"] == 2
    assert g.graph["critical_latency"] == ev.metrics.latency == 12


def test_renderings_and_command(tmp_path):
    g, _ = graph(CHAIN)
    dot = to_dot(g)
    assert dot.startswith('digraph "t"') and dot.count("->") == 2 and "style=bold" in dot
    assert to_mermaid(g).count("-->") == 2
    j = json.loads(to_json(g))
    assert len(j["nodes"]) == 3 and j["critical_latency"] == 12
    f = tmp_path / "t.aalp"
    f.write_text(CHAIN)
    for fmt in ("dot", "mermaid", "json"):
        r = CliRunner().invoke(cli, ["graph", str(f), "--format", fmt])
        assert r.exit_code == 0 and r.stdout

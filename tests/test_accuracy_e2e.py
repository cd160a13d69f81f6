"""The invoices sample, and a merge tree whose op reads its fan-in, end to end: compiled for
the python target and run against the simulated LLM over HTTP (``aalp serve-sim``)."""

from __future__ import annotations

import json
from pathlib import Path

from aalp.checks.loader import load_text
from aalp.sim.harness import make_input, run_program
from test_e2e import FAST, build, program_of, served

TREE = """
param n = 24
model m { size 1  context 64k  price in 1 out 2 per Mtok  can work, merge }
task summaries {
  items docs = n of 100 tokens
  op work(x of docs upto 4) on m { reads 50 + 100*x tokens  writes 10 tokens  success 0.99 }
  op merge on m { reads 50 + 10*fanin + calls tokens  writes 10 tokens  success 0.999^level }
  map work over docs
  reduce merge fanin choose
  require accuracy >= 0.9
  minimize cost
}
"""


def test_the_invoices_sample_runs_against_serve_sim(tmp_path: Path, load_sample) -> None:
    checked = load_sample("invoices", n="200")
    compiled = build(checked, tmp_path)
    assert compiled.view["ops"]["extract"]["booster"]["kind"] == "retry"
    data = make_input(checked, seed=2)
    with served(checked, seed=5) as server:
        run = run_program(program_of(compiled, tmp_path), server.url, tmp_path, data, FAST)
        stats = server.core.stats()
    assert run.returncode == 0, run.stderr
    assert len(run.result) == 200  # one extraction per invoice, concatenated
    assert stats["calls"] == run.report["calls"]
    assert set(stats["by_op"]) == {"extract", "verify"}
    low, high = compiled.view["prediction"]["calls_interval"]
    assert low <= run.report["calls"] <= high


def test_a_tree_whose_op_reads_its_fanin_runs_against_serve_sim(tmp_path: Path) -> None:
    checked = load_text(TREE, str(tmp_path / "tree.aalp"))
    compiled = build(checked, tmp_path)
    with served(checked, seed=1) as server:
        run = run_program(
            program_of(compiled, tmp_path), server.url, tmp_path, make_input(checked), FAST
        )
        stats = server.core.stats()
    assert run.returncode == 0, run.stderr
    assert stats["calls"] == run.report["calls"]
    # the tokens the server counted: a node reads 50 + 10 per child + the calls of its level,
    # no more than the plan's prediction (which reads fanin children at every node)
    predicted = compiled.view["prediction"]["tokens"]
    assert 0 < run.report["tokens"] <= predicted


def test_the_simulated_verifier_judges_the_answer_it_checks(load_sample) -> None:
    from aalp.sim import SimCore
    from test_sim import body, content

    core = SimCore(load_sample("invoices", n="10"), seed=3)
    request = {"x": 1, "chunk": 0, "items": [4]}
    right = json.loads(content(core.complete(body(core, "extract", "mini", request), "r")))
    wrong = right + 1 if isinstance(right, int) else [right]
    verdicts = {True: 0, False: 0}
    for i in range(2000):
        for good in (True, False):
            asked = {"request": request, "answer": right if good else wrong}
            said = json.loads(
                content(core.complete(body(core, "verify", "mini", asked), f"{good}{i}"))
            )
            verdicts[good] += said == "accept"
    # the verifier is right with its success, 0.98, on right and wrong answers alike
    assert abs(verdicts[True] / 2000 - 0.98) < 0.015
    assert abs(verdicts[False] / 2000 - 0.02) < 0.015


def test_a_tree_node_reads_the_children_it_merges(tmp_path: Path) -> None:
    from aalp.sim import SimCore
    from test_sim import body

    core = SimCore(load_text(TREE, str(tmp_path / "tree.aalp")), seed=3)
    request = {"x": 8, "level": 2, "node": 0, "calls": 3, "children": [1, 2, 3]}
    usage = core.complete(body(core, "merge", "m", request), "k")["usage"]
    assert usage["prompt_tokens"] == 50 + 10 * 3 + 3

"""Nested stages end to end: the research-agent sample compiled for the python target runs
against the simulated LLM over HTTP, its searches calls of the simulated search tool, and
makes exactly the calls the plan predicts, per op; every other target refuses it at compile
time naming the construct (the tool op first, the nested stages once the search is a model's
op)."""

from __future__ import annotations

from pathlib import Path

import pytest
from aalp.api import compile as emit
from aalp.backends.base import write
from aalp.backends.view import PlanError
from aalp.checks.loader import load
from aalp.sim.harness import make_input, run_program
from test_e2e import FAST, served

OTHERS = ["ray", "langgraph", "dspy", "openai-agents", "autogen", "crewai"]
SAMPLE = Path(__file__).parent.parent / "samples" / "research_agent.aalp"


def test_the_research_agent_runs_its_nested_pipeline_per_question(
    tmp_path: Path, load_sample
) -> None:
    checked = load_sample("research_agent", q="6")
    compiled = emit(checked)
    write(compiled.files, str(tmp_path))
    assert sorted(f.path for f in compiled.files) == ["run_research_agent.py", "tools.py"]
    data = make_input(checked, seed=2)
    assert len(data["queries"]) == 6 and all(len(qs) == 3 for qs in data["queries"])
    with served(checked, seed=5) as server:
        run = run_program(tmp_path / compiled.files[0].path, server.url, tmp_path, data, FAST)
        stats = server.core.stats()
    assert run.returncode == 0, run.stderr
    assert len(run.result) == 6  # one answer per question
    ops = compiled.view["ops"]
    k_plan = ops["plan"]["booster"]["votes"] or 1
    # per question: the plan's samples, 3 searches, one answer node and its classifier
    assert run.report["calls_by_op"] == stats["by_op"]
    assert stats["by_op"]["search"] == 6 * 3
    assert stats["by_op"]["classify"] == stats["by_op"]["answer"] == 6
    assert stats["by_op"]["plan"] >= 6 * k_plan // 2 + 6
    low, high = compiled.view["prediction"]["calls_interval"]
    assert low <= run.report["calls"] <= high
    assert stats["calls"] == run.report["calls"]
    # a search is one call of the tool: no tokens, the tool's price per call
    search = run.report["ops"]["search"]
    assert search["model"] == "search_api"
    assert search["prompt_tokens"] == search["completion_tokens"] == 0
    price = ops["search"]["price_call"]
    assert price == 0.001
    llm = sum(
        (ops[n]["price_in"] * c["prompt_tokens"] + ops[n]["price_out"] * c["completion_tokens"])
        / 1e6
        for n, c in run.report["ops"].items()
    )
    assert run.report["dollars"] == pytest.approx(llm + 6 * 3 * price, abs=1e-9)
    prompt = sum(c["prompt_tokens"] for c in run.report["ops"].values())
    assert prompt == stats["tokens"]["prompt"]


@pytest.mark.parametrize("target", [t for t in OTHERS if t != "openai-agents"])
def test_other_targets_refuse_the_tool_op(target: str, load_sample) -> None:
    checked = load_sample("research_agent")
    match = f"op 'search' runs on tool 'search_api' .*the {target} target does not run"
    with pytest.raises(PlanError, match=match):
        emit(checked, target)


def test_the_agents_sdk_runs_the_tool_op_but_refuses_the_nested_stages(load_sample) -> None:
    with pytest.raises(PlanError, match=r"target openai-agents: .*nested stages"):
        emit(load_sample("research_agent"), "openai-agents")


@pytest.mark.parametrize("target", OTHERS)
def test_other_targets_refuse_nested_stages(target: str, tmp_path: Path) -> None:
    text = SAMPLE.read_text(encoding="utf-8")
    text = text.replace("can plan, classify", "can plan, search, classify")
    text = text.replace(
        "op search on search_api {",
        "op search on mini {\n    reads 80 tokens\n    writes doc tokens\n    success 0.995",
    )
    path = tmp_path / SAMPLE.name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PlanError, match=f"target {target}: .*nested stages"):
        emit(load(path, {}), target)

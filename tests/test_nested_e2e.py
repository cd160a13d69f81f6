"""Nested stages end to end: the research-agent sample compiled for the python target runs
against the simulated LLM over HTTP and makes exactly the calls the plan predicts, per op;
every other target refuses it at compile time naming the construct."""

from __future__ import annotations

from pathlib import Path

import pytest
from aalp.api import compile as emit
from aalp.backends.base import write
from aalp.backends.view import PlanError
from aalp.sim.harness import make_input, run_program
from test_e2e import FAST, served

OTHERS = ["ray", "langgraph", "dspy", "openai-agents", "autogen", "crewai"]


def test_the_research_agent_runs_its_nested_pipeline_per_question(
    tmp_path: Path, load_sample
) -> None:
    checked = load_sample("research_agent", q="6")
    compiled = emit(checked)
    write(compiled.files, str(tmp_path))
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


@pytest.mark.parametrize("target", OTHERS)
def test_other_targets_refuse_nested_stages(target: str, load_sample) -> None:
    checked = load_sample("research_agent")
    with pytest.raises(PlanError, match=f"target {target}: .*nested stages"):
        emit(checked, target)

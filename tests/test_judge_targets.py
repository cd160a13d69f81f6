"""Judge votes in emitted code: the python program runs them against the simulated LLM with
exactly the predicted calls and cost; every other target refuses them by name."""

from __future__ import annotations

from pathlib import Path

import pytest
from aalp.api import compile as emit
from aalp.backends.base import write
from aalp.checks.loader import load_text
from aalp.diagnostics import AalpError
from aalp.sim import Faults, SimCore, SimServer
from aalp.sim.harness import make_input, run_program

SPEC = """
model m { size 1  context 16k  price in 0.5 out 1.5 per Mtok  can write, pick }
task summaries {
  items docs = 6 of 200 tokens
  op write on m { reads 250 tokens  writes 40 tokens  success 0.55  answer text }
  op pick on m { reads 300 tokens  writes 2 tokens  success 0.9  answer number }
  map write over docs
  allow vote judge pick max 5 on write
  maximize success
}
"""

OTHERS = ["ray", "langgraph", "dspy", "openai-agents", "autogen", "crewai"]


def test_python_program_draws_n_samples_and_one_judge_call_per_decision(tmp_path: Path) -> None:
    checked = load_text(SPEC, "summaries.aalp")
    compiled = emit(checked)
    write(compiled.files, str(tmp_path))
    booster = compiled.view["ops"]["write"]["booster"]
    assert booster["kind"] == "judge" and booster["check"] == "pick"
    n = booster["votes"]
    server = SimServer(SimCore(checked, seed=4, faults=Faults())).start()
    try:
        run = run_program(
            tmp_path / compiled.files[0].path,
            server.url,
            tmp_path,
            make_input(checked),
            ["--fresh", "--backoff", "0.005"],
        )
        served = server.core.stats()["calls"]
    finally:
        server.stop()
    assert run.returncode == 0, run.stderr
    assert run.report["calls"] == served == 6 * (n + 1)
    assert run.report["calls_by_op"] == {"write": 6 * n, "pick": 6}
    # the judge reads its prompt and every candidate, as the cost model counts it
    prediction = compiled.view["prediction"]
    assert prediction["calls_by_op"]["pick"] == pytest.approx(6)
    for metric in ("cost", "dollars", "tokens", "forward_passes"):
        assert run.report[metric] == pytest.approx(prediction[metric]), metric


@pytest.mark.parametrize("target", OTHERS)
def test_other_targets_refuse_the_judge_by_name(target: str) -> None:
    checked = load_text(SPEC, "summaries.aalp")
    with pytest.raises(AalpError) as err:
        emit(checked, target=target)
    message = str(err.value)
    assert err.value.code == "E604"
    assert f"target {target}" in message and "allow vote judge" in message

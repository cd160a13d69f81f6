"""The samples no other end-to-end test runs, compiled for the python target as written (the
optimizer's plan) and run against the simulated LLM over HTTP: each finishes, the server
answered exactly the calls the program counted, per op, and their number is inside the
prediction's interval."""

from __future__ import annotations

from pathlib import Path

import pytest
from aalp.sim.harness import make_input, run_program
from test_e2e import FAST, build, program_of, served

#: sample -> its -D overrides (small enough to run in seconds)
SAMPLES = {"tree_of_thoughts": {}, "long_context": {"n": "400"}}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_runs_its_plan_against_the_simulated_llm(
    name: str, tmp_path: Path, load_sample
) -> None:
    checked = load_sample(name, **SAMPLES[name])
    compiled = build(checked, tmp_path)
    data = make_input(checked, seed=3)
    with served(checked, seed=4) as server:
        run = run_program(program_of(compiled, tmp_path), server.url, tmp_path, data, FAST)
        stats = server.core.stats()
    assert run.returncode == 0, run.stderr
    assert run.result is not None
    assert run.report["calls_by_op"] == stats["by_op"]
    assert run.report["calls"] == stats["calls"]
    low, high = compiled.view["prediction"]["calls_interval"]
    assert low <= run.report["calls"] <= high

"""The DSPy target seen through DSPy's own tools: the module's structure is the plan's.

``named_sub_modules()`` finds the plan module and one ``Vote`` per op of the plan (a routed
op's classifier and an LLM verifier included), each holding one ``dspy.Predict``;
``named_predictors()`` finds exactly those predictors, each signature reading ``task_input``
and writing ``answer`` typed from the op's answer format, with the op's prompt as its
instructions.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from aalp.backends import registry
from aalp.backends.base import write
from conftest import TELEMETRY_OFF
from targets_env import venv_python
from test_target_frameworks import plan
from test_target_verifier import compiled

HERE = Path(__file__).resolve().parent

#: the output field's type, as DSPy holds it, by answer format
TYPES = {
    "number": "<class 'float'>",
    "list": "list[typing.Any]",
    "json": "typing.Any",
    "choice": "<class 'str'>",
    "text": "<class 'str'>",
}

VIEWS = {
    "hanoi": lambda: plan("hanoi"),
    "counting": lambda: plan("counting"),
    "routing": lambda: plan("routing"),
    "verified": lambda: compiled("dspy").view,
}


@pytest.mark.parametrize("family", list(VIEWS))
def test_the_modules_dspy_finds_are_the_plans_ops(family: str, tmp_path: Path) -> None:
    python = venv_python("dspy")
    view = VIEWS[family]()
    program = write(registry.get("dspy").emit(view), str(tmp_path))[0]
    (tmp_path / "view.json").write_text(json.dumps(view))
    (tmp_path / "input.json").write_text("{}")
    run = subprocess.run(
        [
            python,
            str(HERE / "targets" / "dspy_structure.py"),
            program,
            str(tmp_path / "view.json"),
            str(tmp_path / "input.json"),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **TELEMETRY_OFF},
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    got = json.loads(run.stdout.strip().splitlines()[-1])
    ops = sorted(view["ops"])
    assert len(ops) >= (2 if family in ("routing", "verified") else 1)
    expected = [["self", got["modules"][0][1]]]
    for op in ops:
        expected += [[f"self.{op}_vote", "Vote"], [f"self.{op}_vote.predict", "Predict"]]
    assert sorted(got["modules"]) == sorted(expected)
    assert got["modules"][0][1].endswith("Plan")
    assert sorted(got["predictors"]) == [f"{op}_vote.predict" for op in ops]
    for op in ops:
        predictor = got["predictors"][f"{op}_vote.predict"]
        assert predictor["inputs"] == ["task_input"]
        assert predictor["outputs"] == {"answer": TYPES[view["ops"][op]["answer"]]}
        assert predictor["instructions"] == view["ops"][op]["system"]

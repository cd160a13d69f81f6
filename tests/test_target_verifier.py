"""Verifier loops (``retry ... until VERIFY``) in every framework target.

A map of counts, each retried up to three times until an LLM verifier accepts it, compiles for
every framework target and runs through the framework's engine with its fake model: the
result and the calls per op (the verifier's included) equal the reference interpreter's, and
the framework saw every call.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from aalp.api import compile as emit
from aalp.backends.base import write
from aalp.checks.loader import load_text
from conftest import TELEMETRY_OFF
from targets import reference, world
from targets_env import venv_python
from test_target_frameworks import DRIVERS

HERE = Path(__file__).resolve().parent

VERIFIED = """
model small { size 1 context 10k price in 1 out 1 per Mtok can count, judge }
task counting {
  items digits = 40 of 1 tokens
  op count(x of digits) on small {
    reads 100 tokens writes 5 tokens success 0.9 prompt "Count the digits 7." answer number
  }
  op judge on small {
    reads 20 tokens writes 1 tokens success 0.9 prompt "Is the count right?" answer choice
  }
  map count over digits
  combine sum
  allow retry max 3 until judge on count
}
"""

DECISIONS = {"count.x": 10, "count.vote": "none", "count.retries": 3, "judge.vote": "none"}


def compiled(target: str):
    return emit(load_text(VERIFIED, "verified.aalp"), target, decisions=DECISIONS)


@pytest.mark.parametrize("target", list(DRIVERS))
def test_a_verifier_loop_runs_and_matches_the_reference(target: str, tmp_path: Path) -> None:
    python = venv_python(target)
    result = compiled(target)
    program = write(result.files, str(tmp_path))[0]
    view = result.view
    data = world.make_input("counting", 40)
    (tmp_path / "view.json").write_text(json.dumps(view))
    (tmp_path / "input.json").write_text(json.dumps(data))
    run = subprocess.run(
        [python, str(HERE / "targets" / DRIVERS[target]), program, *_paths(tmp_path)],
        capture_output=True,
        text=True,
        env={**os.environ, **TELEMETRY_OFF},
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    got = json.loads(run.stdout.strip().splitlines()[-1])
    want, calls = reference.expected(view, data)
    assert calls["judge"] > calls["count"] - 4  # every try was judged (red flags are not tries)
    assert calls["count"] > 4  # some verdicts rejected a try: retries ran
    assert (got["result"], got["calls"]) == (want, calls)
    assert got["starts"] == sum(calls.values())


def _paths(folder: Path) -> list[str]:
    return [str(folder / "view.json"), str(folder / "input.json")]

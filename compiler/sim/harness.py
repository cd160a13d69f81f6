"""Helpers to compile a spec, make an input, and run the emitted program against the server.

The end-to-end tests and ``bench/emit_throughput.py`` use them; so can anyone trying a
target by hand.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .oracles import family_of, oracle


@dataclass(frozen=True)
class Run:
    """One run of an emitted program: its result, its report and its exit status."""

    result: Any
    report: dict[str, Any]
    returncode: int
    stderr: str


def task_env(checked: Any, task_name: str | None = None) -> tuple[Any, dict[str, float]]:
    """The task (first when None) and the float environment of ``checked``."""
    from aalp.front.numbers import float_env

    tasks = checked.spec.tasks
    task = next(t for t in tasks if task_name is None or t.name == task_name)
    return task, float_env(checked.env)


def make_input(checked: Any, seed: int = 0, task_name: str | None = None) -> dict[str, Any]:
    """An input for the program, made by the task family's oracle."""
    task, env = task_env(checked, task_name)
    data: dict[str, Any] = oracle(family_of(task)).make_input(task, env, seed)
    return data


def expected(checked: Any, data: dict[str, Any], task_name: str | None = None) -> Any:
    """The right final result for ``data``, from the oracle."""
    task, env = task_env(checked, task_name)
    return oracle(family_of(task)).expected(task, env, data)


def run_program(
    program: str | Path,
    base_url: str,
    workdir: str | Path,
    data: dict[str, Any] | None = None,
    extra: list[str] | tuple[str, ...] = (),
    timeout: float = 300,
) -> Run:
    """Run an emitted Python program in a subprocess against ``base_url``."""
    workdir = Path(workdir)
    args = [sys.executable, str(program), "--base-url", base_url, "--progress", "off"]
    if data is not None:
        (workdir / "input.json").write_text(json.dumps(data), encoding="utf-8")
        args += ["--input", str(workdir / "input.json")]
    report_path = workdir / "report.json"
    output_path = workdir / "output.json"
    for stale in (report_path, output_path):
        stale.unlink(missing_ok=True)
    args += ["--report", str(report_path), "--output", str(output_path), *extra]
    env = {**os.environ, "AALP_API_KEY": "sim"}
    proc = subprocess.run(
        args, cwd=workdir, capture_output=True, text=True, timeout=timeout, env=env, check=False
    )
    result = report = None
    if output_path.exists():
        result = json.loads(output_path.read_text(encoding="utf-8"))
    if report_path.exists():
        report = json.loads(report_path.read_text(encoding="utf-8"))
    return Run(result, report or {}, proc.returncode, proc.stderr)

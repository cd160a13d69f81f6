"""The framework targets keep the run's contract as the python target does (docs/targets.md,
"The run's contract"): ``--dry-run`` projects and calls nothing; ``--max-calls`` and
``--max-dollars`` stop a run (exit 4) and running it again ends in the uninterrupted run's
result with no call made twice, counted at the simulated server; every run writes
run-report.json, which ``aalp calibrate --from-run`` reads.

CrewAI's flow keeps the calls in its own persistence (``--checkpoint``), as LangGraph's
checkpoints do; the shared decide loop replays from it.

The programs run in each framework's venv against the simulated LLM; the server's call keys
(the call's own key where the target sends it, else a hash of each request and how often it
was seen) are compared across runs, so a call asked again would show as one key too many.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aalp.api import compile as emit
from aalp.backends.base import write
from aalp.cli import main as aalp_main
from aalp.front import ir
from aalp.sim import SimCore, SimServer
from aalp.sim.harness import make_input
from conftest import TELEMETRY_OFF
from targets_env import venv_python

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ["openai-agents", "autogen", "dspy", "langgraph", "crewai"]
#: the targets whose framework keeps the calls made (its checkpoints), not a journal
CHECKPOINTED = ("langgraph", "crewai")
#: a key the server made up for a request that came without one
UNKEYED = re.compile(r"[0-9a-f]{16}:[0-9]+")
#: hanoi with 4 disks, one move per call, first-to-ahead-by-2: about forty calls in a chain
HANOI = {"move.x": 1, "move.model": "gpt41mini", "move.vote": "ahead_by", "move.votes": 2}
#: counting 1000 digits in 10 chunks of 100, one call each, all at once
COUNTING = {"count.x": 100, "count.model": "gpt4omini", "count.vote": "none"}
PLANS = {"hanoi": ({"disks": "4", "p": "0.9"}, HANOI), "counting": ({"n": "1000"}, COUNTING)}


@dataclass
class Program:
    python: str
    path: str
    folder: Path
    server: SimServer
    target: str
    prediction: dict[str, Any]


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    report: dict[str, Any]
    served: list[str]  # the calls the server answered during this run


@contextmanager
def compiled(
    target: str,
    plan: str,
    folder: Path,
    load_sample,
    truth: dict[str, float] | None = None,
    define: dict[str, str] | None = None,
) -> Iterator[Program]:
    """``plan`` compiled for ``target`` in ``folder`` (``define``: more ``-D`` overrides),
    with its input and a simulated LLM (``truth``: op -> its true success, in place of the
    spec's)."""
    python = venv_python(target)
    overrides, decisions = PLANS[plan]
    overrides = {**overrides, **(define or {})}
    checked = load_sample(plan, **overrides)
    done = emit(checked, target, decisions=decisions)
    path = write(done.files, str(folder))[0]
    (folder / "input.json").write_text(json.dumps(make_input(checked)), encoding="utf-8")
    success = {op: ir.Num(p) for op, p in (truth or {}).items()}
    with SimServer(SimCore(checked, seed=5, success=success)) as server:
        yield Program(python, path, folder, server, target, done.view["prediction"])


def run(program: Program, store: str, *flags: str) -> Outcome:
    """The program once, in its venv, resuming from ``store`` (the journal, or LangGraph's
    checkpoints); what the server answered meanwhile."""
    before = len(program.server.core.stats()["keys"])
    report = program.folder / "run-report.json"
    report.unlink(missing_ok=True)
    argv = [program.path, "--base-url", program.server.url, "--progress", "off"]
    argv += ["--input", str(program.folder / "input.json"), "--backoff", "0"]
    if program.target in CHECKPOINTED:
        argv += ["--checkpoint", str(program.folder / store)]
    else:
        argv += ["--journal", str(program.folder / store), "--no-fsync"]
    done = subprocess.run(
        [program.python, *argv, *flags],
        capture_output=True,
        text=True,
        env={**os.environ, **TELEMETRY_OFF},
        cwd=program.folder,
        timeout=600,
        check=False,
    )
    got = json.loads(report.read_text(encoding="utf-8")) if report.exists() else {}
    served = program.server.core.stats()["keys"][before:]
    return Outcome(done.returncode, done.stdout, done.stderr, got, served)


@pytest.mark.parametrize("target", TARGETS)
def test_a_dry_run_prints_the_projection_and_calls_nothing(
    target: str, tmp_path: Path, load_sample
) -> None:
    with compiled(target, "hanoi", tmp_path, load_sample) as program:
        got = run(program, "dry.store", "--dry-run", "--tokens-per-second", "100")
    assert got.code == 0 and got.served == [] and got.report == {}, got.stderr
    assert not (program.folder / "dry.store").exists()
    assert "nothing was called" in got.stdout.splitlines()[0]
    lines = dict(line.split(None, 1) for line in got.stdout.splitlines()[1:])
    predicted = program.prediction
    assert float(lines["calls"].split()[0]) == pytest.approx(predicted["calls"], rel=1e-5)
    assert float(lines["dollars"]) == pytest.approx(predicted["dollars"], rel=1e-5)
    assert float(lines["tokens"]) == pytest.approx(predicted["tokens"], rel=1e-5)
    seconds = predicted["latency"] / 100 + predicted["latency_calls"] * 0.5
    assert float(lines["seconds"].split()[0]) == pytest.approx(seconds, rel=1e-5)


def _result(got: Outcome) -> Any:
    return json.loads(got.stdout.strip().splitlines()[-1])["result"]


#: (target, plan, budget flag, the budget as a share of the plan's predicted calls or
#: dollars): both budgets on the Agents SDK, AutoGen and LangGraph; the call budget on CrewAI
#: and DSPy, the slowest (the dollar budget is the same runtime rule on every target)
BUDGETS = [
    (target, *case)
    for target in TARGETS
    for case in [("hanoi", "--max-calls", 1 / 3), ("counting", "--max-dollars", 1 / 3)]
    if target not in ("crewai", "dspy") or case[0] == "hanoi"
]


@pytest.mark.parametrize(("target", "plan", "flag", "share"), BUDGETS)
def test_budget_stops_and_resumes_end_as_an_uninterrupted_run(
    target: str, plan: str, flag: str, share: float, tmp_path: Path, load_sample
) -> None:
    with compiled(target, plan, tmp_path, load_sample) as program:
        reference = run(program, "reference.store")
        assert reference.code == 0 and reference.report["status"] == "done", reference.stderr
        # each call sent its key (``X-Aalp-Call``): answers do not hang on the order
        # concurrent calls arrive in
        assert not any(UNKEYED.fullmatch(key) for key in reference.served), reference.served
        assert len(set(reference.served)) == len(reference.served)
        program.server.core.reset()  # the same answers again, in the same order
        predicted = program.prediction["calls" if flag == "--max-calls" else "dollars"]
        limit = int(predicted * share) if flag == "--max-calls" else predicted * share
        stopped: list[Outcome] = []
        for _ in range(12):
            last = run(program, "budget.store", flag, str(limit))
            if last.code != 4:
                break
            stopped.append(last)
    assert last.code == 0 and len(stopped) >= 2, last.stderr[-3000:]
    assert _result(last) == _result(reference)
    served = [key for got in [*stopped, last] for key in got.served]
    # no call was made twice: together the runs asked the server the reference's calls
    assert sorted(served) == sorted(reference.served)
    assert last.report["calls"] == reference.report["calls"] == len(reference.served)
    assert last.report["calls_this_run"] == len(last.served)
    assert last.report["replayed"] == len(served) - len(last.served)
    for got in stopped:
        report = got.report
        assert report["status"] == "stopped" and flag in report["stopped_by"], got.stderr
        assert report["calls_this_run"] == len(got.served) == report["budget"]["calls"]
        assert "stopped by a budget" in got.stderr and got.stdout == ""
        kept = "--checkpoint" if target in CHECKPOINTED else "journal"
        assert f"run again with the same {kept} to go on" in got.stderr
        if flag == "--max-calls":
            assert report["calls_this_run"] <= limit
        else:
            assert report["budget"]["dollars"] <= limit + 1e-12


@pytest.mark.parametrize("target", TARGETS)
def test_the_run_report_is_what_calibrate_reads(target: str, tmp_path: Path, load_sample) -> None:
    with compiled(target, "hanoi", tmp_path, load_sample) as program:
        got = run(program, "report.store")
        served = program.server.core.stats()["tokens"]
    report = got.report
    assert got.code == 0 and report["status"] == "done", got.stderr
    # the tokens are the usage the server reported, call by call
    assert report["prompt_tokens"] == served["prompt"]
    assert report["completion_tokens"] == served["completion"]
    assert report["calls"] == len(got.served) == report["ops"]["move"]["calls"]
    assert report["warnings"] == [] and report["budget"]["max_calls"] is None
    assert report["ops"]["move"]["decisions"] == 15  # one voted decision per move
    assert report["rates"]["move"]["agreement"]["events"] == 15
    assert report["prompt_tokens"] > 0
    assert report["completion_tokens"] > 0 and report["dollars"] > 0
    out = tmp_path / "cal.json"
    argv = ["calibrate", str(ROOT / "samples" / "hanoi.aalp"), "-D", "disks=4"]
    argv += ["--from-run", str(tmp_path / "run-report.json"), "-o", str(out)]
    with pytest.raises(SystemExit) as stop:
        aalp_main(argv)
    assert stop.value.code == 0
    assert json.loads(out.read_text(encoding="utf-8"))["ops"]["move"]


#: the adapt test's targets: each way of running the votes once (DSPy's own loop, the shared
#: async loop in AutoGen; the Agents SDK and CrewAI run that same loop, only slower) and
#: LangGraph's graph nodes
ADAPTING = ["dspy", "autogen", "langgraph"]


@pytest.mark.parametrize("target", ADAPTING)
def test_a_model_worse_than_the_spec_warns_and_adapt_raises_k(
    target: str, tmp_path: Path, load_sample
) -> None:
    """The spec says a move is right 90% of the time, the simulated model 60% (its wrong
    answers mostly differ): the first-sample agreement falls outside its interval, a warning
    in the report and on stderr; with --adapt the later moves vote ahead by more than the
    plan's 2."""
    # 6 disks: 63 moves, enough decisions to tell 0.6 from 0.9 at 99.9%
    worse, disks = {"move": 0.6}, {"disks": "6"}
    with compiled(target, "hanoi", tmp_path, load_sample, worse, disks) as program:
        fixed = run(program, "fixed.store")
        adapted = run(program, "adapted.store", "--adapt")
    assert fixed.code in (0, 1) and fixed.report["adapted"] == {}, fixed.stderr
    agreement = fixed.report["rates"]["move"]["agreement"]
    assert agreement["outside"], agreement
    assert agreement["observed"] < agreement["interval"][0]
    assert any("op move: agreement" in w for w in fixed.report["warnings"])
    assert "warning: op move: agreement" in fixed.stderr
    assert adapted.code in (0, 1) and adapted.report["adapted"]["move"] > 2, adapted.stderr
    assert adapted.report["calls"] > fixed.report["calls"]
    assert "--adapt: op move voted ahead by" in adapted.stderr

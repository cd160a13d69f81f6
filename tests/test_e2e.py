"""End to end: compile a sample, run the emitted program against the simulated LLM over HTTP.

Every random choice of the server is seeded by the seed and the call's key, so each run below
is reproducible; the parameters give plans whose predicted success is high, so a right
answer is the expected outcome, not a lucky one.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from aalp.api import compile as emit
from aalp.backends.base import write
from aalp.backends.emit import Compiled
from aalp.sim import Faults, SimCore, SimServer
from aalp.sim.harness import expected, make_input, run_program
from aalp.sim.oracles.hanoi import final_state

FAST = ["--fresh", "--backoff", "0.005"]


@contextmanager
def served(checked: Any, seed: int = 0, **faults: Any) -> Iterator[SimServer]:
    server = SimServer(SimCore(checked, seed=seed, faults=Faults(**faults))).start()
    try:
        yield server
    finally:
        server.stop()


def build(checked: Any, folder: Path, pins: tuple[str, ...] = ()) -> Compiled:
    compiled = emit(checked, pins=pins)
    write(compiled.files, str(folder))
    return compiled


def program_of(compiled: Compiled, folder: Path) -> Path:
    return folder / compiled.files[0].path


def test_hanoi_8_disks_is_solved_within_the_predicted_calls(tmp_path: Path, load_sample) -> None:
    checked = load_sample("hanoi", disks="8", p="0.985")
    compiled = build(checked, tmp_path)
    data = make_input(checked)
    with served(checked, seed=11) as server:
        run = run_program(program_of(compiled, tmp_path), server.url, tmp_path, data, FAST)
        stats = server.core.stats()
    assert run.returncode == 0, run.stderr
    assert final_state(run.result) == expected(checked, data) == [[], [], [8, 7, 6, 5, 4, 3, 2, 1]]
    low, high = compiled.view["prediction"]["calls_interval"]
    assert low <= run.report["calls"] <= high
    assert run.report["calls_in_interval"]
    assert stats["calls"] == run.report["calls"]  # every call the program counted was served
    assert run.report["calls_by_op"] == stats["by_op"]


CASES = {
    "counting": ({"target": "0.999"}, ()),
    "sorting": ({"q": "0.9999999", "target": "0.99"}, ()),
    "retrieval": ({"f": "0.00001", "target": "0.99"}, ()),
    "routing": ({"queries": "20"}, ()),
    "debugging": ({}, ("fix.retries=3",)),
    "evolution": ({}, ("mutate.retries=inf",)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_sample_returns_the_right_answer(name: str, tmp_path: Path, load_sample) -> None:
    defines, pins = CASES[name]
    checked = load_sample(name, **defines)
    compiled = build(checked, tmp_path, pins)
    if any(f.path == "checks.py" for f in compiled.files):  # the user's exact check
        (tmp_path / "checks.py").write_text(
            f"from aalp.sim.oracles.{name} import check as check_fix\ncheck_mutate = check_fix\n",
            encoding="utf-8",
        )
    data = make_input(checked, seed=2)
    with served(checked, seed=5) as server:
        run = run_program(program_of(compiled, tmp_path), server.url, tmp_path, data, FAST)
        served_calls = server.core.stats()["calls"]
    assert run.returncode == 0, run.stderr
    result = run.result
    if name == "evolution":
        result = [block for chunk in result for block in chunk["blocks"]]
    assert result == expected(checked, data)
    assert served_calls == run.report["calls"]
    low, high = compiled.view["prediction"]["calls_interval"]
    assert low <= run.report["calls"] <= high


def test_voting_draws_exactly_k_votes_per_question(tmp_path: Path, load_sample) -> None:
    checked = load_sample("voting")
    compiled = build(checked, tmp_path)
    votes = compiled.view["ops"]["answer"]["booster"]["votes"]
    with served(checked, seed=1) as server:
        run = run_program(
            program_of(compiled, tmp_path), server.url, tmp_path, make_input(checked), FAST
        )
    assert run.returncode == 0, run.stderr
    assert run.report["calls"] == votes and run.result[0] in ("A", "B", "C", "D")


def test_five_percent_http_500s_change_nothing_but_the_transport_count(
    tmp_path: Path, load_sample
) -> None:
    checked = load_sample("hanoi", disks="6", p="0.985")
    compiled = build(checked, tmp_path)
    data = make_input(checked)
    with served(checked, seed=3) as clean:
        quiet = run_program(program_of(compiled, tmp_path), clean.url, tmp_path, data, FAST)
    with served(checked, seed=3, fail_rate=0.05) as flaky:
        noisy = run_program(program_of(compiled, tmp_path), flaky.url, tmp_path, data, FAST)
        stats = flaky.core.stats()
    assert noisy.returncode == 0, noisy.stderr
    assert noisy.result == quiet.result
    assert final_state(noisy.result) == expected(checked, data)
    # the same calls of the plan; the failures were retried and counted apart
    assert noisy.report["calls"] == quiet.report["calls"] == stats["calls"]
    assert noisy.report["transport_errors"] == stats["faults"]["http_500"] > 0


def _journal_keys(path: Path) -> list[str]:
    keys = []
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        with contextlib.suppress(json.JSONDecodeError):  # the line the kill tore
            keys.append(json.loads(line)["key"])
    return keys


def test_a_killed_run_resumes_without_repeating_a_completed_call(
    tmp_path: Path, load_sample
) -> None:
    checked = load_sample("hanoi", disks="7", p="0.985")
    compiled = build(checked, tmp_path)
    program = program_of(compiled, tmp_path)
    data = make_input(checked)
    (tmp_path / "input.json").write_text(json.dumps(data), encoding="utf-8")
    journal = tmp_path / "hanoi.journal"
    reference_dir = tmp_path / "reference"
    reference_dir.mkdir()
    with served(checked, seed=8) as server:
        reference = run_program(program, server.url, reference_dir, data, FAST)
        reference_keys = set(server.core.stats()["keys"])

    with served(checked, seed=8, delay_ms=4) as server:
        args = [sys.executable, str(program), "--base-url", server.url, "--progress", "off"]
        args += ["--input", str(tmp_path / "input.json"), "--journal", str(journal)]
        env = {**os.environ, "AALP_API_KEY": "sim"}
        proc = subprocess.Popen(
            args, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and proc.poll() is None:
                if journal.exists() and len(_journal_keys(journal)) >= 120:
                    break
                time.sleep(0.02)
            assert proc.poll() is None, "the run ended before it could be killed"
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait(timeout=10)
        done_before = _journal_keys(journal)
        served_before = len(server.core.stats()["keys"])
        assert len(done_before) < reference.report["calls"]
        server.core.reset()
        resumed = run_program(program, server.url, tmp_path, data, ["--journal", str(journal)])
        served_after = server.core.stats()["keys"]

    assert resumed.returncode == 0, resumed.stderr
    assert resumed.result == reference.result
    assert final_state(resumed.result) == expected(checked, data)
    # nothing journaled was asked again; together the two runs made the reference's calls
    assert not set(done_before) & set(served_after)
    assert set(done_before) | set(served_after) == reference_keys
    assert resumed.report["replayed"] == len(done_before)
    assert resumed.report["calls_this_run"] == len(served_after)
    assert resumed.report["calls"] == reference.report["calls"]
    assert served_before - len(done_before) <= 16  # at most the calls in flight were lost


@pytest.mark.parametrize("kind", ["truncated", "empty_object", "list", "no_choices", "no_content"])
def test_http_200s_without_an_answer_are_retried_and_are_not_calls(
    kind: str, tmp_path: Path, load_sample
) -> None:
    checked = load_sample("counting", n="2000", target="0.999")
    compiled = build(checked, tmp_path)
    data = make_input(checked, seed=4)
    with served(checked, seed=2) as clean:
        quiet = run_program(program_of(compiled, tmp_path), clean.url, tmp_path, data, FAST)
    with served(checked, seed=2, broken_rate=0.3, broken_kinds=(kind,)) as broken:
        noisy = run_program(program_of(compiled, tmp_path), broken.url, tmp_path, data, FAST)
        stats = broken.core.stats()
    assert noisy.returncode == 0, noisy.stderr
    assert noisy.result == quiet.result == expected(checked, data)
    assert noisy.report["calls"] == quiet.report["calls"] == stats["calls"]
    assert noisy.report["flagged"] == quiet.report["flagged"]  # never a vote, never a red flag
    assert noisy.report["malformed_responses"] == stats["faults"]["broken_response"] > 0
    assert noisy.report["transport_errors"] == 0


def test_garbled_answers_are_red_flags_and_the_count_stays_exact(
    tmp_path: Path, load_sample
) -> None:
    """Counting declares no red flag; a garbled count used to be a vote (and the sum skipped
    it), so 10% garbled answers gave a wrong total with exit status 0."""
    checked = load_sample("counting", n="20000", target="0.999")
    compiled = build(checked, tmp_path)
    data = make_input(checked, seed=6)
    with served(checked, seed=6, malformed_rate=0.1) as server:
        run = run_program(program_of(compiled, tmp_path), server.url, tmp_path, data, FAST)
        stats = server.core.stats()
    assert run.returncode == 0, run.stderr
    assert run.result == expected(checked, data)
    assert run.report["flagged"] == stats["faults"]["malformed"] > 0
    assert run.report["calls"] == stats["calls"]


COUNT_AS_TEXT = (Path(__file__).parent.parent / "samples" / "counting.aalp").read_text()


def test_a_text_op_feeding_a_sum_is_read_as_numbers(tmp_path: Path) -> None:
    from aalp.checks.loader import load_text

    text = COUNT_AS_TEXT.replace("    answer number\n", "")  # the default: answer text
    assert text != COUNT_AS_TEXT
    checked = load_text(text, "counting.aalp", {"n": "2000", "target": "0.999"})
    compiled = build(checked, tmp_path)
    data = make_input(checked, seed=3)
    with served(checked, seed=3) as server:
        run = run_program(program_of(compiled, tmp_path), server.url, tmp_path, data, FAST)
    assert run.returncode == 0, run.stderr
    assert run.result == expected(checked, data)


UNSORTED = """
model m { size 1 context 128k price in 0.15 out 0.60 per Mtok can sort }
task sorting {
  items numbers = 40 of 3 tokens
  op sort(x of numbers) on m {
    reads 200 + 3*x tokens writes 3*x tokens success 0.3
    prompt "Sort the JSON list of numbers." answer list
  }
  map sort over numbers
  combine merge
}
"""


def test_a_value_a_combine_cannot_use_stops_the_run_in_one_line(tmp_path: Path) -> None:
    from aalp.checks.loader import load_text

    checked = load_text(UNSORTED, "sorting.aalp")
    compiled = emit(checked, decisions={"sort.x": 10, "sort.model": "m", "sort.vote": "none"})
    write(compiled.files, str(tmp_path))
    data = make_input(checked, seed=1)
    with served(checked, seed=1) as server:
        run = run_program(program_of(compiled, tmp_path), server.url, tmp_path, data, FAST)
    assert run.returncode == 1 and run.result is None
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith("error: combine merge needs sorted lists, but op 'sort' answered [")
    assert line.rstrip().split(" for chunk ")[1] in {"0", "1", "2", "3"}


def test_a_request_the_endpoint_refuses_is_one_line(tmp_path: Path, load_sample) -> None:
    checked = load_sample("counting", n="200")
    compiled = build(checked, tmp_path)
    with served(checked) as server:
        run = run_program(
            program_of(compiled, tmp_path),
            server.url,
            tmp_path,
            make_input(checked),
            [*FAST, "--model-map", "gpt4omini=gpt5"],
        )
    assert run.returncode == 1
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith("error: the endpoint refused a request: count: ") and "gpt5" in line

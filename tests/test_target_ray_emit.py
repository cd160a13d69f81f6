"""The ray target without Ray: every sample's program equals its golden, compiles, is
ruff-clean and byte-identical across emissions, and compiling imports no Ray; a program run
with input it cannot use stops with one line before it imports Ray."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import regen_golden
from aalp.api import compile as emit
from aalp.backends.base import write
from test_backend import ruff_clean


@pytest.mark.parametrize("sample", regen_golden.samples(), ids=lambda p: p.stem)
def test_emitted_files_equal_goldens(sample: Path) -> None:
    files = regen_golden.render("ray", sample)
    assert files == regen_golden.render("ray", sample)  # deterministic
    folder = regen_golden.golden_dir("ray", sample)
    golden = {p.name: p.read_text(encoding="utf-8") for p in folder.glob("*")}
    assert files == golden, "emitted code changed: review and run python tests/regen_golden.py"
    for name, text in files.items():
        if name != regen_golden.REFUSED:
            compile(text, name, "exec")
    assert "ray" not in sys.modules  # compiling imports no Ray


def test_golden_files_are_ruff_clean() -> None:
    ruff_clean(regen_golden.GOLDEN / "ray")


@pytest.fixture
def program(tmp_path: Path, load_sample) -> Path:
    compiled = emit(load_sample("counting", n="400"), "ray")
    write(compiled.files, str(tmp_path))
    return tmp_path / compiled.files[0].path


def _run(program: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # the test environment's python: it may have no Ray, and none is needed to refuse
    return subprocess.run(
        [sys.executable, str(program), "--progress", "off", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=program.parent,
    )


def test_unusable_input_stops_with_one_line_before_ray_starts(program: Path) -> None:
    folder = program.parent
    (folder / "bad.json").write_text("[1, 2]", encoding="utf-8")
    done = _run(program, "--input", str(folder / "bad.json"))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip() == "error: --input must hold a JSON object keyed by data name"
    done = _run(program, "--concurrency", "0")
    assert done.returncode == 2 and "--concurrency and --task-cpus must be positive" in done.stderr


def test_a_damaged_or_foreign_run_directory_is_refused(program: Path) -> None:
    folder = program.parent
    (folder / "in.json").write_text(json.dumps({"digits": "7" * 400}), encoding="utf-8")
    run = folder / "run"
    (run / "calls" / "ab").mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"identity": "another plan"}), encoding="utf-8")
    done = _run(program, "--input", str(folder / "in.json"), "--run-dir", str(run))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "belongs to another plan or input" in done.stderr
    (run / "run.json").unlink()
    (run / "calls" / "ab" / "torn.json").write_text('{"key": ', encoding="utf-8")
    done = _run(program, "--input", str(folder / "in.json"), "--run-dir", str(run))
    assert done.returncode == 1 and "is damaged at" in done.stderr and "torn.json" in done.stderr
    (run / "calls" / "ab" / "torn.json").unlink()
    (run / "calls" / "ab" / "x.json.1-2.tmp").write_text('{"key": ', encoding="utf-8")
    (folder / "file").write_text("", encoding="utf-8")
    done = _run(program, "--input", str(folder / "in.json"), "--run-dir", str(folder / "file"))
    assert done.returncode == 1 and "is not a directory" in done.stderr


def test_a_dry_run_prints_the_projection_before_ray_starts(program: Path, load_sample) -> None:
    """``--dry-run`` needs no Ray (the test environment may have none) and makes no call."""
    done = _run(program, "--dry-run", "--tokens-per-second", "100")
    assert done.returncode == 0, done.stderr
    assert not (program.parent / "counting.ray").exists()
    assert "nothing was called" in done.stdout.splitlines()[0]
    lines = dict(line.split(None, 1) for line in done.stdout.splitlines()[1:])
    predicted = emit(load_sample("counting", n="400"), "ray").view["prediction"]
    assert float(lines["calls"].split()[0]) == pytest.approx(predicted["calls"], rel=1e-5)
    assert float(lines["dollars"]) == pytest.approx(predicted["dollars"], rel=1e-5)
    seconds = predicted["latency"] / 100 + predicted["latency_calls"] * 0.5
    assert float(lines["seconds"].split()[0]) == pytest.approx(seconds, rel=1e-5)
    done = _run(program, "--dry-run", "--tokens-per-second", "0")
    assert done.returncode == 2 and "expected a number above 0" in done.stderr

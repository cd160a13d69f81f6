"""``aalp calibrate --from-run``: a run's report as counts that refine the estimates."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest
from aalp.calibration import schema
from aalp.calibration.apply import apply
from aalp.calibration.estimates import interval
from aalp.cli import main
from aalp.sim import SimCore, SimServer
from test_run_contract import HANOI, _program

SAMPLE = Path(__file__).parent.parent / "samples" / "hanoi.aalp"


def test_a_run_report_becomes_a_calibration(load_sample, tmp_path: Path, capsys) -> None:
    checked = load_sample("hanoi", disks="5", p="0.9")
    module = _program(tmp_path, checked, HANOI, "from_run_hanoi")
    with SimServer(SimCore(checked, seed=3)) as server:
        argv = ["--base-url", server.url, "--input", str(tmp_path / "input.json")]
        argv += ["--journal", str(tmp_path / "run.journal"), "--progress", "off"]
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            assert module.main([*argv, "--no-fsync", "--backoff", "0"]) in (0, None)
    report = json.loads((tmp_path / "run-report.json").read_text(encoding="utf-8"))
    counts = report["ops"]["move"]
    assert counts["calls"] == report["calls"] and counts["x"] == 1 and counts["decisions"] == 31
    out = tmp_path / "cal.json"
    with pytest.raises(SystemExit) as stop:
        main(
            [
                "calibrate",
                str(SAMPLE),
                "-D",
                "disks=5",
                "--from-run",
                str(tmp_path / "run-report.json"),
                "-o",
                str(out),
            ]
        )
    assert stop.value.code == 0, capsys.readouterr().err
    cal = schema.read(out)
    point = cal.ops["move"].models["gpt41mini"].points[0]
    assert (point.kept, point.right) == (counts["decisions"], counts["agreed"])
    low, high = interval(point.right, point.kept, 0.99)
    assert low <= 0.9 <= high  # the first samples are right as often as the simulator's p
    assert point.prompt_tokens / point.samples == pytest.approx(600)
    # added to a calibration, the run's counts join the earlier point at the same x
    again = tmp_path / "again.json"
    with pytest.raises(SystemExit) as stop:
        main(
            [
                "calibrate",
                str(SAMPLE),
                "-D",
                "disks=5",
                "--from-run",
                str(tmp_path / "run-report.json"),
                "--add-to",
                str(out),
                "-o",
                str(again),
            ]
        )
    assert stop.value.code == 0
    merged = schema.read(again).ops["move"].models["gpt41mini"].points[0]
    assert merged.kept == 2 * point.kept
    assert apply(load_sample("hanoi", disks="5"), cal).estimates["move"]["gpt41mini"].samples

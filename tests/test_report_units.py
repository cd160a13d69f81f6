"""Every number a report or a graph prints says its unit and what it includes, and text
output uses the terminal's width without ever cutting or breaking a number."""

from __future__ import annotations

import importlib.util
import io
import re
import sys
from pathlib import Path

import pytest
from aalp.cli import main
from aalp.cli.common import terminal_width

ROOT = Path(__file__).resolve().parent.parent
HANOI = str(ROOT / "samples" / "hanoi.aalp")


def _run(capsys, *args: str) -> str:
    with pytest.raises(SystemExit):
        main(list(args))
    return capsys.readouterr().out


def test_explain_labels_units_and_what_the_counts_include(capsys, monkeypatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    out = _run(capsys, "explain", HANOI, "--no-growth")
    assert out.startswith("task hanoi: minimize dollars = $3,512\n")
    assert re.search(r"chain move over s: 1,048,575 steps, 3\.19e\+06 calls in all", out)
    assert "1,048,575 decisions × 3.042 samples" in out and "writes 538 tokens" in out
    assert "dollars $3,512 (100% of the plan's cost)" in out
    for label in ("dollars ($)", "cost (m·tokens)", "latency (forward passes)", "calls"):
        assert label in out
    assert "(calls (in all) and tokens count every vote sample" in out
    assert "…" not in out  # no cell is cut short
    table = out[out.index("totals") : out.index("(calls (in all)")]
    assert "1,490,659,019,680" in table  # whole, on one line, although wider than 80 columns
    assert any(len(line) > 80 for line in table.splitlines())


def test_text_follows_the_terminal_and_columns(capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    wide = _run(capsys, "explain", HANOI, "--no-growth")
    first = wide.splitlines()[1]
    assert first.endswith("success 0.991596") and len(first) > 80  # one line, not wrapped
    assert terminal_width() == 200
    monkeypatch.delenv("COLUMNS")
    assert terminal_width() == 80
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(
        "shutil.get_terminal_size", lambda fallback: type("S", (), {"columns": 160})()
    )
    assert terminal_width() == 160


def test_graph_labels_the_objective_with_its_unit(capsys) -> None:
    mermaid = _run(capsys, "graph", HANOI, "--format", "mermaid")
    assert "dollars $3512" in mermaid and "calls (votes and retries included)" in mermaid
    assert "cost " not in mermaid
    dot = _run(capsys, "graph", HANOI, "--objective", "cost")
    assert "m·tokens" in dot


def test_the_run_report_says_an_uncalled_op_is_predicted_zero(tmp_path) -> None:
    program = ROOT / "tests" / "golden" / "python" / "routing" / "run_routing.py"
    spec = importlib.util.spec_from_file_location("run_routing_golden", program)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    prediction = dict(module.PREDICTION)
    report = {
        "prediction": prediction,
        "calls_in_interval": True,
        "calls": 3,
        "replayed": 0,
        "flagged": 0,
        "tokens": 10,
        "forward_passes": 5,
        "dollars": 0.1,
        "cost": 7,
        "transport_errors": 0,
        "malformed_responses": 0,
        "exhausted_retries": 0,
        "calls_by_op": {"never_called": 0, **{op: 1 for op in prediction["calls_by_op"]}},
        "warnings": [],
    }
    out = io.StringIO()
    module.print_report(report, out)
    text = out.getvalue()
    assert "None" not in text
    assert re.search(r"never_called\s+0 calls   predicted 0 \(the plan never calls it\)", text)
    assert "calls by op (every vote sample, resample and retry included):" in text

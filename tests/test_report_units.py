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
    words = " ".join(out.split())
    assert (
        "chain move over s: 1,048,575 steps, 3.19e+06 calls (votes, resamples, retries, "
        "classifiers and verifiers included), x = 1" in words
    )
    assert "1,048,575 decisions × 3.042 samples" in out and "writes 538 tokens" in out
    assert "dollars $3,512 (100% of the plan's dollars)" in out
    for label in ("dollars ($)", "cost (m·tokens)", "latency (forward passes)", "calls"):
        assert label in out
    assert "(calls and tokens count every vote sample" in out
    assert "…" not in out  # no cell is cut short
    table = out[out.index("totals") : out.index("(calls and tokens")]
    assert "1,490,659,019,680" in table  # whole, on one line, although wider than 80 columns
    assert any(len(line) > 80 for line in table.splitlines())


def test_each_ops_share_is_of_the_objective(capsys, monkeypatch) -> None:
    """Invoices minimizes dollars: each op's share is of the plan's dollars (the extraction's
    $205 and the verifier's $170.9 of $375.9), not of its m·tokens cost."""
    monkeypatch.delenv("COLUMNS", raising=False)
    out = " ".join(_run(capsys, "explain", str(ROOT / "samples" / "invoices.aalp")).split())
    shares = [float(s) for s in re.findall(r"\(([0-9.]+)% of the plan's dollars\)", out)]
    assert len(shares) == 2 and sum(shares) == pytest.approx(100, abs=0.02)
    assert shares[0] == pytest.approx(100 * 205 / 375.9, abs=0.05)


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


def _tree_nodes(text: str) -> tuple[list[str], list[str]]:
    """The plan tree's lines, and its nodes with their continuation lines joined."""
    lines = text[: text.index("totals")].splitlines()
    nodes: list[str] = []
    for line in lines:
        body = line.lstrip(" │")
        if nodes and not body.startswith(("├── ", "└── ")) and line != lines[0]:
            nodes[-1] += " " + body
        else:
            nodes.append(body.removeprefix("├── ").removeprefix("└── "))
    return lines, nodes


@pytest.mark.parametrize("sample", ["hanoi", "debugging", "routing"])
def test_the_tree_breaks_between_phrases_only(capsys, monkeypatch, sample) -> None:
    spec = str(ROOT / "samples" / f"{sample}.aalp")
    monkeypatch.setenv("COLUMNS", "200")
    wide_lines, wide = _tree_nodes(_run(capsys, "explain", spec, "--no-growth"))
    assert len(wide_lines) == len(wide)  # at 200 columns every node is one line
    monkeypatch.setenv("COLUMNS", "60")
    narrow_lines, narrow = _tree_nodes(_run(capsys, "explain", spec, "--no-growth"))
    assert narrow == wide and len(narrow_lines) > len(wide)  # folded, the same words
    assert all(len(line) <= 60 for line in narrow_lines), narrow_lines
    # a value never leaves its name or unit, nor breaks at its own space
    whole = re.compile(
        r"history \w+|success per decision \S+( - \S+)?|success [0-9.]+( - \S+)?|x = \d+"
        r"|[\d,.e+]+ decisions? × [\d.]+ samples?|[\d,.e+]+ calls|writes [\d,]+ tokens"
    )
    for phrase in {m.group(0) for node in wide for m in whole.finditer(node)}:
        assert any(phrase in line for line in narrow_lines), (phrase, narrow_lines)


def test_a_phrase_wider_than_the_terminal_widens_the_tree(capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "20")
    lines, _ = _tree_nodes(_run(capsys, "explain", HANOI, "--no-growth"))
    assert "        1,048,575 decisions × 3.042 samples," in lines
    assert "…" not in "".join(lines)


def test_graph_labels_the_objective_with_its_unit(capsys) -> None:
    mermaid = _run(capsys, "graph", HANOI, "--format", "mermaid")
    assert "dollars $3512" in mermaid and "calls (votes and retries included)" in mermaid
    assert "cost " not in mermaid
    dot = _run(capsys, "graph", HANOI, "--objective", "cost")
    assert "m·tokens" in dot


def _program(target: str, tmp_path: Path):
    """The routing sample's program for ``target``, imported (neither needs its framework to
    import: openai and ray are imported when a run starts)."""
    from aalp.api import compile as emit
    from aalp.checks.loader import load

    compiled = emit(load(ROOT / "samples" / "routing.aalp", {}), target)
    for item in compiled.files:
        (tmp_path / item.path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / item.path).write_text(item.text, encoding="utf-8")
    main = next(f.path for f in compiled.files if f.path.endswith("routing.py"))
    spec = importlib.util.spec_from_file_location(f"routing_{target}", tmp_path / main)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("target", ["python", "ray"])
def test_the_run_report_labels_units_and_an_uncalled_op(tmp_path, target) -> None:
    module = _program(target, tmp_path)
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
        "nodes": {},
        "calls_by_node": {},
    }
    out = io.StringIO()
    module.print_report(report, out)
    text = out.getvalue()
    assert "None" not in text
    assert re.search(r"never_called\s+0 calls   predicted 0 \(the plan never calls it\)", text)
    assert "calls by op (every vote sample, resample and retry included):" in text
    assert "every vote sample, resample and retry included: 0 replayed" in text
    assert re.search(r"dollars \(\$\)\s+0\.1   predicted", text)
    assert re.search(r"cost \(m\*tokens\)\s+7   predicted", text)
    success = prediction["success"]
    assert re.search(rf"success\s+predicted\s+{success:.6g} \(probability\)", text)
    text.encode("ascii")  # a program's report prints on any terminal


def test_the_program_header_labels_its_prediction() -> None:
    header = (ROOT / "tests" / "golden" / "python" / "hanoi" / "run_hanoi.py").read_text()
    head = header[header.index("# Prediction for one run") : header.index("# Assumptions:")]
    for label in ("success (probability)", "dollars ($)", "cost (m·tokens)"):
        assert f"#   {label} " in head
    assert "latency (forward passes)" in head and "(the critical path)" in head
    assert "calls and tokens count every vote sample, resample, retry" in head


def test_simulate_labels_its_rows_with_units(capsys) -> None:
    out = _run(capsys, "simulate", HANOI, "-D", "disks=4", "--runs", "20")
    rows = {line.split("  ")[0] for line in out.splitlines()}
    assert {"success (probability)", "dollars ($)", "cost (m·tokens)"} <= rows
    assert {"latency (forward passes)", "latency_calls (calls)", "calls"} <= rows
    assert "(calls and tokens count every vote sample" in out

"""``aalp explain`` on a narrow terminal: every line breaks between phrases, so a value
(``1 - 8.05e-09``, ``18,446,744,073,709,551,615``, ``success >= 0.95``, ``Θ(s·log s)``)
is never split at its own space nor inside a number; the width is the terminal's or
``COLUMNS``, and piped output is the same bytes run after run."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from aalp.cli import main

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"

#: (sample, -D defines): the report's every kind of line (64 disks: counts of 20 digits)
CASES = [
    ("hanoi", {}),
    ("hanoi", {"disks": "64"}),
    ("research_agent", {}),
    ("sorting", {}),
    ("retrieval", {}),
    ("long_context", {}),
    ("debugging", {}),
]

NUMBER = r"(?<![\w.*/^()])-?\d[\d,.]*(?:e[+-]\d+)?(?![\w.*/^(])"
#: the values that must stay whole: grouped numbers, numbers joined by an operator
#: (``1 - 8.05e-09``, ``600 + 5.64e+08 = 5.64e+08``), a name or bound and its value
#: (``x = 1``, ``success >= 0.95``) and growth classes
VALUES = re.compile(
    rf"\d{{1,3}}(?:,\d{{3}})+"
    rf"|{NUMBER}(?: [-+=×] {NUMBER})+"
    rf"|(?<![\w.*/^()])[a-z_.]+ (?:=|>=|<=) {NUMBER}"
    r"|Θ\([^)]*\)"
)


@cache
def _report(sample: str, defines: tuple[tuple[str, str], ...]):
    from aalp.api import explain
    from aalp.checks.loader import load

    return explain(load(SAMPLES / f"{sample}.aalp", dict(defines)))


def _values(text: str) -> set[str]:
    return {m.group(0) for m in VALUES.finditer(text)}


@pytest.mark.parametrize("width", [40, 60, 80])
@pytest.mark.parametrize(("sample", "defines"), CASES, ids=[f"{s}{d}" for s, d in CASES])
def test_no_value_is_split_on_a_narrow_terminal(sample, defines, width) -> None:
    from aalp.explainer.render import render_text

    rep = _report(sample, tuple(defines.items()))
    wide = render_text(rep, 1000)
    narrow = render_text(rep, width)
    assert _words(narrow) == _words(wide)  # the same words, folded
    lines = narrow.splitlines()
    values = _values(wide)
    assert values, wide
    split = [v for v in sorted(values) if not any(v in line for line in lines)]
    assert not split, (split, narrow)
    assert "…" not in narrow
    # a prose line is folded in the width, unless one value is wider than it
    for line in lines:
        if len(line.rstrip()) > width and not line.startswith((" ", "│", "├", "└")):
            assert max(len(p) for p in _phrases(line)) > width, (line, width)


def _words(text: str) -> list[str]:
    """The words of ``text``, without the tree's guides (a folded node's lines have them)."""
    return [w for w in text.split() if w != "│"]


def _phrases(line: str) -> list[str]:
    from aalp.explainer.words import formula_phrases, phrases_of

    return [*phrases_of(line), *formula_phrases(line)]


def test_the_values_the_issue_named_stay_whole() -> None:
    from aalp.explainer.render import render_text

    narrow = render_text(_report("hanoi", ()), 40).splitlines()
    assert any("success per decision 1 - 8.05e-09" in line for line in narrow)
    assert any(line.startswith("600 + 5.64133e+08 = 5.64134e+08") for line in narrow)
    assert "Θ(s·log s)" in narrow
    huge = render_text(_report("hanoi", (("disks", "64"),)), 40)
    assert "move.x = 18446744073709551616 is outside" in huge.splitlines()


def test_a_line_that_fits_is_unchanged() -> None:
    """At a width where a line fits, it is printed as it is, byte for byte."""
    from aalp.explainer.render import render_text

    wide = render_text(_report("hanoi", ()), 1000)
    at_80 = render_text(_report("hanoi", ()), 80).splitlines()
    short = [line for line in wide.splitlines() if len(line) <= 80 and line.strip()]
    assert short and all(line in at_80 for line in short)


def _explain(capsys, monkeypatch, columns: str | None) -> str:
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    with pytest.raises(SystemExit):
        main(["explain", str(SAMPLES / "hanoi.aalp")])
    return capsys.readouterr().out


def test_piped_output_follows_columns_and_is_deterministic(capsys, monkeypatch) -> None:
    from aalp.explainer.render import render_text

    at_60 = _explain(capsys, monkeypatch, "60")
    assert at_60 == _explain(capsys, monkeypatch, "60")  # the same bytes, run after run
    assert at_60 == render_text(_report("hanoi", ()), 60)
    tree = at_60[: at_60.index("totals")].splitlines()
    assert all(len(line) <= 60 for line in tree) and len(tree) > 4
    default = _explain(capsys, monkeypatch, None)
    assert default == render_text(_report("hanoi", ()), 80)  # a pipe without COLUMNS: 80
    assert _explain(capsys, monkeypatch, "40") != at_60

"""Golden diagnostics: every bad spec under tests/golden/diagnostics/ renders exactly as its
``.expected`` file, and its diagnostics have the codes and positions its ``# expect:`` lines
state (written by hand, so regenerating the rendered text cannot silently change them).

Regenerate the rendered text after a deliberate change with ``AALP_REGEN_GOLDEN=1 pytest
tests/test_diagnostics_golden.py`` and review the diff.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from aalp.checks.loader import load
from aalp.diagnostics import Diagnostic, SpecError, render_all, sort_key

GOLDEN = Path(__file__).parent / "golden" / "diagnostics"
CASES = sorted(GOLDEN.glob("*.aalp"))
REGEN = os.environ.get("AALP_REGEN_GOLDEN") == "1"
EXPECT = re.compile(r"^# expect: ([EWN]\d{3}) at (\d+):(\d+)$")


def diagnose(path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Diagnostic]:
    # run from the golden directory so file names in the output are just "NAME.aalp"
    monkeypatch.chdir(path.parent)
    try:
        diagnostics = list(load(path.name).diagnostics)
    except SpecError as err:
        diagnostics = list(err.diagnostics)
    return sorted(diagnostics, key=sort_key)


def expectations(text: str) -> list[tuple[str, int, int]]:
    out = []
    for line in text.splitlines():
        m = EXPECT.match(line)
        if m:
            out.append((m.group(1), int(m.group(2)), int(m.group(3))))
    return out


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_golden_rendering(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = path.read_text(encoding="utf-8")
    diagnostics = diagnose(path, monkeypatch)
    rendered = render_all(diagnostics, text) + "\n"
    expected = path.with_suffix(".expected")
    if REGEN:
        expected.write_text(rendered, encoding="utf-8")
    assert rendered == expected.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_golden_fields(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = path.read_text(encoding="utf-8")
    diagnostics = diagnose(path, monkeypatch)
    got = [(d.code, d.line, d.col) for d in diagnostics]
    assert got == expectations(text)
    for d in diagnostics:
        assert d.span.file == path.name
        assert d.message
        if not d.code.startswith("E0"):  # the checker's and loader's diagnostics all hint
            assert d.hint, f"{d.code} needs a hint"


def test_goldens_are_many_and_distinct() -> None:
    assert len(CASES) >= 30
    codes = {code for p in CASES for code, _, _ in expectations(p.read_text(encoding="utf-8"))}
    assert len(codes) >= 25, sorted(codes)
    for path in CASES:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# ") and len(first) > 20, f"{path.name}: describe the case first"
        assert path.with_suffix(".expected").exists() or REGEN

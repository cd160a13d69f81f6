"""docs/diagnostics.md against the code: every code in ``aalp.codes`` is documented under its
name, no code is written as a raw string anywhere else in ``compiler/`` and ``backends/``, and
every documented example, run as the page says (``aalp check example.aalp`` and the like, or
its Python), prints exactly the output shown, with its code.

Regenerate the outputs after a deliberate change with ``AALP_REGEN_GOLDEN=1 pytest
tests/test_diagnostics_docs.py`` and review the diff.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aalp import codes
from aalp.cli import main
from aalp.diagnostics import AalpError, render_all

ROOT = Path(__file__).parent.parent
DOC = ROOT / "docs" / "diagnostics.md"
REGEN = os.environ.get("AALP_REGEN_GOLDEN") == "1"
CODE = re.compile(r"[EWNX]\d{3}")
HEADING = re.compile(r"^### ([EWNX]\d{3}) ([A-Z_0-9]+): ")
RAW = re.compile(r"""(["'])[EWNX]\d{3}\1""")
# codes no short example can give: a bug in aalp, and the explorer's time limit
NO_EXAMPLE = {codes.INTERNAL_ERROR, codes.TOO_SLOW}

CODES = {
    value: name
    for name, value in vars(codes).items()
    if isinstance(value, str) and CODE.fullmatch(value)
}


@dataclass
class Block:
    lang: str
    start: int  # index of the first line of the body
    lines: list[str]


@dataclass
class Section:
    code: str
    name: str
    blocks: list[Block] = field(default_factory=list)


def sections(lines: list[str]) -> dict[str, Section]:
    out: dict[str, Section] = {}
    current: Section | None = None
    i = 0
    while i < len(lines):
        m = HEADING.match(lines[i])
        if lines[i].startswith("#"):
            current = None
        if m:
            current = out.setdefault(m.group(1), Section(m.group(1), m.group(2)))
        elif lines[i].startswith("```") and lines[i] != "```":
            lang, end = lines[i][3:], lines.index("```", i + 1)
            if current is not None:
                current.blocks.append(Block(lang, i + 1, lines[i + 1 : end]))
            i = end
        i += 1
    return out


LINES = DOC.read_text(encoding="utf-8").splitlines()
SECTIONS = sections(LINES)


def test_every_code_is_documented_under_its_name() -> None:
    assert sorted(SECTIONS) == sorted(CODES)
    assert {c: s.name for c, s in SECTIONS.items()} == CODES


def test_codes_are_never_raw_strings_outside_codes_py() -> None:
    found = []
    for folder in ("compiler", "backends"):
        for path in sorted((ROOT / folder).rglob("*")):
            if not path.is_file() or "vendor" in path.parts or path.suffix in (".pyc", ".png"):
                continue
            if path == ROOT / "compiler" / "codes.py":
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            for n, line in enumerate(text.splitlines(), 1):
                if RAW.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert found == []


def _run_console(block: Block, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """Run each ``$ aalp ...`` line of ``block``; the block with the real outputs."""
    out: list[str] = []
    for line in block.lines:
        if not line.startswith("$ "):
            continue
        argv = shlex.split(line[2:])
        assert argv[0] == "aalp", line
        with pytest.raises(SystemExit):
            main(argv[1:])
        got = capsys.readouterr()
        out += [line, *_tidy(got.err + got.out)]
    return out


def _run_python(block: Block, capsys: pytest.CaptureFixture[str], source: str | None) -> str:
    try:
        exec(compile("\n".join(block.lines), "example", "exec"), {"__name__": "example"})
    except AalpError as err:
        print(render_all(err.diagnostics, source))
    return capsys.readouterr().out


def _tidy(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


EXAMPLES = sorted(c for c in SECTIONS if c not in NO_EXAMPLE)


@pytest.mark.parametrize("code", EXAMPLES)
def test_each_example_gives_its_code(
    code: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    section = SECTIONS[code]
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AALP_DEBUG", raising=False)
    source = None
    runs: list[tuple[Block, list[str]]] = []
    blocks = section.blocks
    for i, block in enumerate(blocks):
        if block.lang == "aalp":
            source = "\n".join(block.lines) + "\n"
            (tmp_path / "example.aalp").write_text(source, encoding="utf-8")
        elif block.lang == "console":
            runs.append((block, _run_console(block, capsys)))
        elif block.lang == "python":
            expected = blocks[i + 1]
            assert expected.lang == "text", f"{code}: a Python example needs a text block after it"
            runs.append((expected, _tidy(_run_python(block, capsys, source))))
    assert runs, f"{code} has no example"
    if REGEN:
        _rewrite(code, [(blocks.index(block), got) for block, got in runs])
    for block, got in runs:
        assert f"[{code}]" in "\n".join(got), f"{code}: the example does not give its code"
        assert REGEN or got == block.lines


def _rewrite(code: str, outputs: list[tuple[int, list[str]]]) -> None:
    """Put the real outputs in blocks of ``code``'s section (by their index in it), on the
    document as it is now (the sections rewritten before may have moved it; run without -n)."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    for index, got in sorted(outputs, reverse=True):
        block = sections(lines)[code].blocks[index]
        lines[block.start : block.start + len(block.lines)] = got
    DOC.write_text("\n".join(lines) + "\n", encoding="utf-8")

"""Where a command's inputs come from: a spec path or ``-`` (standard input), and decisions
given as a file, ``-`` or JSON text.

Standard input can be read once; a command given ``-`` twice (``explain - --decisions -``) is
told so instead of waiting for a second input that never comes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

STDIN = "-"
STDIN_NAME = "<stdin>"

_read: dict[str, str] = {}


def is_stdin(file: str | Path | None) -> bool:
    """True when ``file`` is ``-``: read the input from standard input."""
    return file is not None and str(file) == STDIN


def stdin_text(what: str) -> str:
    """Standard input's text, read once; ``what`` names the input it was read for. A second
    reader of it is a usage error."""
    if "what" in _read:
        if _read["what"] != what:
            raise click.UsageError(
                f"standard input ('-') was already read as the {_read['what']}: "
                f"give the {what} as a file"
            )
        return _read["text"]
    data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read()
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as err:
        raise click.UsageError(
            f"standard input is not UTF-8 text (byte {err.start} is not valid)"
        ) from None
    _read.update(what=what, text=text)
    return text


def forget_stdin() -> None:
    """Forget what standard input held (one command run per process, but tests run many)."""
    _read.clear()


def display_name(file: str | Path) -> str:
    """How diagnostics name the spec: its path, or ``<stdin>``."""
    return STDIN_NAME if is_stdin(file) else str(file)


def spec_text(file: str | Path) -> str:
    """The spec's text from its path or standard input; ``SpecError`` (E090) when the file
    cannot be read."""
    from aalp.checks.loader import read_source

    return stdin_text("spec") if is_stdin(file) else read_source(file)


def load_spec(file: str | Path, overrides: dict[str, str]) -> Any:
    """Read, parse and check the spec at ``file`` (``-``: standard input, whose prompt files
    are looked up in the current directory)."""
    from aalp.checks.loader import load, load_text

    if not is_stdin(file):
        return load(file, overrides)
    return load_text(spec_text(file), STDIN_NAME, overrides, prompt_dir=Path.cwd())


def read_decisions(value: str | None) -> dict[str, Any] | None:
    """``--decisions`` as a dict: JSON text (``{"move.x": 1}``), ``-`` (JSON on standard
    input), or the path of a JSON file (``@FILE`` is accepted too). ``click.BadParameter`` when
    it is none of them or not a JSON object."""
    if value is None:
        return None
    hint = "'--decisions'"
    text, where = value, "the JSON given"
    if is_stdin(value):
        text, where = stdin_text("decisions"), "standard input"
    elif not value.lstrip().startswith("{"):
        from aalp.checks.loader import FileProblem, read_text_file

        path = value.removeprefix("@")
        try:
            text, where = read_text_file(path), path
        except FileProblem as err:
            raise click.BadParameter(
                f"cannot read {path}: {err.problem} (give a JSON file, '-' for standard "
                "input, or the JSON itself: '{\"move.x\": 1}')",
                param_hint=hint,
            ) from None
    try:
        decisions = json.loads(text)
    except json.JSONDecodeError as err:
        raise click.BadParameter(f"{where} is not JSON: {err}", param_hint=hint) from None
    if not isinstance(decisions, dict):
        raise click.BadParameter(
            f"{where} must be a JSON object of decisions", param_hint=hint
        ) from None
    return decisions

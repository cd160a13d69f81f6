"""Helpers every command shares: loading specs, printing diagnostics, exit codes.

A command that reads a spec uses them (and the options of ``aalp.cli.options``) so
diagnostics, exit codes and overrides look the same everywhere::

    @click.command("explain")
    @spec_argument
    @define_option
    def command(file, defines):
        checked = load_or_exit(file, defines)
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click
from aalp.diagnostics import AalpError, Diagnostic, SpecError, UsageError, render_all
from aalp.front.ir import Span

if TYPE_CHECKING:
    from aalp.checks.checker import Checked

EXIT_OK, EXIT_SPEC, EXIT_USAGE = 0, 1, 2


def parse_defines(values: Iterable[str]) -> dict[str, str]:
    """``["n=1M", "k = 3"]`` -> ``{"n": "1M", "k": "3"}``; raise ``click.BadParameter`` on an
    entry without ``=`` or with an empty name or value. The values stay formulas (text)."""
    out: dict[str, str] = {}
    for raw in values:
        name, sep, value = raw.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise click.BadParameter(
                f"'{raw}' is not NAME=VALUE (for example -D n=1M)", param_hint="'-D'"
            )
        if not name.isidentifier():
            raise click.BadParameter(f"'{name}' is not a parameter name", param_hint="'-D'")
        out[name] = value
    return out


def use_color() -> bool:
    """Colour diagnostics only on a terminal, and never when NO_COLOR is set."""
    return sys.stderr.isatty() and not os.environ.get("NO_COLOR")


def terminal_width(default: int = 80) -> int:
    """The width text output is laid out for: the terminal's when standard output is one,
    else ``COLUMNS`` when set (``COLUMNS=200 aalp explain f > out``), else ``default`` (so
    the same input written to a file is the same bytes)."""
    if sys.stdout.isatty():
        return shutil.get_terminal_size((default, 24)).columns
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else default


def source_of(path: str | Path) -> str | None:
    """The text of the spec at ``path`` to show beside its diagnostics; None when it cannot be
    read (with the loader's limits: a regular file of at most 4 MiB)."""
    from aalp.checks.loader import FileProblem, read_text_file

    from .inputs import is_stdin, stdin_text

    if is_stdin(path):
        return stdin_text("spec")
    try:
        return read_text_file(path)
    except FileProblem:
        return None


def print_diagnostics(diagnostics: Iterable[Diagnostic], source: str | None) -> None:
    """Print diagnostics of one file (errors, warnings, notes) to stderr, in source order."""
    diagnostics = list(diagnostics)
    if diagnostics:
        click.echo(render_all(diagnostics, source, color=use_color()), err=True)
        click.echo("", err=True)


def one_line(err: AalpError) -> str:
    """The diagnostics of ``err`` for a usage message: ``message [CODE]; hint``, one a line
    (an option has no place in a spec to point at)."""
    return "\n".join(
        f"{diag.message} [{diag.code}]" + (f"; {diag.hint}" if diag.hint else "")
        for diag in err.diagnostics
    )


def usage_failure(err: AalpError) -> click.UsageError:
    """An error about how the command was called (a bad ``-D``, ``--pin``, ``--task`` or
    ``--decisions``) as click's usage error (exit code 2)."""
    return click.UsageError(one_line(err))


def print_error(err: AalpError, file: str | Path) -> None:
    """Print the diagnostics of ``err``, an error about the spec ``file`` found after its
    check (a plan that cannot be emitted or simulated), to stderr; the ones with no place in
    the spec are shown as about the file (``FILE: error[CODE]: message``)."""
    from .inputs import display_name

    spec = Span(display_name(file), 0, 0, 0, 0)
    diagnostics = [d if d.span.line > 0 else replace(d, span=spec) for d in err.diagnostics]
    click.echo(render_all(diagnostics, source_of(file), color=use_color()), err=True)


def load_or_exit(file: str | Path, defines: dict[str, str] | None = None) -> Checked:
    """Load and check ``file``; print its warnings and return the ``Checked`` spec. On errors,
    print every diagnostic and exit 1; on a bad ``-D``, exit 2. ``file`` may be ``-``
    (standard input)."""
    from .inputs import load_spec

    try:
        checked = load_spec(file, defines or {})
    except UsageError as err:
        raise usage_failure(err) from None
    except SpecError as err:
        print_diagnostics(err.diagnostics, source_of(file))
        raise click.exceptions.Exit(EXIT_SPEC) from None
    print_diagnostics(checked.diagnostics, source_of(file))
    return checked


class Progress:
    """A progress line on a terminal's standard error, shown only once the work has taken
    more than ``after`` seconds, rewritten in place and erased at the end (nothing when
    standard error is not a terminal)."""

    def __init__(self, after: float = 1.0):
        import time

        self._clock = time.monotonic
        self._start = self._clock()
        self._after = after
        self._shown = False
        self._tty = sys.stderr.isatty()

    def line(self, text: str) -> None:
        if not self._tty or self._clock() - self._start < self._after:
            return
        elapsed = self._clock() - self._start
        sys.stderr.write(f"\r\033[K{text} ({elapsed:.0f} s)")
        sys.stderr.flush()
        self._shown = True

    def done(self) -> None:
        if self._shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()

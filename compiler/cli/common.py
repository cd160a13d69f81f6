"""Helpers every command shares: the ``-D`` option, loading specs and printing diagnostics.

A command that reads a spec uses them so diagnostics, exit codes and overrides look the same
everywhere::

    @click.command("explain")
    @spec_argument
    @define_option
    def command(file, defines):
        checked = load_or_exit(file, defines)
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from aalp.diagnostics import AalpError, Diagnostic, SpecError, UsageError, render_all
from aalp.front.ir import Span

if TYPE_CHECKING:
    from aalp.checks.checker import Checked

F = TypeVar("F", bound=Callable[..., Any])

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


def define_option(func: F) -> F:
    """Add ``-D/--define NAME=VALUE`` (repeatable) as a ``defines: dict[str, str]`` argument."""
    return click.option(
        "-D",
        "--define",
        "defines",
        multiple=True,
        metavar="NAME=VALUE",
        callback=lambda _ctx, _param, values: parse_defines(values),
        help="Override a parameter; the value is a formula (-D n=1M, -D disks=10).",
    )(func)


def _pins(_ctx: Any, _param: Any, values: tuple[str, ...]) -> tuple[str, ...]:
    from aalp.plan.space import parse_pin_text

    for text in values:
        try:
            parse_pin_text(text)
        except ValueError as err:
            raise click.BadParameter(str(err), param_hint="'--pin'") from None
    return values


def pin_option(func: F) -> F:
    """Add ``--pin OP.FIELD=VALUE`` (repeatable, checked for its shape) as a
    ``pins: tuple[str, ...]`` argument; the value is a formula or a word, as in a spec."""
    return click.option(
        "--pin",
        "pins",
        multiple=True,
        metavar="OP.FIELD=VALUE",
        callback=_pins,
        help="Fix a decision before optimizing, as a pin line would (--pin move.x=1, "
        "--pin move.vote=none, --pin check.x=k).",
    )(func)


def objective_option(func: F) -> F:
    """Add ``--objective METRIC`` as an ``objective: str | None`` argument."""
    return click.option(
        "--objective",
        default=None,
        metavar="METRIC",
        help="Override the spec's objective (cost, dollars, calls, latency, success, ...).",
    )(func)


def task_option(func: F) -> F:
    """Add ``--task NAME`` as a ``task_name: str | None`` argument."""
    return click.option(
        "--task", "task_name", default=None, help="Which task of the spec (default: the first)."
    )(func)


def spec_argument(func: F) -> F:
    """Add a single ``FILE`` argument (a spec path)."""
    return click.argument("file", type=click.Path(path_type=Path))(func)


def specs_argument(func: F) -> F:
    """Add ``FILE...`` (one or more spec paths)."""
    return click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))(func)


def use_color() -> bool:
    """Colour diagnostics only on a terminal, and never when NO_COLOR is set."""
    return sys.stderr.isatty() and not os.environ.get("NO_COLOR")


def source_of(path: str | Path) -> str | None:
    """The text of the spec at ``path`` to show beside its diagnostics; None when it cannot be
    read (with the loader's limits: a regular file of at most 4 MiB)."""
    from aalp.checks.loader import FileProblem, read_text_file

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
    spec = Span(str(file), 0, 0, 0, 0)
    diagnostics = [d if d.span.line > 0 else replace(d, span=spec) for d in err.diagnostics]
    click.echo(render_all(diagnostics, source_of(file), color=use_color()), err=True)


def load_or_exit(file: str | Path, defines: dict[str, str] | None = None) -> Checked:
    """Load and check ``file``; print its warnings and return the ``Checked`` spec. On errors,
    print every diagnostic and exit 1; on a bad ``-D``, exit 2."""
    from aalp.checks.loader import load, read_source

    try:
        checked = load(file, defines or {})
    except UsageError as err:
        raise usage_failure(err) from None
    except SpecError as err:
        try:
            source = read_source(file)
        except SpecError:
            source = None
        print_diagnostics(err.diagnostics, source)
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

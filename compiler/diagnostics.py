"""Diagnostics: every problem found in a spec, with its position, code and hint.

``render`` turns one diagnostic into the text a user reads::

    hanoi.aalp:4:23: error[E101]: unknown model 'gpt4mini'
      4 |   op move(x of s) on gpt4mini {
        |                      ^^^^^^^^
      hint: did you mean 'gpt41mini'?

The plain form is what tests and pipes see; ``color=True`` adds ANSI colour for terminals.

Every error aalp reports to its user is an ``AalpError`` carrying its diagnostics: a
``SpecError`` (the spec's problems, a ``UsageError`` for the command line's), and the errors of
the later passes, each with its own code (docs/diagnostics.md lists them).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar, Literal

from aalp.front.ir import NO_SPAN, Span

Severity = Literal["error", "warning", "note"]


@dataclass(frozen=True)
class Diagnostic:
    """One problem: ``file:line:col: severity: message`` plus a hint.

    ``code`` is a stable identifier (``E101``) that tests and tools match on; ``line`` and
    ``col`` are 1-based.
    """

    severity: Severity
    code: str
    message: str
    span: Span
    hint: str = ""

    @property
    def line(self) -> int:
        return self.span.line

    @property
    def col(self) -> int:
        return self.span.col

    def to_json(self) -> dict[str, object]:
        """The diagnostic as a JSON-ready dict (for ``aalp check --json`` and tools)."""
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "file": self.span.file,
            "line": self.span.line,
            "col": self.span.col,
            "end_line": self.span.end_line,
            "end_col": self.span.end_col,
            "hint": self.hint,
        }


class AalpError(Exception):
    """The base of every error aalp reports to its user: it carries the diagnostics that say
    what is wrong (code, severity, message, span, hint), and the CLI and the explorer show
    those. ``str(err)`` is the messages of its errors joined by "; ".

    A subclass raised with a message rather than diagnostics sets ``code``: the message becomes
    one error with that code (``code=``, ``span=`` and ``hint=`` override it for one error).

    >>> from aalp import codes
    >>> class CannotFly(AalpError):
    ...     code = codes.BAD_OPTION
    >>> err = CannotFly("no wings", hint="grow some")
    >>> str(err), err.diagnostics[0].code == codes.BAD_OPTION, err.diagnostics[0].hint
    ('no wings', True, 'grow some')
    """

    code: ClassVar[str] = ""

    def __init__(
        self,
        diagnostics: Iterable[Diagnostic] | str,
        *,
        code: str = "",
        span: Span = NO_SPAN,
        hint: str = "",
    ):
        if isinstance(diagnostics, str):
            code = code or self.code
            if not code:
                raise TypeError(f"{type(self).__name__} needs diagnostics, or a code")
            diagnostics = [Diagnostic("error", code, diagnostics, span, hint)]
        self.diagnostics = diagnostics if isinstance(diagnostics, list) else list(diagnostics)
        super().__init__("; ".join(d.message for d in self.diagnostics if d.severity == "error"))

    def __reduce__(self) -> tuple[object, ...]:
        # an error crosses a process boundary whole, whatever its own __init__ takes
        return (_restore, (type(self), self.diagnostics, self.__dict__))


def _restore(cls: type[AalpError], diagnostics: list[Diagnostic], state: dict) -> AalpError:
    err = cls.__new__(cls)
    AalpError.__init__(err, diagnostics)
    err.__dict__.update(state)
    return err


class SpecError(AalpError):
    """Raised by a public verb when a spec has errors; carries every diagnostic found."""

    def __init__(self, diagnostics: list[Diagnostic]):
        super().__init__(diagnostics)


class UsageError(SpecError):
    """A problem with how the tool was called (``-D`` of an unknown parameter, a bad value).

    A ``SpecError`` so callers that handle spec problems handle it too; the CLI exits 2 on it.
    """


def sort_key(diag: Diagnostic) -> tuple[str, int, int, str]:
    """Order diagnostics by file and position, so output is stable whatever found them first."""
    return (diag.span.file, diag.span.line, diag.span.col, diag.code)


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    """True if any diagnostic is an error (warnings and notes do not fail a spec)."""
    return any(d.severity == "error" for d in diagnostics)


_COLORS = {"error": "1;31", "warning": "1;33", "note": "1;36"}


def _paint(text: str, code: str, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color and text else text


def _display(line: str, col: int) -> tuple[str, int]:
    """The line with tabs expanded and control characters made visible, and where ``col``
    (1-based, in characters) lands in it, so the caret sits under the right character."""
    text = ""
    at = len(line) + 1
    for i, ch in enumerate(line, start=1):
        if i == col:
            at = len(text) + 1
        if ch == "\t":
            text += " " * (4 - len(text) % 4)
        elif not ch.isprintable():
            text += "?"
        else:
            text += ch
    if col > len(line):
        at = len(text) + (col - len(line))
    return text, at


_WIDTH = 96  # source lines longer than this are shown as a window around the caret


def _window(text: str, start: int, end: int) -> tuple[str, int, int]:
    """Cut a long line to a window around columns ``start``..``end`` (1-based, inclusive)."""
    if len(text) <= _WIDTH:
        return text, start, end
    end = min(end, start + _WIDTH // 2)
    left = max(0, min(start - 1 - _WIDTH // 3, len(text) - _WIDTH))
    right = left + _WIDTH
    prefix = "..." if left > 0 else ""
    suffix = "..." if right < len(text) else ""
    shift = len(prefix) - left
    return prefix + text[left:right] + suffix, start + shift, end + shift


def render(diag: Diagnostic, source: str | None = None, *, color: bool = False) -> str:
    """Render ``diag`` as ``file:line:col: severity[CODE]: message``, the source line with a
    caret under the offending token, and the hint. ``source`` is the whole text of the file;
    without it (or without a position) only the header and hint are printed, and without a
    file (``NO_SPAN``) the header starts at the severity.

    >>> from aalp import codes
    >>> from aalp.front.ir import Span
    >>> span = Span("f.aalp", 1, 11, 1, 11)
    >>> d = Diagnostic("error", codes.UNKNOWN_NAME, "unknown name 'y'", span, "try x")
    >>> print(render(d, "param a = y + 1"))
    f.aalp:1:11: error[E100]: unknown name 'y'
      1 | param a = y + 1
        |           ^
      hint: try x
    """
    span = diag.span
    where = span.file
    if span.line > 0:
        where += f":{span.line}:{span.col}"
    head = _paint(f"{diag.severity}[{diag.code}]", _COLORS[diag.severity], color)
    out = [f"{head}: {_paint(diag.message, '1', color)}"]
    if span.file != NO_SPAN.file:  # a diagnostic about no file (an option, a setting) has none
        out[0] = f"{where}: {out[0]}"
    lines = source.splitlines() if source is not None else []
    if 0 < span.line <= len(lines):
        raw = lines[span.line - 1]
        text, start = _display(raw, max(span.col, 1))
        if span.end_line == span.line and span.end_col >= span.col:
            _, end = _display(raw, span.end_col)
        elif span.end_line > span.line:
            end = max(len(text), start)  # a multi-line token: underline to the end of its line
        else:
            end = start
        text, start, end = _window(text, start, end)
        gutter = str(span.line)
        pad = " " * len(gutter)
        carets = "^" * max(1, end - start + 1)
        out.append(f"  {gutter} | {text}".rstrip())
        out.append(f"  {pad} | {' ' * (start - 1)}{_paint(carets, _COLORS[diag.severity], color)}")
    if diag.hint:
        out.append(f"  {_paint('hint', '1;32', color)}: {diag.hint}")
    return "\n".join(out)


def render_all(
    diagnostics: Iterable[Diagnostic], source: str | None = None, *, color: bool = False
) -> str:
    """Render several diagnostics of one file, in source order, separated by blank lines."""
    return "\n\n".join(render(d, source, color=color) for d in sorted(diagnostics, key=sort_key))

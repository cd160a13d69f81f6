"""Load a spec: read the file, parse, check, and resolve prompt files.

``load`` and ``load_text`` are what commands call: they either return a ``Checked`` spec (with
its warnings) or raise ``SpecError`` carrying every diagnostic, syntax errors first. A missing or
unreadable file is a diagnostic too, never a traceback.

Every file aalp reads on a user's behalf is read here, with limits (docs/security.md):

- a spec or a decision file must be a regular file of at most ``MAX_FILE_BYTES`` (4 MiB);
- a prompt file (``prompt file "..."``) must lie in the spec's folder or below it (no absolute
  path, no ``..``, no symbolic link leading out), be a regular file of at most
  ``MAX_PROMPT_BYTES`` (1 MiB) and hold UTF-8 text. ``read_prompt`` is the one function that
  reads prompt files: the checker, the code generators, the simulated server and the explorer
  all call it, so what ``check`` accepts is exactly what ``compile`` and ``serve-sim`` read.

Files are opened without blocking (a named pipe would wait for a writer forever), checked on
the open descriptor (what is checked is what is read), and read with a bounded read of at most
limit + 1 bytes, since devices and files under ``/proc`` report a size of 0.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import stat
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any

from aalp import codes
from aalp.checks.checker import Checked, check
from aalp.diagnostics import AalpError, Diagnostic, SpecError, UsageError, sort_key
from aalp.front.ir import NO_SPAN, Span, Spec

MAX_FILE_BYTES = 4 * 1024 * 1024  # a spec or a decision file
MAX_PROMPT_BYTES = 1024 * 1024  # one prompt file


class FileProblem(AalpError):
    """A file that cannot be read. ``problem`` completes a sentence about the file ("it is a
    directory"); ``kind`` is ``"missing"``, ``"too large"`` or ``"unreadable"``."""

    def __init__(self, kind: str, problem: str):
        too_large = kind == "too large"
        super().__init__(problem, code=codes.FILE_TOO_LARGE if too_large else codes.UNREADABLE_FILE)
        self.kind = kind
        self.problem = problem


def _size(limit: int) -> str:
    """``4 MiB``, ``1 MiB``, ``512 KiB``, ``100 bytes``."""
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if limit >= scale and limit % scale == 0:
            return f"{limit // scale} {unit}"
    return f"{limit} bytes"


_KINDS = (
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISSOCK, "a socket"),
)


def _os_problem(err: OSError) -> FileProblem:
    if isinstance(err, FileNotFoundError):
        return FileProblem("missing", "no such file")
    if isinstance(err, IsADirectoryError):
        return FileProblem("unreadable", "it is a directory")
    if isinstance(err, PermissionError):
        return FileProblem("unreadable", "permission denied")
    if err.errno == errno.ENAMETOOLONG:
        return FileProblem("unreadable", "its name is too long (File name too long)")
    if err.errno == errno.ELOOP:
        return FileProblem("unreadable", "it is a symbolic link that cannot be followed")
    return FileProblem("unreadable", err.strerror or str(err))


def read_limited(path: str | Path, limit: int, *, follow_links: bool = True) -> bytes:
    """The bytes of the regular file at ``path``, at most ``limit`` of them; raise
    ``FileProblem`` for anything else (no file, a directory or device, a larger file)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    flags |= getattr(os, "O_BINARY", 0)
    if not follow_links:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as err:
        raise _os_problem(err) from None
    except ValueError:  # a NUL character in the name
        raise FileProblem("unreadable", "its name contains a NUL character") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise FileProblem("unreadable", "it is a directory")
        for test, kind in _KINDS:
            if test(info.st_mode):
                raise FileProblem("unreadable", f"it is not a regular file (it is {kind})")
        if not stat.S_ISREG(info.st_mode):
            raise FileProblem("unreadable", "it is not a regular file")
        too_large = FileProblem("too large", f"it is larger than the limit of {_size(limit)}")
        if info.st_size > limit:
            raise too_large
        chunks: list[bytes] = []
        left = limit + 1  # one byte more than allowed tells a file that grew or lied
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        if left <= 0:
            raise too_large
        return b"".join(chunks)
    except OSError as err:
        raise _os_problem(err) from None
    finally:
        os.close(fd)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        problem = f"it is not UTF-8 text (byte {err.start} is not valid)"
        raise FileProblem("unreadable", problem) from None


def read_text_file(path: str | Path, limit: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of the regular file at ``path`` (a decision file, a spec), at most
    ``limit`` bytes; raise ``FileProblem`` otherwise."""
    return _decode(read_limited(path, limit))


def read_source(path: str | Path) -> str:
    """The text of the spec at ``path``; raise ``SpecError`` (E090, or E093 when larger than
    ``MAX_FILE_BYTES``) if it cannot be read."""
    try:
        return read_text_file(path)
    except FileProblem as err:
        too_large = err.kind == "too large"
        hint = "check the path; specs are UTF-8 text files, usually named *.aalp"
        if too_large:
            hint = f"a spec is a few kilobytes; files over {_size(MAX_FILE_BYTES)} are refused"
        diagnostic = Diagnostic(
            "error",
            codes.FILE_TOO_LARGE if too_large else codes.UNREADABLE_FILE,
            f"cannot read the spec: {err.problem}",
            Span(str(path), 0, 0, 0, 0),
            hint,
        )
        raise SpecError([diagnostic]) from None


def load(path: str | Path, overrides: Mapping[str, object] | None = None) -> Checked:
    """Read, parse and check the spec at ``path`` with ``-D`` ``overrides``.

    Prompt files resolve relative to the spec's folder.
    """
    return load_text(read_source(path), str(path), overrides)


def load_text(
    text: str,
    file: str = "<spec>",
    overrides: Mapping[str, object] | None = None,
    *,
    prompt_dir: str | Path | None = None,
) -> Checked:
    """Parse and check ``text`` (named ``file`` in diagnostics); raise ``SpecError`` on errors.

    Prompt files are read from ``prompt_dir`` when given, else from the folder of ``file`` when
    ``file`` is a path. Text with a pseudo-name like ``<spec>`` and no ``prompt_dir`` has no
    folder: its ``prompt file`` clauses are refused (E095), never read from the current
    directory. The folder used is kept in ``Checked.prompt_dir`` for the code generators.
    """
    from aalp.front.parser import parse

    spec = parse(text, file)  # raises SpecError with the syntax diagnostics
    folder = Path(prompt_dir) if prompt_dir is not None else prompt_folder(file)
    problems = prompt_problems(spec, folder)
    try:
        checked = check(spec, overrides)
    except UsageError:
        raise
    except SpecError as err:
        raise SpecError(sorted([*err.diagnostics, *problems], key=sort_key)) from None
    if problems:
        raise SpecError(sorted([*checked.diagnostics, *problems], key=sort_key))
    return dataclasses.replace(checked, prompt_dir=folder)


# ---------------------------------------------------------------------------------------------
# Prompt files
# ---------------------------------------------------------------------------------------------


class PromptError(AalpError):
    """A prompt file that is refused: ``problem`` completes "prompt file 'NAME' ..." and
    ``code`` is its diagnostic code (E091, E092, E093, E094 or E095)."""

    def __init__(self, code: str, problem: str, hint: str):
        super().__init__(problem, code=code, hint=hint)
        self.code = code
        self.problem = problem
        self.hint = hint


_INSIDE = (
    "prompt files are read from the spec's folder and below: write a relative path such as "
    '"prompts/count.txt"'
)


def prompt_folder(spec_file: str) -> Path | None:
    """The folder the prompt files of the spec named ``spec_file`` resolve against: the folder
    holding it, or None for a pseudo-name such as ``<spec>`` (text without a file has no
    folder; the current directory is never assumed)."""
    if _pseudo(spec_file):
        return None
    return Path(spec_file).parent


def prompt_dir_of(checked: Any) -> Path | None:
    """The folder a checked spec's prompt files are read from: the one ``load_text`` used,
    else the folder of the spec's file (None when it has none)."""
    given = getattr(checked, "prompt_dir", None)
    if given is not None:
        return Path(given)
    return prompt_folder(checked.spec.file or "")


def read_prompt(name: str, folder: str | Path | None) -> str:
    """The text of the prompt file ``name`` (as written in the spec) in ``folder``.

    Refused with ``PromptError``: no folder; an empty name or one with a NUL character; an
    absolute path or one with a ``..`` part; a path that leads out of ``folder`` through a
    symbolic link; a missing file; anything but a regular file; more than
    ``MAX_PROMPT_BYTES``; text that is not UTF-8.
    """
    if folder is None:
        raise PromptError(
            codes.NO_PROMPT_FOLDER,
            "cannot be read: the spec's text has no file, so there is no folder to read it from",
            'write the prompt inline (prompt """..."""), or load the spec from a file',
        )
    if not name or "\0" in name:
        what = "an empty name" if not name else "a NUL character in its name"
        raise PromptError(codes.UNREADABLE_PROMPT, f"has {what}", _INSIDE)
    rel = PurePath(name)
    if rel.is_absolute() or rel.anchor or name.startswith(("/", "\\")):
        raise PromptError(codes.PROMPT_OUTSIDE, "is an absolute path", _INSIDE)
    if ".." in rel.parts or ".." in name.replace("\\", "/").split("/"):
        raise PromptError(codes.PROMPT_OUTSIDE, "goes up out of the spec's folder ('..')", _INSIDE)
    try:
        base = os.path.realpath(folder)
        real = os.path.realpath(os.path.join(base, name))
    except (OSError, ValueError):  # pragma: no cover - realpath is lenient
        raise PromptError(codes.UNREADABLE_PROMPT, "cannot be resolved", _INSIDE) from None
    if os.path.commonpath([base, real]) != base:
        raise PromptError(
            codes.PROMPT_OUTSIDE,
            "leads out of the spec's folder through a symbolic link",
            "copy the file into the spec's folder instead of linking to it",
        )
    try:
        return _decode(read_limited(real, MAX_PROMPT_BYTES, follow_links=False))
    except FileProblem as err:
        if err.kind == "missing":
            raise PromptError(
                codes.MISSING_PROMPT,
                "does not exist",
                "prompt files are looked up relative to the spec's directory",
            ) from None
        if err.kind == "too large":
            raise PromptError(
                codes.FILE_TOO_LARGE,
                f"is larger than the limit of {_size(MAX_PROMPT_BYTES)}",
                "a prompt is instructions for one call; shorten it",
            ) from None
        hint = "a prompt file is a UTF-8 text file in the spec's folder"
        if "name is too long" in err.problem:
            hint = "file names have at most 255 bytes; use a shorter name"
        raise PromptError(codes.UNREADABLE_PROMPT, f"cannot be read: {err.problem}", hint) from None


def prompt_problems(spec: Spec, folder: str | Path | None) -> list[Diagnostic]:
    """A diagnostic for each ``prompt file`` of ``spec`` that ``read_prompt`` refuses when read
    from ``folder`` (positioned at the prompt clause)."""
    out: list[Diagnostic] = []
    for task in spec.tasks:
        for op in task.ops:
            if op.prompt is None or op.prompt.file is None:
                continue
            try:
                read_prompt(op.prompt.file, folder)
            except PromptError as err:
                span = op.prompt.span if op.prompt.span.line > 0 else op.span
                if span.line <= 0:
                    span = Span(spec.file, 0, 0, 0, 0) if span == NO_SPAN else span
                message = f"prompt file '{shown(op.prompt.file)}' of op '{op.name}' {err.problem}"
                out.append(Diagnostic("error", err.code, message, span, err.hint))
    return out


def shown(name: str, width: int = 60) -> str:
    """A file name for a message: control characters escaped, a long name shortened.

    >>> print(shown("a\\nb"), len(shown("x" * 100)))
    a\\u{a}b 60
    """
    text = "".join(c if c.isprintable() else f"\\u{{{ord(c):x}}}" for c in name)
    if len(text) > width:
        text = text[: width - 11] + "..." + text[-8:]
    return text


def _pseudo(file: str) -> bool:
    """A name that is no path: empty, or like ``<spec>``."""
    return not file or (file.startswith("<") and file.endswith(">"))

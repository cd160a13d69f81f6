"""Load a spec: read the file, parse, check, and resolve prompt files.

``load`` and ``load_text`` are what commands call: they either return a ``Checked`` spec (with
its warnings) or raise ``SpecError`` carrying every diagnostic, syntax errors first. A missing or
unreadable file is a diagnostic too, never a traceback.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from . import codes
from .check import Checked, check
from .diagnostics import Diagnostic, SpecError, UsageError, sort_key
from .ir import NO_SPAN, Prompt, Span, Spec


def read_source(path: str | Path) -> str:
    """The text of the spec at ``path``; raise ``SpecError`` (E090) if it cannot be read."""
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except IsADirectoryError:
        problem = "it is a directory"
    except FileNotFoundError:
        problem = "no such file"
    except PermissionError:
        problem = "permission denied"
    except OSError as err:
        problem = err.strerror or str(err)
    else:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as err:
            problem = f"it is not UTF-8 text (byte {err.start} is not valid)"
    raise SpecError(
        [
            Diagnostic(
                "error",
                codes.UNREADABLE_FILE,
                f"cannot read the spec: {problem}",
                Span(name, 0, 0, 0, 0),
                "check the path; specs are UTF-8 text files, usually named *.aalp",
            )
        ]
    )


def load(path: str | Path, overrides: Mapping[str, object] | None = None) -> Checked:
    """Read, parse and check the spec at ``path`` with ``-D`` ``overrides``.

    Prompt files resolve relative to the spec's directory.
    """
    return load_text(read_source(path), str(path), overrides)


def load_text(
    text: str, file: str = "<spec>", overrides: Mapping[str, object] | None = None
) -> Checked:
    """Parse and check ``text`` (named ``file`` in diagnostics); raise ``SpecError`` on errors.

    Prompt files are looked up relative to ``file``'s directory when ``file`` is a path (not a
    pseudo-name like ``<spec>``).
    """
    from .parser import parse

    spec = parse(text, file)  # raises SpecError with the syntax diagnostics
    missing = missing_prompts(spec, file)
    try:
        checked = check(spec, overrides)
    except UsageError:
        raise
    except SpecError as err:
        raise SpecError(sorted([*err.diagnostics, *missing], key=sort_key)) from None
    if missing:
        raise SpecError(sorted([*checked.diagnostics, *missing], key=sort_key))
    return checked


def prompt_path(spec_file: str, prompt: Prompt) -> Path | None:
    """Where ``prompt file "..."`` points, relative to the spec; None for inline prompts."""
    if prompt.file is None:
        return None
    target = Path(prompt.file)
    if target.is_absolute() or _pseudo(spec_file):
        return target
    return Path(spec_file).parent / target


def missing_prompts(spec: Spec, file: str) -> list[Diagnostic]:
    """A diagnostic (E091) for each ``prompt file`` that does not exist (none when ``file`` is
    a pseudo-name such as ``<spec>``: there is no directory to look in)."""
    out: list[Diagnostic] = []
    if _pseudo(file):
        return out
    for task in spec.tasks:
        for op in task.ops:
            if op.prompt is None or op.prompt.file is None:
                continue
            path = prompt_path(file, op.prompt)
            if path is not None and not path.is_file():
                span = op.prompt.span if op.prompt.span.line > 0 else op.span
                if span.line <= 0:
                    span = Span(file, 0, 0, 0, 0) if span == NO_SPAN else span
                out.append(
                    Diagnostic(
                        "error",
                        codes.MISSING_PROMPT,
                        f"prompt file '{op.prompt.file}' of op '{op.name}' does not exist",
                        span,
                        "prompt files are looked up relative to the spec's directory",
                    )
                )
    return out


def _pseudo(file: str) -> bool:
    return file.startswith("<") and file.endswith(">")

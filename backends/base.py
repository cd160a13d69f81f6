"""The base class of every code-generation target and the files it emits.

A target is a small subclass: a ``name``, a one-line ``description``, and ``files(view)``
listing which template renders to which output file, with the literals it prepared. Shared
here: the jinja2 environment (``StrictUndefined`` so a missing value fails loudly,
``keep_trailing_newline``, no autoescape: HTML escaping is wrong for Python) and the rule that
every emitted Python file must compile.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, ClassVar

from .combines import NEEDS
from .literals import py_literal
from .view import PlanError, View

#: templates every target includes: the emitted runtime core (answers, votes, windows, combines)
SHARED_TEMPLATES = os.path.join(os.path.dirname(__file__), "templates")


@dataclass(frozen=True)
class Emitted:
    """One output file: a path relative to the output directory and its text."""

    path: str
    text: str


class Backend:
    """A target. Subclasses set ``name``, ``description`` and implement ``files``."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: the package whose ``templates/`` folder holds this target's templates
    package: ClassVar[str] = ""
    #: what the emitted program imports beyond the standard library: module -> pip package
    #: (a program run without one stops at start with one line naming it)
    requires: ClassVar[dict[str, str]] = {}

    def files(self, view: View) -> list[tuple[str, str, dict[str, Any]]]:
        """``(output path, template name, extra context)`` for every file to emit."""
        raise NotImplementedError

    def warnings(self, view: View) -> list[str]:
        """Features of the plan this target expresses only approximately (shown by compile).

        A feature the target cannot express at all raises ``PlanError`` from ``files``.
        The base class reports the plan's own problems (``view["warnings"]``) and every exact
        check the program needs written (``check_hint``).
        """
        exact = [n for n, op in sorted(view["ops"].items()) if op["booster"]["check"] == "exact"]
        stubs = [
            f"op '{name}' retries until an exact check passes: {self.check_hint(name)} (the "
            "program stops at start, naming it, until then)"
            for name in exact
        ]
        return [*view.get("warnings", []), *stubs]

    def check_hint(self, op: str) -> str:
        """Where the exact check of ``op`` is written in this target's program."""
        return f"write check_{op}(request, answer) in checks.py"

    def environment(self) -> Any:
        """The jinja2 environment reading this target's templates, then the shared ones
        (``_runtime_core.py.j2``: every target's answer rules, votes, windows and combines)."""
        import jinja2

        folder = os.path.join(
            os.path.dirname(_module_file(self.package or type(self).__module__)), "templates"
        )
        env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(
                [jinja2.FileSystemLoader(folder), jinja2.FileSystemLoader(SHARED_TEMPLATES)]
            ),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        # the runtime's table of what each combine needs is the compiler's own (combines.py)
        env.globals["combine_needs_py"] = py_literal(NEEDS)
        env.globals["requires_py"] = py_literal(dict(self.requires), indent=4, start=15)
        return env

    def emit(self, view: View) -> list[Emitted]:
        """Render every file of ``view``; Python files are compiled to prove they parse."""
        env = self.environment()
        out = []
        for path, template, context in self.files(view):
            text = env.get_template(template).render(view=view, **context)
            if path.endswith(".py"):
                try:
                    compile(text, path, "exec")
                except SyntaxError as err:  # a template bug, never the user's input
                    raise AssertionError(f"{self.name}: {path} does not compile: {err}") from err
            out.append(Emitted(path, text))
        return out


def _module_file(module: str) -> str:
    import importlib

    mod = importlib.import_module(module)
    if mod.__file__ is None:
        raise PlanError(f"target package {module} has no files")
    return mod.__file__


def write(files: list[Emitted], directory: str) -> list[str]:
    """Write ``files`` under ``directory`` (created as needed); return the paths written."""
    written = []
    for item in files:
        path = os.path.join(directory, item.path)
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(item.text)
        written.append(path)
    return written


def archive(files: list[Emitted]) -> bytes:
    """``files`` as a zip archive, byte-identical for the same files (sorted names, a fixed
    timestamp and mode): what ``aalp compile -o -`` prints and the explorer downloads."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zipped:
        for item in sorted(files, key=lambda f: f.path):
            info = zipfile.ZipInfo(item.path, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zipped.writestr(info, item.text.encode("utf-8"))
    return buffer.getvalue()

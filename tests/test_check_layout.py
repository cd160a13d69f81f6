"""The check pass's shape: plain functions, one module per concept, no import cycle inside
``aalp.checks``, no function too long to read at once."""

from __future__ import annotations

import ast
from pathlib import Path

import aalp.checks

CHECK = Path(aalp.checks.__file__).parent
MODULES = {p.stem: ast.parse(p.read_text(encoding="utf-8")) for p in CHECK.glob("*.py")}
MAX_LINES = 80


def _imports(tree: ast.Module) -> set[str]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("aalp.checks."):
            out.add(node.module.removeprefix("aalp.checks."))
    return out


def test_no_import_cycle_inside_check() -> None:
    graph = {name: _imports(tree) - {name} for name, tree in MODULES.items()}
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, " -> ".join((*path, name))
        if name in done:
            return
        for dep in graph.get(name, ()):
            visit(dep, (*path, name))
        done.add(name)

    for name in graph:
        visit(name, ())


def test_functions_are_short() -> None:
    long = [
        f"{name}.{node.name}: {node.end_lineno - node.lineno + 1} lines"
        for name, tree in MODULES.items()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.end_lineno - node.lineno + 1 > MAX_LINES
    ]
    assert long == []


def test_no_checker_classes() -> None:
    """Checks are functions of a context: the only classes are the contexts and records."""
    classes = {
        f"{name}.{node.name}"
        for name, tree in MODULES.items()
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
    }
    allowed = {"checker.Checked", "context.Context", "context.TaskContext", "pins._Pin"}
    allowed |= {"loader.FileProblem", "loader.PromptError"}
    assert classes <= allowed

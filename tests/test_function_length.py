"""No function of aalp is longer than ``LIMIT`` lines unless its docstring says why.

A function is measured from its ``def`` line to its last line, docstring and nested functions
included. One that must stay long says so in a docstring line starting with "Long because".
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Each folder and the package it is (pyproject.toml's package-dir).
PACKAGES = {"compiler": "aalp", "backends": "aalp.backends"}
LIMIT = 80
REASON = "Long because"

# Long functions allowed for now, by ``module:qualified name`` (none: a long function says why
# in its docstring instead); the test fails once an entry is short or gone.
ALLOWED: set[str] = set()

Function = ast.FunctionDef | ast.AsyncFunctionDef


def module_name(path: Path) -> str:
    """``compiler/explainer/report.py`` → ``aalp.explainer.report``."""
    rel = path.relative_to(ROOT)
    parts = [PACKAGES[rel.parts[0]], *rel.parts[1:-1]]
    if rel.stem != "__init__":
        parts.append(rel.stem)
    return ".".join(parts)


def functions(tree: ast.AST, prefix: str = "") -> Iterator[tuple[str, Function]]:
    """Every function and method in ``tree``, nested ones too, with its qualified name."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield prefix + node.name, node
            yield from functions(node, f"{prefix}{node.name}.")
        elif isinstance(node, ast.ClassDef):
            yield from functions(node, f"{prefix}{node.name}.")
        else:
            yield from functions(node, prefix)


def lengths() -> dict[str, int]:
    """``module:function`` → lines, of every function over ``LIMIT`` without a reason."""
    out = {}
    for folder in PACKAGES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            module = module_name(path)
            for name, node in functions(ast.parse(path.read_text(encoding="utf-8"))):
                size = node.end_lineno - node.lineno + 1
                doc = ast.get_docstring(node) or ""
                has_reason = any(line.strip().startswith(REASON) for line in doc.splitlines())
                if size > LIMIT and not has_reason:
                    out[f"{module}:{name}"] = size
    return out


def test_no_function_is_long_without_a_reason() -> None:
    long = {name: size for name, size in lengths().items() if name not in ALLOWED}
    assert not long, (
        f"functions over {LIMIT} lines: {long}; split them into named steps, or say why in a"
        f" docstring line starting with {REASON!r}"
    )


def test_the_allow_list_holds_only_long_functions() -> None:
    stale = ALLOWED - set(lengths())
    assert not stale, f"{sorted(stale)} are short now (or gone): remove them from ALLOWED"


def test_the_walk_sees_methods_nested_functions_and_reasons() -> None:
    tree = ast.parse(
        "class C:\n    def m(self):\n        def inner():\n            pass\n"
        "async def f():\n    '''Does f.\n\n    Long because it must.\n    '''\n"
    )
    found = dict(functions(tree))
    assert set(found) == {"C.m", "C.m.inner", "f"}
    assert REASON in ast.get_docstring(found["f"])
    assert module_name(ROOT / "compiler" / "explainer" / "report.py") == "aalp.explainer.report"
    assert module_name(ROOT / "backends" / "python" / "__init__.py") == "aalp.backends.python"

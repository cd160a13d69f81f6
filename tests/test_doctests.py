"""Every module of aalp imports, and every example in its docstrings runs as written.

The modules are found by walking the packages (``aalp`` and ``aalp.backends``, which live in
separate folders), so a new module is tested without being listed here. The jinja templates
are not modules and are not run: their examples are text of the generated programs.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import aalp
import aalp.backends
import pytest

# The import names of the optional extras (pyproject.toml): a module needing one is skipped
# when it is not installed; any other failed import fails the test.
OPTIONAL = {"openai", "langgraph", "langchain_core", "langchain_openai", "dspy", "agents"}


def modules() -> list[str]:
    """Every module of aalp by name, but ``__main__`` modules (importing one runs the CLI)."""
    names = set()
    for package in (aalp, aalp.backends):
        names.add(package.__name__)
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if info.name.rsplit(".", 1)[-1] != "__main__":
                names.add(info.name)
    return sorted(names)


def load(name: str):
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name is not None and err.name.split(".")[0] in OPTIONAL:
            pytest.skip(f"{name} needs the optional package {err.name}, not installed")
        raise


@pytest.mark.parametrize("name", modules())
def test_doctests(name: str) -> None:
    module = load(name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    report: list[str] = []
    for test in doctest.DocTestFinder().find(module):
        runner.run(test, out=report.append)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, "".join(report)


def test_the_walk_finds_every_package_and_their_examples() -> None:
    names = modules()
    for name in ("aalp.front.parser", "aalp.explainer.render", "aalp.backends.literals"):
        assert name in names
    assert "aalp.cli.__main__" not in names
    examples = sum(
        len(t.examples)
        for name in names
        if name.startswith(("aalp.front", "aalp.explainer"))
        for t in doctest.DocTestFinder().find(importlib.import_module(name))
    )
    assert examples >= 10  # the walk reaches the modules' docstrings, not just their names

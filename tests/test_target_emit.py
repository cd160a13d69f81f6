"""Every sample compiles for every framework target without the framework installed: the
files equal their goldens, compile, are ruff-clean and byte-identical across emissions, and a
feature a framework cannot express is a clear compile-time error."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest
import regen_golden
from aalp.backends import registry
from aalp.backends.view import PlanError
from test_backend import ruff_clean
from test_target_frameworks import plan

TARGETS = ("langgraph", "dspy", "openai-agents", "autogen", "crewai")
FRAMEWORKS = (
    "langgraph",
    "dspy",
    "agents",
    "langchain_core",
    "langchain_openai",
    "autogen_core",
    "crewai",
)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("sample", regen_golden.samples(), ids=lambda p: p.stem)
def test_emitted_files_equal_goldens(sample: Path, target: str) -> None:
    files = regen_golden.render(target, sample)
    assert files == regen_golden.render(target, sample)  # deterministic
    folder = regen_golden.golden_dir(target, sample)
    golden = {p.name: p.read_text(encoding="utf-8") for p in folder.glob("*")}
    assert files == golden, "emitted code changed: review and run python tests/regen_golden.py"
    for name, text in files.items():
        if name != regen_golden.REFUSED:
            compile(text, name, "exec")
    assert not any(name in sys.modules for name in FRAMEWORKS)  # compiling imports none


@pytest.mark.parametrize("target", TARGETS)
def test_golden_files_are_ruff_clean(target: str) -> None:
    ruff_clean(regen_golden.GOLDEN / target)


def _with_full_history(view: dict) -> dict:
    view = copy.deepcopy(view)
    view["stages"][0]["history"] = "full"
    return view


@pytest.mark.parametrize(
    ("target", "change", "words"),
    [
        # LangGraph keeps the conversation in its state; a DSPy module's predictors and an
        # agent run are single turns here
        ("dspy", _with_full_history, "full history"),
        ("openai-agents", _with_full_history, "full history"),
        ("autogen", _with_full_history, "full history"),
        ("crewai", _with_full_history, "full history"),
    ],
)
def test_features_a_framework_cannot_express_are_errors(target, change, words) -> None:
    with pytest.raises(PlanError, match=f"target {target}: .*{words}"):
        registry.get(target).emit(change(plan("hanoi")))


@pytest.mark.parametrize("target", TARGETS)
def test_exact_checks_are_a_warning(target: str) -> None:
    view = copy.deepcopy(plan("hanoi"))
    view["ops"]["move"]["booster"] = {
        "kind": "retry",
        "votes": None,
        "retries": 3,
        "check": "exact",
    }
    backend = registry.get(target)
    emitted, runtime = backend.emit(view)
    assert runtime.path == "aalp_runtime.py"
    assert "CHECKS: dict[str, Any] = {'move': None}" in emitted.text
    assert any("CHECKS['move']" in w for w in backend.warnings(view))


@pytest.mark.parametrize("target", ("python", "ray", *TARGETS))
def test_no_emitted_module_defines_a_name_twice(target: str) -> None:
    """An emitted program is one module assembled from many templates: a top-level function,
    class or constant defined twice would silently replace the first (a Ray task once called
    the driver's ``_failed`` that way)."""
    import ast
    from collections import Counter

    for path in sorted((regen_golden.GOLDEN / target).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names: Counter[str] = Counter()
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names[node.name] += 1
        twice = sorted(name for name, count in names.items() if count > 1)
        assert not twice, f"{path.relative_to(regen_golden.GOLDEN)} defines {twice} twice"

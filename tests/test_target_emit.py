"""Every sample compiles for every framework target without the framework installed; every
emitted file compiles, is ruff-clean, and is byte-identical across two emissions."""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from aalp.backends import registry
from aalp.backends.base import write
from aalp.backends.view import build_view

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted((ROOT / "samples").glob("*.aalp"))
TARGETS = ("langgraph", "dspy", "openai-agents")


@functools.cache
def _view(path: Path) -> dict:
    from aalp.loader import load
    from aalp.optimize import optimize

    checked = load(path, {"disks": "4"} if path.stem == "hanoi" else {})
    result = optimize(checked)
    decisions = getattr(result, "decisions", None) or result.plan.decisions
    return build_view(checked, checked.spec.tasks[0], decisions)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_emits_clean_deterministic_code(sample: Path, target: str, tmp_path: Path) -> None:
    view = _view(sample)
    backend = registry.get(target)
    first, second = backend.emit(view), backend.emit(view)
    assert [f.text for f in first] == [f.text for f in second]
    paths = write(first, str(tmp_path))
    for path in paths:
        compile(Path(path).read_text(), path, "exec")
    frameworks = ("langgraph", "dspy", "agents", "langchain_core", "langchain_openai")
    assert not any(name in sys.modules for name in frameworks)
    if shutil.which("ruff"):
        lint = subprocess.run(
            ["ruff", "check", "--isolated", "--line-length", "100", *paths],
            capture_output=True,
            text=True,
            check=False,
        )
        assert lint.returncode == 0, lint.stdout

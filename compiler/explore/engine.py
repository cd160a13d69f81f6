"""The explorer's only door to the compiler: parse, check, optimize, evaluate, explain, emit.

Every call the explorer makes into the rest of aalp goes through this file, so the page shows
exactly what ``aalp check``, ``aalp explain`` and ``aalp compile`` print for the same spec.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from aalp.front.ir import Spec


@lru_cache(maxsize=64)
def parse(text: str, file: str) -> Spec:
    """Parse spec text (cached: the page re-sends the same text with every slider move).

    Raises ``SpecError`` with every syntax diagnostic. The IR is immutable, so sharing a cached
    result between requests is safe.
    """
    from aalp.front.parser import parse as parse_spec

    return parse_spec(text, file=file)


def check(spec: Spec, overrides: Mapping[str, str]) -> Any:
    """Check ``spec`` with ``-D`` overrides, as ``aalp.checks.loader.load_text`` does (prompt files
    included); returns ``Checked`` or raises ``SpecError``."""
    from aalp.checks.checker import check as check_spec
    from aalp.checks.loader import prompt_folder, prompt_problems

    from ..diagnostics import SpecError, sort_key

    checked = check_spec(spec, dict(overrides))
    missing = prompt_problems(spec, prompt_folder(spec.file))
    if missing:
        raise SpecError(sorted([*checked.diagnostics, *missing], key=sort_key))
    return checked


def optimize(checked: Any, task: str, *, frontier: bool = True) -> Any:
    """The optimizer's result for ``task`` (plan, frontier, baselines), as ``aalp explain``."""
    from aalp.optimizer.driver import optimize as run

    return run(checked, task, frontier=frontier)


def evaluate(checked: Any, task: str, decisions: Mapping[str, Any]) -> Any:
    """The cost model's ``Evaluation`` of one fully decided plan."""
    from aalp.model.cost import evaluate as run

    return run(checked, task, decisions)


def targets() -> list[tuple[str, str]]:
    """``(name, description)`` of every code-generation target."""
    from ..backends import registry

    return registry.describe()


def emit(checked: Any, task: str, target: str) -> list[Any]:
    """The files ``aalp compile --target TARGET`` writes for the optimal plan of ``task``
    (``Emitted`` items: path and text)."""
    from aalp.api import compile as compile_plan

    return compile_plan(checked, target, task).files


def archive(files: list[Any]) -> bytes:
    """The emitted files as one zip, byte-identical for the same files (``aalp compile -o -``)."""
    from aalp.backends.base import archive as zipped

    return zipped(files)


def growth(checked: Any, result: Any) -> tuple[str | None, Any, dict[str, Any]]:
    """``aalp explain``'s growth measurement: the size variable, the optimum's ``Growth`` (or
    None) and each baseline's, from re-optimizing over a ladder of sizes."""
    from aalp.explainer.growth import growth_series, size_variable

    task = next(t for t in checked.spec.tasks if t.name == result.task)
    plan, baselines = growth_series(checked, result)
    return size_variable(task), plan, baselines

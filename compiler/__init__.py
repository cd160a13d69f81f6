"""aalp: an optimizing compiler from task specs to LLM-agent topologies.

The public API (``aalp.api``, docs/api.md): ``parse``, ``check``, ``load``, ``load_text``,
``build_plan``, ``optimize``, ``explain``, ``resolve`` and ``compile``. They are imported on first
use, so ``import aalp`` stays cheap.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "build_plan",
    "check",
    "compile",
    "explain",
    "load",
    "load_text",
    "optimize",
    "parse",
    "resolve",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from aalp import api

        return getattr(api, name)
    raise AttributeError(f"module 'aalp' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])

"""Answers read exactly as the emitted programs read them: the runtime core every target
emits (``backends/templates/_runtime_core.py.j2``), rendered once and loaded here, so a
calibration's "right", "wrong" and "red-flagged" are a run's."""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def runtime() -> dict[str, Any]:
    """The runtime core's names (``parse_answer``, ``answer_key``, ...)."""
    from importlib import resources

    import jinja2

    text = (resources.files("aalp.backends") / "templates" / "_runtime_core.py.j2").read_text(
        encoding="utf-8"
    )
    source = jinja2.Template(text, undefined=jinja2.StrictUndefined).render(combine_needs_py="{}")
    header = (
        "from __future__ import annotations\nimport json, math, re\n"
        "from collections import Counter\nfrom typing import Any\n"
        "_to_json = json.JSONEncoder(ensure_ascii=False).encode\n"
    )
    names: dict[str, Any] = {"__name__": "aalp_runtime_core"}
    exec(compile(header + source, "<aalp runtime core>", "exec"), names)
    return names


def read(form: str, text: str) -> tuple[bool, Any]:
    """``(parsed, answer)`` of one response in answer format ``form``."""
    try:
        return True, runtime()["parse_answer"](form, text)
    except (ValueError, RecursionError):
        return False, None


def key(answer: Any) -> str:
    """The canonical form votes compare answers by."""
    return runtime()["answer_key"](answer)

"""Python literals for generated code, computed with ``repr()`` and wrapped to a line width.

Every value that reaches a template goes through ``py_literal`` first, so user text can only
ever appear inside a string literal that Python itself escaped: quotes, backslashes, braces,
newlines and unicode cannot change the code around them.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping, Sequence

Literal = None | bool | int | float | str | Sequence["Literal"] | Mapping[str, "Literal"]


def display_width(text: str) -> int:
    """Columns ``text`` takes in an editor (and in ruff's line-length rule): wide and
    full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _scalar(value: object) -> str | None:
    match value:
        case None | bool():
            return repr(value)
        case int():
            return repr(value)
        case float() if math.isfinite(value):
            return repr(value)
        case float():
            # inf and nan have no literal; the generated code imports math for them.
            return "math.inf" if value > 0 else "-math.inf" if value < 0 else "math.nan"
        case str():
            return repr(value)
    return None


def _string_pieces(text: str, budget: int) -> list[str]:
    """Split ``text`` into consecutive pieces whose repr fits ``budget`` columns (at least one
    character each), preferring to break after a newline or a space."""
    pieces: list[str] = []
    start = 0
    while start < len(text):
        end = start
        used = 2  # the quotes
        last_break = -1
        while end < len(text):
            w = 2 if text[end] in "'\"" else display_width(repr(text[end])) - 2
            if used + w > budget and end > start:
                break
            used += w
            end += 1
            if text[end - 1] in "\n ":
                last_break = end
        if end < len(text) and last_break > start:
            end = last_break
        pieces.append(text[start:end])
        start = end
    return pieces


def py_literal(value: object, indent: int = 0, width: int = 99, start: int | None = None) -> str:
    """The Python source of ``value`` for a literal whose first line begins at column
    ``start`` (default ``indent``) and whose continuation lines are indented by ``indent``;
    lines stay within ``width`` columns (a trailing comma included). Round trip:

    >>> import ast
    >>> v = {"a": ['x"y', "'''\\n{}"], "b": 1.5, "c": None}
    >>> ast.literal_eval(py_literal(v)) == v
    True
    >>> py_literal("ab", width=99)
    "'ab'"
    """
    column = indent if start is None else start
    one_line = _flat(value)
    if one_line is not None and column + display_width(one_line) + 1 <= width:
        return one_line
    pad = " " * (indent + 4)
    close = " " * indent
    match value:
        case str():
            pieces = _string_pieces(value, max(16, width - indent - 4))
            if len(pieces) == 1 and column + display_width(repr(value)) + 1 <= width:
                return repr(value)
            body = "\n".join(pad + repr(p) for p in pieces)
            return "(\n" + body + "\n" + close + ")"
        case Mapping():
            lines = []
            for key, item in value.items():
                key_src = repr(str(key))
                start_col = indent + 4 + display_width(key_src) + 2
                item_src = py_literal(item, indent + 4, width, start_col)
                lines.append(f"{pad}{key_src}: {item_src},")
            return "{\n" + "\n".join(lines) + "\n" + close + "}"
        case list() | tuple():
            open_, end = ("[", "]") if isinstance(value, list) else ("(", ")")
            lines = [f"{pad}{py_literal(item, indent + 4, width)}," for item in value]
            return open_ + "\n" + "\n".join(lines) + "\n" + close + end
    scalar = _scalar(value)
    if scalar is None:
        raise TypeError(f"no Python literal for {type(value).__name__}")
    return scalar


def _flat(value: object) -> str | None:
    """The one-line source of ``value``, or None if it contains a newline-free form only
    through a multi-line layout (never: everything has a one-line form)."""
    scalar = _scalar(value)
    if scalar is not None:
        return scalar
    match value:
        case Mapping():
            inner = ", ".join(f"{str(k)!r}: {_flat(v)}" for k, v in value.items())
            return "{" + inner + "}"
        case list():
            return "[" + ", ".join(str(_flat(v)) for v in value) + "]"
        case tuple():
            items = [str(_flat(v)) for v in value]
            return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    raise TypeError(f"no Python literal for {type(value).__name__}")

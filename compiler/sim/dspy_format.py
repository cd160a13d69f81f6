"""DSPy's chat format on the simulated server: ``[[ ## field ## ]]`` sections.

DSPy's ``ChatAdapter`` lists a signature's fields in the system message, sends the inputs as
``[[ ## name ## ]]`` sections of the user message, and parses the reply's sections. A request
in that format gets its answer back as the signature's first output field, then the
``[[ ## completed ## ]]`` marker, so DSPy programs run against the simulator unchanged.
"""

from __future__ import annotations

import re
from typing import Any

_FIELD = re.compile(r"^\[\[ ## (\w+) ## \]\]$", re.MULTILINE)  # a section header line


def squash(text: str) -> str:
    """``text`` with every run of whitespace as one space (DSPy re-indents instructions)."""
    return " ".join(text.split())


def output_field(messages: list[dict[str, Any]]) -> str | None:
    """The first output field of a DSPy request, or None when the request is not DSPy's."""
    user = messages[-1].get("content")
    system = next((m.get("content") for m in messages if m.get("role") == "system"), None)
    if not isinstance(user, str) or not isinstance(system, str) or "[[ ## " not in user:
        return None
    inputs = set(_FIELD.findall(user))
    for name in _FIELD.findall(system):
        if name not in inputs and name != "completed":
            return name
    return None


def wrap(messages: list[dict[str, Any]], response: dict[str, Any]) -> dict[str, Any]:
    """The response with its text as DSPy's output section when the request was DSPy's."""
    field = output_field(messages)
    if field is None:
        return response
    for choice in response.get("choices", []):
        text = choice["message"]["content"]
        choice["message"]["content"] = f"[[ ## {field} ## ]]\n{text}\n\n[[ ## completed ## ]]"
    return response

"""Structured outputs on the simulated server: an answer as the schema's one string field.

A request whose ``response_format`` is a JSON schema (what ``output_pydantic`` in CrewAI or
``with_structured_output`` in LangChain send) gets its answer's text back as the JSON object
``{"FIELD": text}``, FIELD the schema's only property, which must be a string: the simulated
model writes the same text it would write unstructured, and the program reads it by the same
rules. A schema of another shape is refused (the server answers HTTP 400).
"""

from __future__ import annotations

import json
from typing import Any


def field(response_format: Any) -> str | None:
    """The one string property a ``json_schema`` response format asks for; None when the
    request asks for no schema (or for plain JSON mode, which the answer text already is);
    ``ValueError`` for a schema of another shape."""
    if not isinstance(response_format, dict) or response_format.get("type") != "json_schema":
        return None
    spec = response_format.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, dict) else None
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if isinstance(properties, dict) and len(properties) == 1:
        (name, prop), *_ = properties.items()
        if isinstance(prop, dict) and prop.get("type") == "string":
            return str(name)
    raise ValueError("the simulated model answers a JSON schema of one string field only")


def structured(name: str | None, response: dict[str, Any]) -> dict[str, Any]:
    """The response with its text as ``{name: text}`` when a schema's field ``name`` was
    asked for (``field``), else unchanged."""
    if name is None:
        return response
    for choice in response.get("choices", []):
        text = choice["message"]["content"]
        choice["message"]["content"] = json.dumps({name: text}, ensure_ascii=False)
    return response

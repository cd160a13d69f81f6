"""Structured outputs on the simulated server: an answer as the schema's one field.

A request whose ``response_format`` is a JSON schema (what ``output_pydantic`` in CrewAI or
``with_structured_output`` in LangChain send) gets its answer's text back as the JSON object
``{"FIELD": value}``, FIELD the schema's only property. The simulated model writes the same
text it would write unstructured: for a ``string`` field the value is that text; for a
``number``, ``integer``, ``array`` or ``object`` field it is the text's JSON value when the
text is JSON of that type, and otherwise the text itself, as a string (a model ignoring the
field's type: the program reads it by the same rules). A schema of another shape is refused
(the server answers HTTP 400).
"""

from __future__ import annotations

import json
from typing import Any

#: the JSON types a schema's one field may have, and the Python values of each
TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "array": (list,),
    "object": (dict,),
}


def field(response_format: Any) -> tuple[str, str] | None:
    """The one property a ``json_schema`` response format asks for, with its JSON type; None
    when the request asks for no schema (or for plain JSON mode, which the answer text
    already is); ``ValueError`` for a schema of another shape."""
    if not isinstance(response_format, dict) or response_format.get("type") != "json_schema":
        return None
    spec = response_format.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, dict) else None
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if isinstance(properties, dict) and len(properties) == 1:
        (name, prop), *_ = properties.items()
        if isinstance(prop, dict) and prop.get("type") in TYPES:
            return str(name), str(prop["type"])
    raise ValueError(
        "the simulated model answers a JSON schema of one field only, of type " + ", ".join(TYPES)
    )


def value(kind: str, text: str) -> Any:
    """The value of a field of JSON type ``kind`` for the answer ``text``: its JSON value when
    it is of that type, else the text (as a model ignoring the type would write it)."""
    if kind == "string":
        return text
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    if isinstance(parsed, bool) or not isinstance(parsed, TYPES[kind]):
        return text
    return parsed


def structured(asked: tuple[str, str] | None, response: dict[str, Any]) -> dict[str, Any]:
    """The response with its text as ``{name: value}`` when a schema's field ``(name,
    kind)`` was asked for (``field``), else unchanged."""
    if asked is None:
        return response
    name, kind = asked
    for choice in response.get("choices", []):
        text = choice["message"]["content"]
        if text is None:  # a tool call (a handoff): no text to put in the field
            continue
        reply = {name: value(kind, text)}
        choice["message"]["content"] = json.dumps(reply, ensure_ascii=False)
    return response

"""The simulated LLM answers a framework's wrapped requests and structured outputs: a request
inside longer text (and followed by a schema) is found, and a JSON-schema response format of
one field gets the same answer text inside that field (a typed field: its value, when the
text is JSON of the field's type)."""

from __future__ import annotations

import json

import pytest
from aalp.sim import SimCore
from aalp.sim.core import SimError
from aalp.sim.structured import value
from test_sim import body, content

REQUEST = {"x": 10, "chunk": 0, "items": "7177077777"}


def _schema(**properties: dict) -> dict:
    schema = {"type": "object", "properties": properties, "required": list(properties)}
    return {"type": "json_schema", "json_schema": {"name": "A", "schema": schema, "strict": True}}


def test_a_request_wrapped_in_text_and_followed_by_a_schema_is_found(load_sample) -> None:
    core = SimCore(load_sample("counting"), seed=1)
    plain = content(core.complete(body(core, "count", "gpt4omini", REQUEST), "k1"))
    wrapped = body(core, "count", "gpt4omini", REQUEST)
    wrapped["messages"][-1]["content"] = (
        f"\nCurrent Task: {json.dumps(REQUEST)}\n\nFormat your final answer according to "
        'this schema: {\n  "properties": {"answer": {"type": "string"}}\n}\n'
    )
    assert content(core.complete(wrapped, "k1")) == plain  # the same call key, the same answer


def test_a_one_string_field_schema_gets_the_answer_text_in_that_field(load_sample) -> None:
    core = SimCore(load_sample("counting"), seed=1)
    plain = content(core.complete(body(core, "count", "gpt4omini", REQUEST), "k2"))
    asked = body(
        core, "count", "gpt4omini", REQUEST, response_format=_schema(answer={"type": "string"})
    )
    assert json.loads(content(core.complete(asked, "k2"))) == {"answer": plain}
    # JSON mode (no schema) is the plain text, which already is JSON for a number
    json_mode = body(core, "count", "gpt4omini", REQUEST, response_format={"type": "json_object"})
    assert content(core.complete(json_mode, "k2")) == plain


def test_a_typed_field_gets_the_answer_text_as_its_value(load_sample) -> None:
    """A number field holds the count the text says; the same text as the unstructured call."""
    core = SimCore(load_sample("counting"), seed=1)
    plain = content(core.complete(body(core, "count", "gpt4omini", REQUEST), "k4"))
    asked = body(
        core, "count", "gpt4omini", REQUEST, response_format=_schema(answer={"type": "number"})
    )
    got = json.loads(content(core.complete(asked, "k4")))["answer"]
    assert got == (json.loads(plain) if plain.strip().lstrip("-").isdigit() else plain)


@pytest.mark.parametrize(
    ("kind", "text", "expected"),
    [
        ("number", "12", 12),
        ("number", "2.5", 2.5),
        ("number", "1,234", "1,234"),  # not JSON: the text, which the program reads
        ("number", "true", "true"),  # JSON, but not a number
        ("integer", "2.5", "2.5"),
        ("array", "[1, 2]", [1, 2]),
        ("array", "{}", "{}"),
        ("object", '{"a": 1}', {"a": 1}),
        ("string", "12", "12"),
    ],
)
def test_a_field_holds_the_texts_value_of_its_type_or_the_text(kind, text, expected) -> None:
    assert value(kind, text) == expected
    assert type(value(kind, text)) is type(expected)


@pytest.mark.parametrize(
    "properties",
    [
        {"answer": {"type": "boolean"}},
        {"answer": {}},
        {"a": {"type": "string"}, "b": {"type": "string"}},
        {},
    ],
)
def test_another_schema_is_refused(load_sample, properties: dict) -> None:
    core = SimCore(load_sample("counting"), seed=1)
    asked = body(core, "count", "gpt4omini", REQUEST, response_format=_schema(**properties))
    with pytest.raises(SimError, match="one field only"):
        core.complete(asked, "k3")
    assert core.stats()["calls"] == 0  # refused before it was a call

"""Handoffs on the simulated server: a classifier's answer as the transfer tool it names.

A request that offers function tools named ``transfer_to_<label>`` (the Agents SDK's
handoffs) gets, when its simulated answer is such a label, a message whose ``tool_calls``
call that tool with ``{}`` arguments, ``finish_reason: "tool_calls"``, and the same usage: the
answer is drawn from the call's key exactly as when no tool is offered, so the label, and the
call, are the same either way. An answer naming no offered tool stays a text answer.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

PREFIX = "transfer_to_"


def offered(body: dict[str, Any]) -> set[str]:
    """The names of the ``transfer_to_...`` function tools a request offers."""
    tools = body.get("tools")
    names = set()
    for tool in tools if isinstance(tools, list) else []:
        function = tool.get("function") if isinstance(tool, dict) else None
        name = function.get("name") if isinstance(function, dict) else None
        if isinstance(name, str) and name.startswith(PREFIX):
            names.add(name)
    return names


def label_of(text: str) -> str:
    """The label an answer text names: the text, or the JSON string it is."""
    try:
        value = json.loads(text)
    except ValueError:
        return text.strip()
    return value if isinstance(value, str) else text.strip()


def handed_off(body: dict[str, Any], response: dict[str, Any], key: str) -> dict[str, Any]:
    """``response`` with each choice whose answer names an offered transfer tool turned into
    that tool's call (its id from the call's ``key``); unchanged when none is offered."""
    names = offered(body)
    if not names:
        return response
    for choice in response.get("choices", []):
        message = choice["message"]
        name = PREFIX + label_of(message.get("content") or "")
        if name not in names:
            continue
        call_id = "call_" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]
        function = {"name": name, "arguments": "{}"}
        choice["message"] = {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": call_id, "type": "function", "function": function}],
        }
        choice["finish_reason"] = "tool_calls"
    return response

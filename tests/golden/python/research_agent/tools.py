"""The plan's tools, one function per tool: ``TOOL(op, request, call) -> str``.

The program calls a tool's function for each call of an op that runs on it (``op OP on
TOOL``): ``op`` names the op, ``request`` is the JSON object the stage built for it (its
``items``, ``previous``, ``children``...) and ``call`` the call's key (the same key when the
call is tried again). Return the tool's answer as text: the program reads it in the op's
answer format, as it reads a model's.

As emitted, each function posts ``{"op": OP, "request": REQUEST}`` to ``BASE_URL/tools/TOOL``
with the key in the ``X-Aalp-Call`` header and returns the ``result`` text of the JSON object
it answers (``aalp serve-sim`` serves every tool of the spec so). The program sets
``BASE_URL`` from ``--tool-url`` (default: ``--base-url``). Point it at your tool, or replace
a function's body: raise ``OSError`` (``ConnectionError``, ``TimeoutError``, urllib's
``HTTPError`` with a status of 500 or more, 408, 409 or 429) for a failure the program tries
again, an ``HTTPError`` of another status to stop the run, ``ValueError`` for an answer
without a result (tried again). Run the program with ``--tools FILE`` to use another file.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

#: where the tools are served, and seconds to wait for one answer (set by the program; a
#: program given no URL stops at start while ``BASE_URL`` is empty)
BASE_URL = ""
TIMEOUT = 600.0


def search_api(op: str, request: dict[str, Any], call: str) -> str:
    """Tool search_api ($0.001 per call, 800 ms): the calls of op search."""
    return post('search_api', op, request, call)


def post(tool: str, op: str, request: dict[str, Any], call: str) -> str:
    """One call of ``tool`` over HTTP: the ``result`` text of its JSON answer."""
    body = json.dumps({"op": op, "request": request}, ensure_ascii=False).encode("utf-8")
    asked = urllib.request.Request(
        f"{BASE_URL.rstrip('/')}/tools/{tool}",
        data=body,
        headers={"Content-Type": "application/json", "X-Aalp-Call": call},
        method="POST",
    )
    with urllib.request.urlopen(asked, timeout=TIMEOUT) as response:
        answer = json.loads(response.read())
    result = answer.get("result") if isinstance(answer, dict) else None
    if not isinstance(result, str):
        raise ValueError(f"tool {tool}: an answer without a 'result' text")
    return result

"""One chat completion for a calibration: over HTTP to an OpenAI-compatible endpoint, or
in-process against the simulated LLM (the tests' fast path; the same answers as over HTTP)."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from aalp import codes
from aalp.diagnostics import AalpError


class EndpointError(AalpError):
    """The endpoint kept failing, or answered without an answer."""

    code = codes.BAD_EXAMPLES


@dataclass(frozen=True)
class Reply:
    """One response: its text, the usage the API reported, the wall time and, when the
    endpoint reports them (llama.cpp's ``timings``), the prefill and decode seconds."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    prefill_seconds: float | None = None
    decode_seconds: float | None = None


def reply_of(payload: Any, seconds: float) -> Reply:
    """A ``Reply`` from a chat-completion body; ``EndpointError`` when it holds no answer."""
    try:
        text = payload["choices"][0]["message"]["content"]
        usage = payload.get("usage") or {}
        reads, writes = int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))
    except (KeyError, IndexError, TypeError, ValueError, AttributeError):
        raise EndpointError("the endpoint answered without a chat completion") from None
    if not isinstance(text, str):
        raise EndpointError("the endpoint answered without a message")
    timings = payload.get("timings") if isinstance(payload.get("timings"), dict) else {}
    prefill = timings.get("prompt_ms")
    decode = timings.get("predicted_ms")
    return Reply(
        text,
        reads,
        writes,
        seconds,
        None if not isinstance(prefill, int | float) else prefill / 1000.0,
        None if not isinstance(decode, int | float) else decode / 1000.0,
    )


class HttpEndpoint:
    """``POST {base_url}/chat/completions`` with ``OPENAI_API_KEY`` when it is set; transport
    errors and HTTP 5xx/429 are tried again ``retries`` times."""

    def __init__(self, base_url: str, timeout: float = 120.0, retries: int = 4):
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.timeout = timeout
        self.retries = retries
        self.key = os.environ.get("OPENAI_API_KEY", "")

    def complete(self, body: dict[str, Any], call: str) -> Reply:
        data = json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json", "X-Aalp-Call": call}
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        problem = ""
        for attempt in range(self.retries + 1):
            request = urllib.request.Request(self.url, data, headers, method="POST")
            start = time.monotonic()
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    payload = json.loads(response.read())
                return reply_of(payload, time.monotonic() - start)
            except urllib.error.HTTPError as err:
                problem = f"HTTP {err.code}"
                if err.code < 500 and err.code != 429:
                    detail = err.read()[:300].decode("utf-8", "replace")
                    raise EndpointError(
                        f"the endpoint refused a call: {problem}: {detail}"
                    ) from None
            except (urllib.error.URLError, OSError, ValueError, EndpointError) as err:
                problem = str(getattr(err, "reason", err))
            time.sleep(min(2.0**attempt * 0.1, 5.0) if attempt < self.retries else 0)
        raise EndpointError(f"the endpoint kept failing ({problem}) at {self.url}")


class SimEndpoint:
    """The simulated LLM's core called directly: what ``serve-sim`` would answer, without
    HTTP (its faults of the transport are not drawn)."""

    def __init__(self, core: Any):
        self.core = core

    def complete(self, body: dict[str, Any], call: str) -> Reply:
        start = time.monotonic()
        payload = self.core.complete(body, call)
        return reply_of(payload, time.monotonic() - start)

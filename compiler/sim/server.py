"""The simulated LLM over HTTP: ``/v1/chat/completions``, ``/v1/models``, ``/sim/stats``, and
the spec's tools at ``/tools/NAME`` (or ``/v1/tools/NAME``: beside the base URL).

Standard library only (``http.server``): a threading server bound to 127.0.0.1, started and
stopped from a background thread so tests can run it in-process and always shut it down.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .core import SimCore, SimError, broken_body
from .tools import tool_call

#: the largest request body read (1 MiB); a longer one is refused unread with HTTP 413
MAX_BODY = 1 << 20
#: seconds a request body may take to arrive once its headers are in
BODY_TIMEOUT = 30.0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stalls
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def _send(self, status: int, payload: dict[str, Any], close: bool = False) -> None:
        self._send_raw(status, json.dumps(payload).encode("utf-8"), close)

    def _send_raw(self, status: int, data: bytes, close: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if close:
            # a body left unread would be taken for the next request: end the connection
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, close: bool = False) -> None:
        kind = "server_error" if status >= 500 else "invalid_request_error"
        self._send(status, {"error": {"message": message, "type": kind, "code": status}}, close)

    def _body(self) -> bytes | None:
        """The request body, or None once an error is sent (a Content-Length that is not a
        number or above ``MAX_BODY``, or a body that does not arrive): never read unbounded."""
        headers = self.headers.get_all("Content-Length") or []
        if not headers:
            return b""
        text = headers[0].strip()
        if not (text.isascii() and text.isdigit()) or any(h.strip() != text for h in headers):
            self._error(400, f"bad Content-Length {headers[0][:40]!r}: not a number", close=True)
            return None
        length = int(text) if len(text) <= 18 else MAX_BODY + 1
        if length > MAX_BODY:
            self._error(413, f"a body over {MAX_BODY} bytes is refused", close=True)
            return None
        if not length:
            return b""
        self.connection.settimeout(BODY_TIMEOUT)
        try:
            raw = self.rfile.read(length)
        except TimeoutError:
            message = f"the body ({length} bytes) did not arrive within {BODY_TIMEOUT:g} s"
            self._error(408, message, close=True)
            return None
        finally:
            self.connection.settimeout(None)
        if len(raw) < length:  # the client closed its side early
            self._error(400, f"the body ended after {len(raw)} of {length} bytes", close=True)
            return None
        return raw

    def do_GET(self) -> None:
        core = self.server.core
        match self.path.rstrip("/"):
            case "/v1/models":
                self._send(200, core.models())
            case "/sim/stats":
                self._send(200, core.stats())
            case "/health" | "":
                self._send(200, {"ok": True, "task": core.task.name})
            case _:
                self._error(404, f"no route {self.path}")

    def do_POST(self) -> None:
        core = self.server.core
        raw = self._body()
        if raw is None:
            return
        path = self.path.rstrip("/")
        if path == "/sim/reset":
            core.reset()
            self._send(200, {"ok": True})
            return
        tool = _tool_route(path)
        if path != "/v1/chat/completions" and tool is None:
            self._error(404, f"no route {self.path}")
            return
        try:
            body = json.loads(raw or b"{}")
        except (ValueError, RecursionError):  # not JSON, not UTF-8, nested too deep
            self._error(400, "the body is not JSON")
            return
        key = self.headers.get("X-Aalp-Call")
        if core.faults.delay_ms:
            time.sleep(core.faults.delay_ms / 1000.0)
        # a request without a call key (a framework's) draws its faults by its body
        fault = core.fault(key or "body:" + hashlib.sha256(raw).hexdigest()[:16])
        if fault == "fail":
            self._error(500, "simulated server error")
            return
        if fault is not None:  # a 200 whose body holds no answer: the call did not happen
            self._send_raw(200, broken_body(fault))
            return
        try:
            if tool is not None:
                payload = tool_call(core, tool, body, key)
            else:
                payload = core.complete(body if isinstance(body, dict) else {}, key)
        except SimError as err:
            self._error(err.status, str(err))
            return
        except Exception as err:  # a request the oracle cannot read: say so, keep serving
            self._error(500, f"the simulator cannot answer this request: {err!r}"[:300])
            return
        self._send(200, payload)


def _tool_route(path: str) -> str | None:
    """The tool a ``POST`` path calls (``/tools/NAME`` or ``/v1/tools/NAME``), else None."""
    head, sep, name = path.rpartition("/tools/")
    if sep and head in ("", "/v1") and name and "/" not in name:
        return name
    return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # stopping never waits for a client that keeps its connection open (keep-alive)
    block_on_close = False
    allow_reuse_address = True
    # the default backlog of 5 resets connections when a program opens dozens at once
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], core: SimCore, verbose: bool):
        super().__init__(address, _Handler)
        self.core = core
        self.verbose = verbose

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a client that went away (a killed run): nothing to report
        super().handle_error(request, client_address)


class SimServer:
    """The simulated LLM on ``127.0.0.1:port`` (0 = a free port), run in a thread.

    Use as a context manager, or ``start()`` / ``stop()``; ``url`` is the OpenAI base URL.
    """

    def __init__(self, core: SimCore, port: int = 0, verbose: bool = False):
        self.core = core
        self.httpd = _Server(("127.0.0.1", port), core, verbose)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.thread: threading.Thread | None = None

    def start(self) -> SimServer:
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, daemon=True, kwargs={"poll_interval": 0.05}
        )
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.thread is not None:
            self.httpd.shutdown()
            self.thread.join(timeout=10)
            self.thread = None
        self.httpd.server_close()

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

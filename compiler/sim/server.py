"""The simulated LLM over HTTP: ``/v1/chat/completions``, ``/v1/models``, ``/sim/stats``.

Standard library only (``http.server``): a threading server bound to 127.0.0.1, started and
stopped from a background thread so tests can run it in-process and always shut it down.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .core import SimCore, SimError


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stalls
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str) -> None:
        kind = "server_error" if status >= 500 else "invalid_request_error"
        self._send(status, {"error": {"message": message, "type": kind, "code": status}})

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
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = self.path.rstrip("/")
        if path == "/sim/reset":
            core.reset()
            self._send(200, {"ok": True})
            return
        if path != "/v1/chat/completions":
            self._error(404, f"no route {self.path}")
            return
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._error(400, "the body is not JSON")
            return
        key = self.headers.get("X-Aalp-Call")
        if core.faults.delay_ms:
            time.sleep(core.faults.delay_ms / 1000.0)
        if key is not None and core.fault(key) == "fail":
            self._error(500, "simulated server error")
            return
        try:
            payload = core.complete(body if isinstance(body, dict) else {}, key)
        except SimError as err:
            self._error(err.status, str(err))
            return
        self._send(200, payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
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

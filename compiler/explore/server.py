"""The explorer's web server: the page, its own assets, and JSON over the API functions.

It binds to 127.0.0.1 only and serves nothing but the files under ``static/``. Requests must
come from the page itself: a ``Host`` other than the loopback address (DNS rebinding) or a
foreign ``Origin`` (another site posting to this port) is refused, and the API reads JSON only,
at most ``MAX_BODY`` bytes, counted as they arrive.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..diagnostics import Diagnostic, SpecError
from . import api, engine
from .controls import Settings, SettingsError, settings_from_json

STATIC = Path(__file__).parent / "static"
HOST = "127.0.0.1"
Json = dict[str, Any]
MAX_BODY = 1 << 20  # a spec is a few kilobytes; refuse anything absurd
TOO_LARGE = f"request too large: at most {MAX_BODY >> 10} KiB (a spec is a few kilobytes)"


@dataclass(frozen=True)
class Document:
    """The spec the explorer was opened on: its display name, where "save" writes it, its
    text, and the ``-D`` overrides the page starts with.

    Every spec text a request sends is loaded under ``name``, never under a name the request
    gives, so its prompt files are looked up in this spec's folder only.
    """

    name: str
    path: Path | None
    text: str
    params: Mapping[str, str] = field(default_factory=dict)


def create_app(document: Document) -> Any:
    """The Starlette application serving ``document``."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import FileResponse, JSONResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    def error(status: int, message: str) -> Response:
        return JSONResponse({"ok": False, "error": message}, status_code=status)

    async def body(request: Request) -> tuple[dict[str, Any], Settings, str]:
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            raise _BadRequest(415, "send JSON (content-type application/json)")
        raw = await _read_body(request)
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise _BadRequest(400, "the request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise _BadRequest(400, "the request body must be a JSON object")
        text = data.get("text", document.text)
        if not isinstance(text, str):
            raise _BadRequest(400, "'text' must be a string")
        settings = data.get("settings") or {}
        if not isinstance(settings, dict):
            raise _BadRequest(400, "'settings' must be an object")
        try:
            return data, settings_from_json(settings), text
        except SettingsError as err:
            raise _BadRequest(400, str(err)) from None

    sweeps = Latest()

    Compute = Callable[[dict[str, Any], Settings, str], Any]

    def confined(compute: Compute) -> Compute:
        """``compute``, unless the text names a prompt file outside the spec's folder."""
        return lambda data, settings, text: (
            _confined(text, document.name) or compute(data, settings, text)
        )

    def endpoint(compute: Compute) -> Callable:
        async def handle(request: Request) -> Response:
            if not _same_origin(request):
                return error(403, "requests must come from the explorer's own page")
            try:
                data, settings, text = await body(request)
                # The optimizer is CPU-bound: run it off the event loop so the server stays
                # responsive.
                result = await asyncio.to_thread(compute, data, settings, text)
            except _BadRequest as err:
                return error(err.status, err.message)
            except Exception as err:  # a bug in aalp, not bad input: one line on the page
                logging.getLogger("aalp.explore").exception("internal error")
                message = f"internal error (a bug in aalp; please report it): {err}"
                return JSONResponse({"ok": False, "diagnostics": [api.problem(message, "X003")]})
            if isinstance(result, Response):
                return result
            return JSONResponse(result)

        return handle

    def check(data: dict[str, Any], settings: Settings, text: str) -> Any:
        return api.check_spec(text, document.name, settings)

    def optimize(data: dict[str, Any], settings: Settings, text: str) -> Any:
        return api.optimize_spec(text, document.name, settings)

    def plan(data: dict[str, Any], settings: Settings, text: str) -> Any:
        decisions = data.get("decisions")
        if not isinstance(decisions, dict):
            raise _BadRequest(400, "'decisions' must be an object")
        return api.plan_for(text, document.name, settings, decisions)

    def sweep(data: dict[str, Any], settings: Settings, text: str) -> Any:
        known = api.recall("sweep", text, document.name, settings)
        if known is not None:
            return known
        answer = sweeps.run(text, document.name, settings)
        if answer is None:  # a newer sweep took its place: the page no longer wants this one
            return {"ok": False, "superseded": True, "diagnostics": []}
        api.remember("sweep", text, document.name, settings, answer)
        return answer

    def emit(data: dict[str, Any], settings: Settings, text: str) -> Any:
        target = data.get("target")
        if not isinstance(target, str):
            raise _BadRequest(400, "'target' must name a target")
        result = api.emit_zip(text, document.name, settings, target)
        if isinstance(result, dict):
            return result
        stem = Path(document.name).stem or "spec"
        headers = {"content-disposition": f'attachment; filename="{stem}-{target}.zip"'}
        return Response(result, media_type="application/zip", headers=headers)

    def save(data: dict[str, Any], settings: Settings, text: str) -> Any:
        if document.path is None:
            raise _BadRequest(409, "this spec has no file to save to; download it instead")
        try:
            document.path.write_text(text, encoding="utf-8")
        except OSError as err:
            raise _BadRequest(409, f"cannot save {document.name}: {err.strerror or err}") from None
        return {"ok": True, "saved": document.name}

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"cache-control": "no-store"})

    async def spec(request: Request) -> Response:
        return JSONResponse(
            {
                "name": document.name,
                "text": document.text,
                "can_save": document.path is not None,
                "params": dict(document.params),
            }
        )

    async def targets(request: Request) -> Response:
        return JSONResponse(await asyncio.to_thread(api.list_targets))

    routes = [
        Route("/", index),
        Route("/api/spec", spec),
        Route("/api/targets", targets),
        Route("/api/check", endpoint(confined(check)), methods=["POST"]),
        Route("/api/optimize", endpoint(confined(optimize)), methods=["POST"]),
        Route("/api/plan", endpoint(confined(plan)), methods=["POST"]),
        Route("/api/sweep", endpoint(confined(sweep)), methods=["POST"]),
        Route("/api/emit", endpoint(confined(emit)), methods=["POST"]),
        Route("/api/save", endpoint(save), methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC, follow_symlink=False), name="static"),
    ]
    return _HostGuard(Starlette(routes=routes), sweeps)


def _confined(text: str, file: str) -> Json | None:
    """Diagnostics for every prompt file outside the folder of ``file`` (the served spec), or
    None when there is none (or the text does not parse: its own diagnostics say so).

    This is decided from the path's text alone, before anything looks at the disk, so the
    answer is the same whether such a file exists or not: spec text from a request can neither
    read a file elsewhere nor learn that it is there.
    """
    try:
        spec = engine.parse(text, file)
    except SpecError:
        return None
    folder = os.path.dirname(os.path.abspath(file))
    outside = []
    for task in spec.tasks:
        for op in task.ops:
            prompt = op.prompt
            if prompt is None or prompt.file is None or _inside(folder, prompt.file):
                continue
            outside.append(
                Diagnostic(
                    "error",
                    "E091",  # the code of a missing prompt file: neither can be read
                    f"prompt file '{prompt.file}' of op '{op.name}' is not in the spec's folder",
                    prompt.span if prompt.span.line > 0 else op.span,
                    "the explorer reads prompt files only from the folder of the spec it "
                    "serves and the folders under it",
                )
            )
    if not outside:
        return None

    def refuse() -> Json:
        raise SpecError(outside)

    return api.guarded(refuse, text)


def _inside(folder: str, name: str) -> bool:
    """Whether ``name`` (relative to ``folder``, or absolute) names a path under ``folder``."""
    if "\0" in name:
        return False
    target = os.path.normpath(os.path.join(folder, name))
    try:
        return os.path.commonpath([folder, target]) == folder
    except ValueError:  # another drive
        return False


def _sweep_child(conn: Any, text: str, file: str, settings: Settings) -> None:
    """The body of a sweep's process: compute, send the answer back, exit."""
    try:
        conn.send(api.sweep_spec(text, file, settings))
    except Exception as err:  # a bug, not bad input: say so in one line, as the CLI does
        conn.send({"ok": False, "diagnostics": [api.problem(f"internal error: {err}", "X003")]})
    finally:
        conn.close()


class Latest:
    """Growth sweeps, each in its own process, the newest only.

    A sweep re-optimizes at several sizes and takes seconds on the larger samples. Run in a
    process, it uses the second core instead of competing with the next slider move for the
    interpreter; and when the sliders move again before it ends, its answer is no longer
    wanted, so it is stopped rather than left to finish. Processes start from a fork server
    (a clean single-threaded parent with aalp already imported), never by forking the server.
    """

    def __init__(self) -> None:
        import multiprocessing

        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(["aalp.explore.api", "aalp.explain"])
        self._lock = threading.Lock()
        self._running: Any = None

    def run(self, text: str, file: str, settings: Settings) -> Any:
        """The sweep's answer, or None when a newer sweep stopped this one."""
        receiver, sender = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=_sweep_child, args=(sender, text, file, settings), daemon=True
        )
        with self._lock:
            if self._running is not None and self._running.is_alive():
                self._running.terminate()
            self._running = process
            try:
                process.start()
            except (OSError, RuntimeError):
                # no child process here (a main module that cannot be re-imported, no
                # resources): compute in this thread instead, as a plain call would
                self._running = None
                sender.close()
                receiver.close()
                return api.sweep_spec(text, file, settings)
        sender.close()
        try:
            return receiver.recv()
        except EOFError:
            return None
        finally:
            receiver.close()
            process.join()

    def stop(self) -> None:
        """Stop the sweep in progress, if any."""
        with self._lock:
            if self._running is not None and self._running.is_alive():
                self._running.terminate()
                self._running.join()


class _BadRequest(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


async def _read_body(request: Any) -> bytes:
    """The request's body, refused (413) as soon as it is known to pass ``MAX_BODY``: a
    declared length is believed when it is too large, and a streamed body is counted as it
    arrives, so no more than ``MAX_BODY`` bytes are ever held."""
    from starlette.requests import ClientDisconnect

    declared = request.headers.get("content-length", "")
    too_long = declared.isascii() and declared.isdigit() and int(declared[:10]) > MAX_BODY
    if too_long:
        raise _BadRequest(413, TOO_LARGE)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY:
                raise _BadRequest(413, TOO_LARGE)
            chunks.append(chunk)
    except ClientDisconnect:
        raise _BadRequest(400, "the client went away before its request arrived") from None
    return b"".join(chunks)


def _same_origin(request: Any) -> bool:
    """A POST from a browser carries ``Origin``; it must be this server's own."""
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not a browser's cross-site request (curl, tests)
    host = request.headers.get("host", "")
    return origin in (f"http://{host}",)


class _HostGuard:
    """Refuse any request whose ``Host`` is not the loopback address (DNS rebinding)."""

    def __init__(self, app: Any, sweeps: Latest):
        self.app = app
        self.sweeps = sweeps  # so the server can stop a sweep in progress when it stops

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            host = headers.get(b"host", b"").decode("latin-1").rsplit(":", 1)[0]
            if host not in (HOST, "localhost"):
                from starlette.responses import PlainTextResponse

                response = PlainTextResponse("forbidden host", status_code=403)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class Server:
    """A running explorer: uvicorn in a background thread, stopped by :meth:`stop`.

    Port 0 picks a free port; :attr:`url` is known once :meth:`start` returns.
    """

    def __init__(self, document: Document, port: int = 0):
        import uvicorn

        self._app = create_app(document)
        config = uvicorn.Config(
            self._app, host=HOST, port=port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def url(self) -> str:
        sockets = [s for server in self._server.servers for s in server.sockets]
        port = sockets[0].getsockname()[1]
        return f"http://{HOST}:{port}/"

    def start(self, timeout: float = 60.0) -> Server:
        """Start serving; raise ``OSError`` if the port cannot be bound."""
        import time

        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise OSError("the explorer could not start (is the port in use?)")
            if time.monotonic() > deadline:
                self.stop()
                raise OSError("the explorer did not start in time")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop serving (and any sweep in progress) and wait for the server thread to end."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._app.sweeps.stop()

    def wait(self) -> None:
        """Block until the server stops (Ctrl-C stops it: joining in short steps lets the
        main thread see the interrupt)."""
        while self._thread.is_alive():
            self._thread.join(0.5)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

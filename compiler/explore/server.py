"""The explorer's web server: the page, its own assets, and JSON over the API functions.

It binds to 127.0.0.1 only and serves nothing but the files under ``static/``. Requests must
come from the page itself: a ``Host`` other than the loopback address (DNS rebinding) or a
foreign ``Origin`` (another site posting to this port) is refused, and the API reads JSON only,
at most ``MAX_BODY`` bytes, counted as they arrive.

Everything that runs the optimizer (``/api/optimize``, ``/api/plan``, ``/api/sweep``,
``/api/emit``) runs in a worker process of a small :class:`Pool`: a time limit, a bounded queue,
and a job whose client went away is stopped. Cheap requests (check, the spec, the targets, the
page's files) are answered by the server itself and never wait behind an optimization.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .. import codes
from ..diagnostics import Diagnostic, SpecError
from . import api, engine
from .controls import Settings, SettingsError, settings_from_json, settings_to_json

STATIC = Path(__file__).parent / "static"
HOST = "127.0.0.1"
MAX_BODY = 1 << 20  # a spec is a few kilobytes; refuse anything absurd
TOO_LARGE = f"request too large: at most {MAX_BODY >> 10} KiB (a spec is a few kilobytes)"
# what a worker process imports once, in the fork server, rather than with every new worker
PRELOAD = [
    "aalp.explore.api",
    "aalp.explainer.growth",
    "aalp.front.parser",
    "aalp.checks.checker",
    "aalp.backends.emit",
]

Json = dict[str, Any]


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
    calibration: str | None = None  # the text of a --calibration file
    confidence: float | None = None


@dataclass(frozen=True)
class Limits:
    """How long an optimization may take and how many may run or wait at once.

    ``timeout`` counts from the moment the request has arrived, waiting in the queue included.
    """

    timeout: float = 20.0  # seconds; ``aalp explore --timeout``
    workers: int = 2  # optimizations running at once, each in its own process
    queue: int = 8  # optimizations waiting for a worker; one more is refused at once (503)

    def __post_init__(self) -> None:
        if not self.timeout > 0:
            raise ValueError("the timeout must be a positive number of seconds")
        if self.workers < 1 or self.queue < 0:
            raise ValueError("there must be a worker, and the queue cannot be negative")


def create_app(document: Document, limits: Limits | None = None) -> Any:
    """The Starlette application serving ``document``."""
    from starlette.applications import Starlette
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    explorer = _Explorer(document, limits or Limits())
    post = explorer.endpoint
    routes = [
        Route("/", explorer.index),
        Route("/api/spec", explorer.spec),
        Route("/api/targets", explorer.targets),
        Route("/api/check", post(explorer.check), methods=["POST"]),
        Route("/api/optimize", post(explorer.optimize), methods=["POST"]),
        Route("/api/plan", post(explorer.plan), methods=["POST"]),
        Route("/api/sweep", post(explorer.sweep), methods=["POST"]),
        Route("/api/emit", post(explorer.emit), methods=["POST"]),
        Route("/api/save", post(explorer.save), methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC, follow_symlink=False), name="static"),
    ]
    return _HostGuard(Starlette(routes=routes), explorer.pool)


# What a POST handler is given: the request, its JSON body, the settings it holds and the spec
# text (the document's own when the body has none).
Handler = Callable[[Any, Json, Settings, str], Awaitable[Any]]


class _Explorer:
    """The answers to the page's requests about one document.

    GET handlers answer at once; POST handlers are wrapped by :meth:`endpoint`, which refuses
    a foreign origin, reads the body and turns what they return into a response. What runs
    the optimizer goes to the worker ``pool`` through :meth:`in_worker`.
    """

    def __init__(self, document: Document, limits: Limits):
        self.document = document
        self.limits = limits
        self.pool = Pool(limits)
        self.proved = _Proved()
        self.name = document.name  # the only name spec text is ever loaded under

    # -- GET ------------------------------------------------------------------------------

    async def index(self, request: Any) -> Any:
        from starlette.responses import FileResponse

        return FileResponse(STATIC / "index.html", headers={"cache-control": "no-store"})

    async def spec(self, request: Any) -> Any:
        return _json(
            {
                "name": self.name,
                "text": self.document.text,
                "can_save": self.document.path is not None,
                "defines": dict(self.document.params),
            }
        )

    async def targets(self, request: Any) -> Any:
        return _json(await asyncio.to_thread(api.list_targets))

    # -- POST -----------------------------------------------------------------------------

    def endpoint(self, handler: Handler) -> Callable[[Any], Awaitable[Any]]:
        """``handler`` as a Starlette endpoint: same origin only, the body read and checked,
        bad requests answered with their status, a bug as one internal diagnostic."""
        from starlette.responses import Response

        async def handle(request: Any) -> Any:
            if not _same_origin(request):
                return _error(403, "requests must come from the explorer's own page")
            try:
                data, settings, text = await _body(request, self.document.text)
                settings = replace(
                    settings,
                    calibration=self.document.calibration,
                    confidence=self.document.confidence,
                )
                result = await handler(request, data, settings, text)
            except _BadRequest as err:
                return _error(err.status, err.message, err.headers)
            except Exception as err:  # a bug in aalp, not bad input: one line on the page
                logging.getLogger("aalp.explore").exception("internal error")
                return _json({"ok": False, "diagnostics": [_internal(_described(err))]})
            if isinstance(result, Response):
                return result
            return _json(result)

        return handle

    async def check(self, request: Any, data: Json, settings: Settings, text: str) -> Any:
        return await asyncio.to_thread(_checked, text, self.name, settings)

    async def optimize(self, request: Any, data: Json, settings: Settings, text: str) -> Any:
        job = Job(api.optimize_spec, (text, self.name, settings))
        return await self.in_worker(request, "optimize", job, memo=True)

    async def plan(self, request: Any, data: Json, settings: Settings, text: str) -> Any:
        decisions = data.get("decisions")
        if not isinstance(decisions, dict):
            raise _BadRequest(400, "'decisions' must be an object")
        job = Job(api.plan_for, (text, self.name, settings, decisions))
        return await self.in_worker(request, "plan", job)

    async def sweep(self, request: Any, data: Json, settings: Settings, text: str) -> Any:
        # only the newest sweep is wanted: the page asks again whenever the settings move
        job = Job(api.sweep_spec, (text, self.name, settings), group="sweep")
        return await self.in_worker(request, "sweep", job, memo=True)

    async def emit(self, request: Any, data: Json, settings: Settings, text: str) -> Any:
        from starlette.responses import Response

        target = data.get("target")
        if not isinstance(target, str):
            raise _BadRequest(400, "'target' must name a target")
        job = Job(api.emit_zip, (text, self.name, settings, target))
        result = await self.in_worker(request, "emit", job)
        if not isinstance(result, bytes):
            return result
        stem = Path(self.name).stem or "spec"
        headers = {"content-disposition": f'attachment; filename="{stem}-{target}.zip"'}
        return Response(result, media_type="application/zip", headers=headers)

    async def save(self, request: Any, data: Json, settings: Settings, text: str) -> Any:
        path = self.document.path
        if path is None:
            raise _BadRequest(409, "this spec has no file to save to; download it instead")
        try:
            await asyncio.to_thread(path.write_text, text, encoding="utf-8")
        except OSError as err:
            raise _BadRequest(409, f"cannot save {self.name}: {err.strerror or err}") from None
        return {"ok": True, "saved": self.name}

    # -- the workers ----------------------------------------------------------------------

    async def in_worker(self, request: Any, kind: str, job: Job, memo: bool = False) -> Any:
        """``job``'s answer from a worker, or why there is none. ``memo``: answers are
        remembered for their inputs, and the last good one for the text is kept for a
        "too slow" answer."""
        text, _, settings = job.args[:3]
        if memo:
            known = api.recall(kind, text, self.name, settings)
            if known is not None:
                self.proved.keep(kind, text, settings, known)
                return known
        gone = asyncio.ensure_future(_disconnected(request))
        try:
            outcome = await self.pool.run(job, gone)
        except Busy as err:
            raise _BadRequest(503, str(err), {"retry-after": "1"}) from None
        finally:
            gone.cancel()
        if outcome.status == "done" and memo:
            api.remember(kind, text, self.name, settings, outcome.value)
            self.proved.keep(kind, text, settings, outcome.value)
        return self._answer(kind, text, outcome)

    def _answer(self, kind: str, text: str, outcome: Outcome) -> Any:
        """What the page is told of a job that ended as ``outcome``."""
        match outcome.status:
            case "done":
                return outcome.value
            case "too slow":
                last = self.proved.last(kind, text)
                return _too_slow(kind, self.limits.timeout, outcome.started, last)
            case "superseded":  # a newer job of its group took its place: no longer wanted
                return {"ok": False, "superseded": True, "diagnostics": []}
            case "gone":  # nobody is listening any more
                return _error(503, "the request was abandoned")
            case "stopped":
                return _error(503, "the explorer is stopping")
            case _:  # "error" or "crashed": a bug in aalp
                return {"ok": False, "diagnostics": [_internal(str(outcome.value))]}


# ---------------------------------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------------------------------


class _BadRequest(Exception):
    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def _json(content: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Any:
    from starlette.responses import JSONResponse

    return JSONResponse(content, status_code=status, headers=headers)


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> Any:
    return _json({"ok": False, "error": message}, status, headers)


async def _body(request: Any, default_text: str) -> tuple[Json, Settings, str]:
    """A POST's JSON object, the settings it holds and its spec text (``default_text`` when
    it has none); a ``_BadRequest`` for anything else."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise _BadRequest(415, "send JSON (content-type application/json)")
    raw = await _read_body(request)
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise _BadRequest(400, "the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise _BadRequest(400, "the request body must be a JSON object")
    text = data.get("text", default_text)
    if not isinstance(text, str):
        raise _BadRequest(400, "'text' must be a string")
    settings = data.get("settings") or {}
    if not isinstance(settings, dict):
        raise _BadRequest(400, "'settings' must be an object")
    try:
        return data, settings_from_json(settings), text
    except SettingsError as err:
        raise _BadRequest(400, str(err)) from None


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


async def _disconnected(request: Any) -> None:
    """Return when the client of ``request`` (whose body has been read) goes away."""
    with suppress(Exception):
        while (await request.receive())["type"] != "http.disconnect":
            pass


def _same_origin(request: Any) -> bool:
    """A POST from a browser carries ``Origin``; it must be this server's own."""
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not a browser's cross-site request (curl, tests)
    host = request.headers.get("host", "")
    return origin in (f"http://{host}",)


class _HostGuard:
    """Refuse any request whose ``Host`` is not the loopback address (DNS rebinding)."""

    def __init__(self, app: Any, pool: Pool):
        self.app = app
        self.pool = pool  # so the server can stop its workers when it stops

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


# ---------------------------------------------------------------------------------------------
# Answers
# ---------------------------------------------------------------------------------------------


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
                    codes.MISSING_PROMPT,  # the code of a missing prompt file: neither can be read
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


def _checked(text: str, file: str, settings: Settings) -> Json:
    return _confined(text, file) or api.check_spec(text, file, settings)


def _described(err: BaseException) -> str:
    """An exception for a person: its kind and its first line (``ZeroDivisionError: ...``)."""
    text = str(err).splitlines()[0] if str(err) else ""
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _internal(message: str) -> Json:
    return api.problem(
        f"internal error (a bug in aalp; please report it): {message}", codes.INTERNAL_ERROR
    )


WHAT = {
    "optimize": "optimizing",
    "plan": "evaluating that plan",
    "sweep": "the growth sweep",
    "emit": "emitting code",
}


def _too_slow(kind: str, timeout: float, started: bool, last: Json | None) -> Json:
    """The answer to a job stopped at its time limit, with the last good answer for the same
    spec text if this server has one."""
    what = WHAT.get(kind, kind)
    message = f"too slow: {what} took more than {timeout:g} s"
    if not started:
        message = f"too slow: {what} waited more than {timeout:g} s behind other optimizations"
    message += " (aalp explore --timeout SECONDS sets the limit)"
    if last is not None:
        message += "; the last answer for this spec text, under other settings, is shown"
    return {
        "ok": False,
        "too_slow": True,
        "diagnostics": [api.problem(message, codes.TOO_SLOW)],
        "last": last,
    }


class _Proved:
    """The last good answer of each kind for each spec text, whatever its settings: what a
    "too slow" answer shows instead of nothing."""

    SIZE = 16  # spec texts

    def __init__(self) -> None:
        self._answers: OrderedDict[tuple[str, str], Json] = OrderedDict()

    def keep(self, kind: str, text: str, settings: Settings, answer: Any) -> None:
        if isinstance(answer, dict) and answer.get("ok"):
            self._answers[kind, text] = {"settings": settings_to_json(settings), "result": answer}
            self._answers.move_to_end((kind, text))
            while len(self._answers) > self.SIZE:
                self._answers.popitem(last=False)

    def last(self, kind: str, text: str) -> Json | None:
        return self._answers.get((kind, text))


# ---------------------------------------------------------------------------------------------
# Workers
# ---------------------------------------------------------------------------------------------


class Busy(Exception):
    """Every worker is busy and the queue is full."""


@dataclass(frozen=True)
class Job:
    """One call ``function(*args)`` in a worker; ``args`` start with the spec text and its
    file name. ``function`` travels to the worker by name, so it is a module-level function.
    A newer job of the same ``group`` stops this one."""

    function: Callable[..., Any]
    args: tuple[Any, ...]
    group: str | None = None


@dataclass(frozen=True)
class Outcome:
    """How a job ended: ``done`` (``value`` is its answer), ``error`` (it raised; ``value`` is
    the message), ``crashed`` (its worker died), ``too slow``, ``gone`` (its client went away),
    ``superseded`` or ``stopped`` (the server is stopping). ``started``: a worker ran it."""

    status: str
    value: Any = None
    started: bool = False


def _serve(conn: Any, lifeline: Any) -> None:
    """A worker process: answer jobs until the server closes its end of the pipe."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which stops us
    threading.Thread(target=_end_with_server, args=(lifeline,), daemon=True).start()
    while True:
        try:
            function, args, deadline = conn.recv()
        except (EOFError, OSError):
            return
        answer = _answer(function, args, deadline)
        try:
            conn.send(answer)
        except OSError:
            return
        except Exception as err:  # an answer that cannot be sent back is a bug
            conn.send(("error", f"cannot send the answer back: {err}"))


def _end_with_server(lifeline: Any) -> None:
    """End this worker as soon as the server's end of ``lifeline`` closes, even in the middle
    of a job: a server that dies without stopping its workers (killed) leaves none behind."""
    with suppress(EOFError, OSError):
        lifeline.recv()  # nothing is ever sent: this returns when the server's end is closed
    os._exit(1)


def _answer(function: Callable[..., Any], args: tuple[Any, ...], deadline: float) -> tuple:
    """``("done", answer)`` or ``("error", message)`` for one job.

    ``deadline`` (on ``time.monotonic()``, one clock for every process) is when the server
    stops waiting and stops this worker. The optimizer cannot take it yet; once it can, pass it
    on, a little earlier, so that a slow optimization answers with the best plan proved so far
    instead of being stopped with nothing.
    """
    try:
        return "done", _confined(args[0], args[1]) or function(*args)
    except Exception as err:  # a bug, not bad input: the traceback goes to the terminal
        logging.getLogger("aalp.explore").exception("internal error")
        return "error", _described(err)


class _Worker:
    """One worker process and the server's end of its pipe."""

    def __init__(self, context: Any):
        self.conn, theirs = context.Pipe()
        lifeline, self.lifeline = context.Pipe(duplex=False)
        self.process = context.Process(
            target=_serve, args=(theirs, lifeline), daemon=True, name="aalp explore worker"
        )
        try:
            self.process.start()
        finally:
            theirs.close()
            lifeline.close()
        self._lock = threading.Lock()
        self.closed = False

    def kill(self) -> None:
        """Stop the process (at once: a signal; :meth:`close` waits for it)."""
        self.process.terminate()

    def close(self) -> None:
        """Stop the process, wait for it to end, and close the pipe (from any thread)."""
        with self._lock:
            if self.closed:
                return
            self.process.terminate()
            self.process.join(5)
            if self.process.exitcode is None:
                self.process.kill()
                self.process.join()
            self.conn.close()
            self.lifeline.close()
            self.closed = True


class Pool:
    """Optimizations in worker processes: at most ``limits.workers`` run at once, at most
    ``limits.queue`` wait, and each one is stopped when its time is up, when its client goes
    away, when a newer job of its group arrives, or when the server stops.

    Workers are processes, not threads, because a process can be stopped and a thread cannot;
    each answers job after job (its caches stay warm) until one of its jobs is stopped, which
    ends it. They start from a fork server (a clean single-threaded parent with aalp already
    imported), never by forking the server. The pool is driven from the server's event loop;
    :meth:`stop` and :meth:`close` may be called from any thread.
    """

    def __init__(self, limits: Limits):
        import multiprocessing

        self.limits = limits
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(PRELOAD)
        self._lock = threading.Lock()  # guards _workers and _stopping
        self._workers: set[_Worker] = set()  # every worker not yet closed
        self._idle: list[_Worker] = []
        self._free = limits.workers  # slots
        self._waiting: deque[asyncio.Future] = deque()
        self._stops: set[asyncio.Future] = set()
        self._groups: dict[str, asyncio.Future] = {}
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None

    def load(self) -> tuple[int, int]:
        """``(running, waiting)`` jobs."""
        return self.limits.workers - self._free, len(self._waiting)

    def pids(self) -> list[int]:
        """The process ids of the workers not yet ended."""
        with self._lock:
            return sorted(w.process.pid for w in self._workers if w.process.pid is not None)

    async def run(self, job: Job, gone: asyncio.Future | None = None) -> Outcome:
        """Run ``job`` in a worker and say how it ended; ``gone`` is done when its client
        goes away. Raise ``Busy`` at once if it would have to wait and the queue is full."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        if self._stopping:
            return Outcome("stopped")
        if self._free == 0 and len(self._waiting) >= self.limits.queue:
            running, waiting = self.load()
            runs = "optimization is" if running == 1 else "optimizations are"
            raise Busy(
                f"busy: {running} {runs} running and {waiting} are waiting; try again in a moment"
            )
        deadline = time.monotonic() + self.limits.timeout
        stop = loop.create_future()
        if job.group is not None:
            older = self._groups.get(job.group)
            if older is not None and not older.done():
                older.set_result("superseded")
            self._groups[job.group] = stop
        self._stops.add(stop)
        ends = [(stop, None), *([(gone, "gone")] if gone is not None else [])]
        try:
            ended = await self._acquire(ends, deadline)
            if ended is not None:
                return Outcome(ended)
            return await self._execute(job, ends, deadline)
        finally:
            self._stops.discard(stop)
            if job.group is not None and self._groups.get(job.group) is stop:
                del self._groups[job.group]

    @staticmethod
    async def _until(
        future: asyncio.Future, ends: list[tuple[asyncio.Future, str | None]], deadline: float
    ) -> str | None:
        """Wait for ``future``: None when it is done, else why waiting ended (an end's reason,
        or the stop future's result, or "too slow")."""
        timeout = max(0.0, deadline - time.monotonic())
        waits = [future, *(end for end, _ in ends)]
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        for end, reason in ends:
            if end.done():
                return reason or end.result()
        return None if future.done() else "too slow"

    async def _acquire(self, ends: list, deadline: float) -> str | None:
        """Take a slot (None), or say why waiting for one ended."""
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return None
        turn = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        granted = False
        try:
            ended = await self._until(turn, ends, deadline)
            granted = ended is None
            return ended
        finally:
            if not granted:
                if turn.done() and not turn.cancelled():
                    self._release()  # a slot came just as waiting ended: pass it on
                else:
                    turn.cancel()
                with suppress(ValueError):
                    self._waiting.remove(turn)

    def _release(self) -> None:
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self._free += 1

    async def _execute(self, job: Job, ends: list, deadline: float) -> Outcome:
        """Run ``job`` on a worker (its slot taken), then release the slot."""
        try:
            worker = await self._worker()
        except _Stopping:
            self._release()
            return Outcome("stopped")
        except (OSError, RuntimeError):
            # no child process here (no resources, a main module that cannot be re-imported):
            # compute in a thread instead, as a plain call would
            return await self._in_thread(job, ends, deadline)
        except BaseException:  # cancelled while a worker started
            self._release()
            raise
        loop = asyncio.get_running_loop()
        ready = loop.create_future()
        fd = worker.conn.fileno()
        loop.add_reader(fd, lambda: ready.done() or ready.set_result(None))
        healthy = False
        try:
            try:
                worker.conn.send((job.function, job.args, deadline))
            except OSError:
                return self._lost(worker)
            except Exception as err:  # a job that cannot be sent (a bug)
                healthy = True
                return Outcome("error", f"cannot send the job to a worker: {err}")
            ended = await self._until(ready, ends, deadline)
            if ended is not None:
                return Outcome(ended, started=True)
            try:
                status, value = worker.conn.recv()
            except Exception:  # the process died, in the middle of its answer or before
                return self._lost(worker)
            healthy = True
            return Outcome(status, value, started=True)
        finally:
            loop.remove_reader(fd)
            if healthy and not self._stopping:
                self._idle.append(worker)
            else:
                worker.kill()
                loop.run_in_executor(None, self._retire, worker)
            self._release()

    def _lost(self, worker: _Worker) -> Outcome:
        if self._stopping:
            return Outcome("stopped", started=True)
        worker.process.join(0.5)
        code = worker.process.exitcode
        return Outcome("crashed", f"a worker process ended unexpectedly (exit code {code})", True)

    async def _worker(self) -> _Worker:
        while self._idle:
            worker = self._idle.pop()
            if worker.process.is_alive():
                return worker
            asyncio.get_running_loop().run_in_executor(None, self._retire, worker)
        started = asyncio.get_running_loop().run_in_executor(None, self._start)
        try:
            return await asyncio.shield(started)
        except asyncio.CancelledError:  # whoever waited is gone; the worker serves the next job
            started.add_done_callback(
                lambda f: None if f.cancelled() or f.exception() else self._idle.append(f.result())
            )
            raise

    def _start(self) -> _Worker:
        """Start a worker (in a thread: the first one starts the fork server, which takes a
        moment)."""
        if self._stopping:
            raise _Stopping
        worker = _Worker(self._context)
        with self._lock:
            if not self._stopping:
                self._workers.add(worker)
                return worker
        worker.close()
        raise _Stopping

    def _retire(self, worker: _Worker) -> None:
        worker.close()
        with self._lock:
            self._workers.discard(worker)

    async def _in_thread(self, job: Job, ends: list, deadline: float) -> Outcome:
        """Compute ``job`` in a thread, which cannot be stopped: its slot stays taken until it
        ends, even when its answer is no longer awaited."""
        task = asyncio.get_running_loop().run_in_executor(
            None, _answer, job.function, job.args, deadline
        )
        task.add_done_callback(lambda _: self._release())
        ended = await self._until(task, ends, deadline)
        if ended is not None:
            return Outcome(ended, started=True)
        status, value = task.result()
        return Outcome(status, value, started=True)

    def stop(self) -> None:
        """Stop every worker and answer every job "stopped" (from any thread)."""
        with self._lock:
            self._stopping = True
            workers = list(self._workers)
        for worker in workers:
            worker.kill()
        if self._loop is not None:
            with suppress(RuntimeError):  # the loop has ended: nothing waits
                self._loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        for stop in self._stops:
            if not stop.done():
                stop.set_result("stopped")

    def close(self) -> None:
        """Stop every worker and wait until each has ended (once the server's loop has
        ended, or from a loop that no longer uses the pool)."""
        self.stop()
        with self._lock:
            workers = list(self._workers)
        for worker in workers:
            self._retire(worker)


class _Stopping(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------------------------


class Server:
    """A running explorer: uvicorn in a background thread, stopped by :meth:`stop`.

    Port 0 picks a free port; :attr:`url` is known once :meth:`start` returns.
    """

    def __init__(self, document: Document, port: int = 0, limits: Limits | None = None):
        import uvicorn

        self._app = create_app(document, limits)
        config = uvicorn.Config(
            self._app,
            host=HOST,
            port=port,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=5,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def pool(self) -> Pool:
        """The worker processes that run its optimizations."""
        return self._app.pool

    @property
    def url(self) -> str:
        sockets = [s for server in self._server.servers for s in server.sockets]
        port = sockets[0].getsockname()[1]
        return f"http://{HOST}:{port}/"

    def start(self, timeout: float = 60.0) -> Server:
        """Start serving; raise ``OSError`` if the port cannot be bound."""
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
        """Stop serving and every worker process, and wait for them all to end."""
        self.pool.stop()  # first: requests waiting for a worker are answered at once
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self.pool.close()

    def wait(self) -> None:
        """Block until the server stops (Ctrl-C stops it: joining in short steps lets the
        main thread see the interrupt)."""
        while self._thread.is_alive():
            self._thread.join(0.5)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

"""Serving an ASGI app on granian in this process, on the caller's event loop
(`compatkit serve --server granian`).

Operations:
    serve_granian(app, sock, *, tls, shutdown_trigger, graceful_timeout)
                                        serve on `sock` until `shutdown_trigger()` returns;
                                        StartupError with the app's own reason if its start-up
                                        hooks fail
    GRANIAN_PRIVATE_API                 the names of granian relied on that its documentation
                                        does not promise (tests/server/test_granian_contract.py)

Why in process, not granian's own `Server` (which `compatkit emulate` uses): `compatkit serve`
binds its socket itself (server.hosting.listening_socket: the port is known, and a port in use
is one line, before anything starts), runs `--workers N` as its own processes
(server.workers), and tests reach the app's services on its loop; granian's `Server` binds by
address and runs the app in worker processes of its own. So this module does what granian's
embedded server (granian.server.embed) does, on a socket it is given: granian's Rust worker
(hyper: HTTP/1.1, h2c by prior knowledge, h2 and HTTP/1.1 by ALPN over TLS) parses HTTP and
hands each request to the app as an asyncio task on this loop.

Plan: the app's lifespan start-up runs first (its failure message is the StartupError); the
worker then serves on a duplicate of the socket's descriptor (granian owns and closes its
copy) with one single-threaded Rust runtime; at shutdown the worker is signalled (it stops
accepting), requests still running get `graceful_timeout` seconds to end and are then
cancelled, and the lifespan's shutdown runs. SIGTERM/SIGINT are the caller's
(server.hosting.serve_forever): granian installs no signal handler here. granian is imported
only when it serves: importing it raises the soft RLIMIT_NOFILE, which `compatkit serve` logs
itself (server.hosting.raise_open_file_limit).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from server.errors import StartupError

GRANIAN_PRIVATE_API: dict[str, tuple[str, ...]] = {
    "granian._granian": ("ASGIWorker", "SocketHolder", "WorkerSignal"),
    "granian._futures": ("_future_watcher_wrapper", "_new_cbscheduler"),
    "granian.asgi": ("_callback_wrapper",),
}
"""Names of granian 2.8 that `serve_granian` uses as granian.server.embed does (the embedded
server's building blocks, not its documented API)."""

STARTUP_TIMEOUT_S = 60.0
_BACKLOG = 1024
_MAX_REQUESTS_IN_FLIGHT = 4096  # granian's backpressure: requests one worker runs at once
_H2_MAX_CONCURRENT_STREAMS = 256  # as on Hypercorn (server.hosting.hypercorn_config)
_H2_MAX_FRAME_SIZE = 2**20


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """A PEM certificate and its private key (checked by server.hosting.tls_files)."""

    certfile: str
    keyfile: str


async def serve_granian(
    app: Any,
    sock: socket.socket,
    *,
    tls: TlsFiles | None,
    shutdown_trigger: Callable[[], Awaitable[object]],
    graceful_timeout: float,
) -> None:
    """Serve `app` (ASGI) on the listening `sock` until `shutdown_trigger()` returns; then stop
    accepting, give requests in flight `graceful_timeout` seconds, run the lifespan's
    shutdown."""
    from granian._futures import _future_watcher_wrapper, _new_cbscheduler
    from granian._granian import ASGIWorker, SocketHolder, WorkerSignal
    from granian.asgi import _callback_wrapper
    from granian.http import HTTP1Settings, HTTP2Settings

    loop = asyncio.get_running_loop()
    lifespan = _Lifespan(app)
    await lifespan.startup(STARTUP_TIMEOUT_S)
    requests = _RequestsInFlight(app)
    callback = _future_watcher_wrapper(_callback_wrapper(requests, {}, lifespan.state, None))
    stopped = WorkerSignal()
    worker = ASGIWorker(
        1,  # the worker's id in granian's logs
        (None, SocketHolder(os.dup(sock.fileno()), False, _BACKLOG)),
        None,  # no IPC: no granian parent process
        1,  # Rust runtime threads
        512,  # Rust blocking threads (granian's default)
        1,  # Python blocking threads: one for ASGI
        30,  # their idle timeout, seconds
        _MAX_REQUESTS_IN_FLIGHT,
        "auto",  # HTTP/1.1 and HTTP/2: h2c by prior knowledge, ALPN over TLS
        HTTP1Settings(),
        HTTP2Settings(
            max_concurrent_streams=_H2_MAX_CONCURRENT_STREAMS, max_frame_size=_H2_MAX_FRAME_SIZE
        ),
        False,  # no websockets
        None,  # no static files
        *_ssl_context(tls),
        (None, None),  # no metrics
    )
    worker.serve_str(_new_cbscheduler(loop, callback, impl_asyncio=True), loop, stopped)
    try:
        await shutdown_trigger()
    finally:
        stopped.set()
        await requests.finish(graceful_timeout)
        await lifespan.shutdown(graceful_timeout)


def _ssl_context(tls: TlsFiles | None) -> tuple[Any, ...]:
    """granian's TLS settings: (enabled, cert, key, key password, lowest protocol, client CA,
    CRLs, verify clients); TLS 1.2 at least, as Hypercorn."""
    if tls is None:
        return (False, None, None, None, "tls1.2", None, [], False)
    certfile, keyfile = os.path.abspath(tls.certfile), os.path.abspath(tls.keyfile)
    return (True, certfile, keyfile, None, "tls1.2", None, [], False)


class _RequestsInFlight:
    """The ASGI app, with the task of every request it is running kept until it ends. A
    request cancelled (by the shutdown's end, or by granian once its client is gone) ends
    quietly: granian would log the CancelledError's traceback as the app's exception."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._tasks: set[asyncio.Task[Any]] = set()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        task = asyncio.current_task()
        assert task is not None  # granian runs each request as an asyncio task (impl_asyncio)
        self._tasks.add(task)
        try:
            await self._app(scope, receive, send)
        except asyncio.CancelledError:
            return
        finally:
            self._tasks.discard(task)

    async def finish(self, timeout: float) -> None:
        """Wait up to `timeout` seconds for the requests in flight, then cancel the rest."""
        if not self._tasks:
            return
        _, unfinished = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in unfinished:
            task.cancel()
        await asyncio.gather(*unfinished, return_exceptions=True)


class _Lifespan:
    """The app's ASGI lifespan on this loop; a failed start-up is a StartupError with the
    app's own message (granian's LifespanProtocol would log it and go on)."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._answers: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.state: dict[str, Any] = {}

    async def startup(self, timeout: float) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())
        await self._events.put({"type": "lifespan.startup"})
        try:
            answer = await asyncio.wait_for(self._answers.get(), timeout)
        except TimeoutError:
            await self._stop()
            raise StartupError(f"the app's start-up did not finish within {timeout:g} s") from None
        if answer["type"] != "lifespan.startup.complete":
            await self._stop()
            message = " ".join(str(answer.get("message", "")).split())
            raise StartupError(message or "the app's start-up failed")

    async def shutdown(self, timeout: float) -> None:
        if self._task is None or self._task.done():
            return
        await self._events.put({"type": "lifespan.shutdown"})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._answers.get(), timeout)
        await self._stop()

    async def _run(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": self.state}
        try:
            await self._app(scope, self._events.get, self._answers.put)
        except Exception as exc:  # an app that raises instead of answering: the same failure
            await self._answers.put({"type": "lifespan.failed", "message": str(exc)})
            return
        # An app that returns without answering has no lifespan (as Hypercorn takes it).
        await self._answers.put({"type": "lifespan.startup.complete"})

    async def _stop(self) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

"""Serving an ASGI app on Hypercorn's protocols, with connections closed once the peer is gone.

Operations:
    serve_hypercorn(app, config, *, shutdown_trigger)   serve until `shutdown_trigger()`
                                                        returns (hypercorn.asyncio.serve's job);
                                                        StartupError with the app's own reason
                                                        if its start-up hooks fail; a connection
                                                        Hypercorn ends on an exception (a client
                                                        breaking HTTP/2) is one log line
    HYPERCORN_PRIVATE_API                               the private names of Hypercorn relied on
                                                        (checked by
                                                        tests/server/test_hypercorn_contract.py)

Why (issue 17.1): in Hypercorn 0.18 a connection's keep-alive timer runs inside the
connection's task group, and the socket is closed only after that group ends. When the
client closes its side (after one request, or without sending any), the reading stops but
the timer still waits its full `keep_alive_timeout` (75 s) before the socket is closed: a
churn of short connections holds one descriptor and one CLOSE-WAIT socket each, and a
process with RLIMIT_NOFILE=1024 stopped answering after ~1,300 of them.

Plan: hypercorn.asyncio.serve's own loop (lifespan, listeners, graceful shutdown) for our
case (one process, TCP sockets from `config.bind`, no QUIC, no statsd), whose connections are
`_Connection`: Hypercorn's TCPServer whose keep-alive timer, once the reading has ended,
closes the connection at once instead of waiting, and whose HTTP/1.x protocol refuses a request
with ambiguous framing (server.http1_framing, issue 17.8). A request in flight still runs to its end
(its app task gets `http.disconnect`, as with Hypercorn alone). Nothing of Hypercorn's is
changed: its classes are subclassed and chosen here, never patched.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from hypercorn.asyncio.lifespan import Lifespan
from hypercorn.asyncio.tcp_server import TCPServer
from hypercorn.asyncio.worker_context import WorkerContext
from hypercorn.config import Config
from hypercorn.protocol import ProtocolWrapper
from hypercorn.protocol.h11 import H11Protocol
from hypercorn.typing import LifespanState
from hypercorn.utils import LifespanFailureError, LifespanTimeoutError, wrap_app

from server.errors import StartupError
from server.http1_framing import H11_PRIVATE_API, StrictHttp1

log = logging.getLogger("compatkit.server")

HYPERCORN_PRIVATE_API: dict[type[Any], tuple[str, ...]] = {
    TCPServer: (
        "_read_data",  # returns once the peer closed its side (or reading failed)
        "_idle_timeout",  # the keep-alive timer's body: wait, then close the connection
        "_initiate_server_close",  # tell the protocol Closed, close the writer
        "_task_group",  # the connection's task group, set in run()
        "idle_task",  # the keep-alive timer (restart(task_group, action), stop())
        "protocol",  # the ProtocolWrapper, assigned in run()
    ),
    H11Protocol: H11_PRIVATE_API,
}
"""Private names of Hypercorn 0.18 that `_Connection` and `StrictHttp1` read or override."""


class _Connection(TCPServer):
    """Hypercorn's connection whose keep-alive timer, once the peer is gone, closes at once."""

    _peer_gone = False
    _protocol: ProtocolWrapper

    @property  # type: ignore[override]
    def protocol(self) -> ProtocolWrapper:
        return self._protocol

    @protocol.setter
    def protocol(self, wrapper: ProtocolWrapper) -> None:
        """Hypercorn's run() sets its ProtocolWrapper here: its HTTP/1.x protocol becomes
        `StrictHttp1` (issue 17.8, server.http1_framing), before any byte is read."""
        if type(wrapper.protocol) is H11Protocol:
            wrapper.protocol = StrictHttp1(
                wrapper.app,
                wrapper.config,
                wrapper.context,
                wrapper.task_group,
                wrapper.state,
                wrapper.ssl,
                wrapper.client,
                wrapper.server,
                wrapper.send,
            )
        self._protocol = wrapper

    async def _read_data(self) -> None:
        await super()._read_data()
        self._peer_gone = True
        # Closes now if idle; if a request is in flight, the protocol restarts the timer
        # once it is done, which then closes at once too.
        await self.idle_task.restart(self._task_group, self._idle_timeout)

    async def _idle_timeout(self) -> None:
        if not self._peer_gone:
            await super()._idle_timeout()
            return
        await asyncio.shield(self._initiate_server_close())


async def serve_hypercorn(
    app: Any, config: Config, *, shutdown_trigger: Callable[[], Awaitable[object]]
) -> None:
    """Serve `app` (ASGI) on the sockets of `config.bind` until `shutdown_trigger()` returns;
    then stop accepting, give connections `config.graceful_timeout`, run the lifespan's
    shutdown."""
    loop = asyncio.get_running_loop()
    wrapped = wrap_app(app, config.wsgi_max_body_size, "asgi")
    state: LifespanState = {}
    failures: list[str] = []
    lifespan = Lifespan(_FailureNoted(wrapped, failures), config, loop, state)
    lifespan_task = loop.create_task(lifespan.handle_lifespan())
    try:
        await lifespan.wait_for_startup()
    except LifespanTimeoutError:
        lifespan_task.cancel()
        raise StartupError(
            f"the app's start-up did not finish within {config.startup_timeout:g} s"
        ) from None
    if failures:
        with contextlib.suppress(LifespanFailureError, asyncio.CancelledError):
            await lifespan_task
        raise StartupError(" ".join(failures[0].split()) or "the app's start-up failed")
    if lifespan_task.done() and lifespan_task.exception() is not None:
        raise lifespan_task.exception()  # type: ignore[misc]
    context = WorkerContext(None)
    connections: set[asyncio.Task[Any]] = set()

    async def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        connections.add(task)
        task.add_done_callback(connections.discard)
        try:
            await _Connection(wrapped, loop, config, context, state, reader, writer)
        except asyncio.CancelledError:  # still open when the shutdown's grace period ended:
            return  # Hypercorn closed it; asyncio (3.11) would log the cancellation as an error
        except Exception as exc:  # one connection ends, never the server
            _log_connection_failure(exc, writer)

    servers = await _listen(config, connected)
    try:
        await shutdown_trigger()
    finally:
        await context.terminated.set()
        for server in servers:
            server.close()
        if connections:
            _, unfinished = await asyncio.wait(connections, timeout=config.graceful_timeout)
            for task in unfinished:
                task.cancel()
            await asyncio.gather(*unfinished, return_exceptions=True)
        for server in servers:
            await server.wait_closed()
        await lifespan.wait_for_shutdown()
        lifespan_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await lifespan_task


def _log_connection_failure(exc: Exception, writer: asyncio.StreamWriter) -> None:
    """One log line for a connection that Hypercorn let end on an exception (a client
    breaking HTTP/2: settings out of range, too many streams, a bad HTTP2-Settings header);
    Hypercorn has closed the socket. Its traceback only at debug level."""
    leaf: BaseException = exc
    while isinstance(leaf, BaseExceptionGroup) and leaf.exceptions:
        leaf = leaf.exceptions[0]
    peer = writer.get_extra_info("peername")
    log.info(
        "connection closed on an error: %s.%s: %s",
        type(leaf).__module__,
        type(leaf).__qualname__,
        " ".join(str(leaf).split())[:200],
        extra={"peer": f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else "-"},
    )
    log.debug("connection error", exc_info=exc)


class _FailureNoted:
    """The ASGI app, with the message of a failed lifespan start-up noted in `failures` (the
    app's own one-line reason; Hypercorn only raises it inside its lifespan task)."""

    def __init__(self, app: Any, failures: list[str]) -> None:
        self._app = app
        self._failures = failures

    async def __call__(self, scope: Any, receive: Any, send: Any, *args: Any) -> None:
        if scope["type"] != "lifespan":
            await self._app(scope, receive, send, *args)
            return

        async def noting_send(message: Any) -> None:
            if message["type"] == "lifespan.startup.failed":
                self._failures.append(str(message.get("message", "")))
            await send(message)

        await self._app(scope, receive, noting_send, *args)


async def _listen(
    config: Config,
    connected: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> list[asyncio.Server]:
    """A listener on each socket of `config.bind` (TLS where the config has a certificate)."""
    sockets = config.create_sockets()
    servers = []
    for sock in sockets.secure_sockets:
        tls = config.create_ssl_context()
        timeout = config.ssl_handshake_timeout
        servers.append(
            await asyncio.start_server(
                connected, sock=sock, backlog=config.backlog, ssl=tls, ssl_handshake_timeout=timeout
            )
        )
    for sock in sockets.insecure_sockets:
        servers.append(await asyncio.start_server(connected, sock=sock, backlog=config.backlog))
    return servers

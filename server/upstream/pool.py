"""The upstream transport's connection pool: a request finds a connection without walking
the others.

Operations:
    ConnectionPool(create_connection, max_connections=, max_keepalive_connections=)
        await .handle_async_request(request) -> httpcore.Response   (body streamed; closing
                                                                     it frees the connection)
        .connections -> [connection]                                every open one (for tests)
        await .aclose()

Why: httpcore's `AsyncConnectionPool` walks every pooled connection, and builds lists of
them, for each queued request on every request and on every response closed
(`_assign_requests_to_connections`; encode/httpx#3215). With HTTP/1.1 that is one connection
per stream in flight, so at 64 concurrent streams it took ~30 % of the proxy's CPU and made
the pooled arm slower than a fresh client per request (issue 11).

Plan: per origin, the connections that may take a request now, newest last: an idle
HTTP/1.1 connection leaves the list while it serves its one exchange and comes back when
its response is closed; an HTTP/2 connection (or one still connecting that may become one,
TLS with ALPN) stays in it while it `is_available()`, its streams bounded by the
connection's own stream slots. A request takes the newest usable one, dropping the closed
and expired ones it meets on the way; failing that it opens a connection while fewer than
`max_connections` are open (closing an idle one of another origin at the limit), or waits,
first come first served, until one is freed (`PoolTimeout` after the request's pool
timeout). Idle connections past `max_keepalive_connections` are closed when freed; those
that expire without being met again are swept every `SWEEP_INTERVAL`. Only httpcore's
public connection interface is used (`is_available`, `is_idle`, `has_expired`,
`is_closed`, `ConnectionNotAvailable`), plus whether our `Connection` speaks HTTP/2.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Callable

import httpcore

from server.upstream.connections import Connection

SWEEP_INTERVAL = 5.0
"""Seconds between sweeps of idle connections whose keep-alive expired unseen."""

_Key = tuple[bytes, bytes, int]  # an origin: scheme, host, port


class ConnectionPool:
    """Connections by origin; see the module docstring."""

    def __init__(
        self,
        create_connection: Callable[[httpcore.Origin], Connection],
        *,
        max_connections: int | None,
        max_keepalive_connections: int | None,
    ) -> None:
        self._create_connection = create_connection
        self._max_connections = max_connections if max_connections is not None else 2**31
        self._max_keepalive = (
            max_keepalive_connections if max_keepalive_connections is not None else 2**31
        )
        self._open: set[Connection] = set()
        self._usable: dict[_Key, dict[Connection, None]] = {}  # by origin, newest last
        self._idle: set[Connection] = set()  # the HTTP/1.1 ones of `_usable`
        self._waiting: deque[asyncio.Future[None]] = deque()  # requests waiting for a slot
        self._next_sweep = time.monotonic() + SWEEP_INTERVAL

    @property
    def connections(self) -> list[Connection]:
        return list(self._open)

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        scheme = request.url.scheme
        if scheme not in (b"http", b"https"):
            raise httpcore.UnsupportedProtocol(
                f"Request URL has an unsupported protocol {scheme.decode()!r}."
            )
        origin = request.url.origin
        timeout = request.extensions.get("timeout", {}).get("pool")
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            connection = await self._connection_for(origin, deadline)
            try:
                response = await connection.handle_async_request(request)
            except httpcore.ConnectionNotAvailable:
                # A would-be HTTP/2 connection that ALPN made HTTP/1.1 and busy, or one
                # closed meanwhile: another connection, then.
                self._not_available(origin, connection)
                continue
            except BaseException:
                self._done_with(origin, connection)
                raise
            assert isinstance(response.stream, AsyncIterable)
            return httpcore.Response(
                status=response.status,
                headers=response.headers,
                content=_PooledStream(response.stream, self, origin, connection),
                extensions=response.extensions,
            )

    async def _connection_for(self, origin: httpcore.Origin, deadline: float | None) -> Connection:
        """A connection that may take a request to `origin` now, waiting for one if need be."""
        while True:
            self._sweep_now_and_then()
            connection = self._take_usable(origin)
            if connection is not None:
                return connection
            if len(self._open) >= self._max_connections:
                self._close_an_idle_one()
            if len(self._open) < self._max_connections:
                return self._new_connection(origin)
            await self._wait_for_a_slot(deadline)

    def _take_usable(self, origin: httpcore.Origin) -> Connection | None:
        usable = self._usable.get(_key(origin))
        while usable:
            connection = next(reversed(usable))
            if connection.is_closed() or connection.has_expired():
                self._close_soon(connection)
                continue
            if not connection.is_available():  # busy HTTP/1.1, or HTTP/2 out of stream ids
                self._unlist(connection, origin)
                continue
            if not connection.multiplexes:
                self._unlist(connection, origin)  # serves one exchange at a time
            return connection
        return None

    def _new_connection(self, origin: httpcore.Origin) -> Connection:
        connection = self._create_connection(origin)
        self._open.add(connection)
        if connection.multiplexes:  # may become HTTP/2: others may share it meanwhile
            self._usable.setdefault(_key(origin), {})[connection] = None
        return connection

    def _done_with(self, origin: httpcore.Origin, connection: Connection) -> None:
        """After an exchange on `connection` ended (its response closed, or it failed)."""
        if connection.is_closed():
            self._forget(connection, origin)
        elif connection.multiplexes:
            if connection.is_available():
                self._usable.setdefault(_key(origin), {})[connection] = None
        elif connection.is_idle() and len(self._idle) < self._max_keepalive:
            self._usable.setdefault(_key(origin), {})[connection] = None
            self._idle.add(connection)
        else:  # idle beyond the keep-alive limit, or left mid-exchange
            self._close_soon(connection, origin)
        self._wake_one()

    def _not_available(self, origin: httpcore.Origin, connection: Connection) -> None:
        """`connection` refused a request (it serves another one): unlist it, if listed."""
        if connection.is_closed():
            self._forget(connection, origin)
        elif not connection.multiplexes and not connection.is_idle():
            self._unlist(connection, origin)

    def _unlist(self, connection: Connection, origin: httpcore.Origin) -> None:
        usable = self._usable.get(_key(origin))
        if usable is not None:
            usable.pop(connection, None)
        self._idle.discard(connection)

    def _forget(self, connection: Connection, origin: httpcore.Origin) -> None:
        """Stop counting a closed (or closing) connection."""
        self._unlist(connection, origin)
        if connection in self._open:
            self._open.discard(connection)
            self._wake_one()

    def _close_soon(self, connection: Connection, origin: httpcore.Origin | None = None) -> None:
        self._forget(connection, origin or connection.origin)
        task = asyncio.ensure_future(connection.aclose())
        task.add_done_callback(_ignore_outcome)

    def _close_an_idle_one(self) -> None:
        """At the limit: close an idle HTTP/1.1 connection of any origin, if there is one."""
        for connection in self._idle:
            self._close_soon(connection)
            return

    def _sweep_now_and_then(self) -> None:
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_INTERVAL
        for key, usable in list(self._usable.items()):
            for connection in list(usable):
                if connection.is_closed():
                    self._forget(connection, connection.origin)
                elif connection.is_idle() and connection.has_expired():
                    self._close_soon(connection, connection.origin)
            if not usable:
                del self._usable[key]

    async def _wait_for_a_slot(self, deadline: float | None) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            async with asyncio.timeout(remaining):
                await waiter
        except TimeoutError:
            raise httpcore.PoolTimeout(
                "no upstream connection became free within the pool timeout"
            ) from None
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self._wake_one()  # woken, but leaving: pass the turn on
            raise
        finally:
            if not waiter.done():
                waiter.cancel()
            with contextlib.suppress(ValueError):
                self._waiting.remove(waiter)

    def _wake_one(self) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def aclose(self) -> None:
        closing, self._open = list(self._open), set()
        self._usable.clear()
        self._idle.clear()
        for connection in closing:
            with contextlib.suppress(Exception):
                await connection.aclose()


class _PooledStream:
    """A response body that frees its connection when closed (or when reading it fails)."""

    def __init__(
        self,
        stream: AsyncIterable[bytes],
        pool: ConnectionPool,
        origin: httpcore.Origin,
        connection: Connection,
    ) -> None:
        self._stream = stream
        self._pool = pool
        self._origin = origin
        self._connection: Connection | None = connection

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for part in self._stream:
                yield part
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            aclose = getattr(self._stream, "aclose", None)
            if aclose is not None:
                await asyncio.shield(aclose())
        finally:
            self._pool._done_with(self._origin, connection)


def _key(origin: httpcore.Origin) -> _Key:
    """An origin as a dictionary key (httpcore's `Origin` is not hashable)."""
    return (origin.scheme, origin.host, origin.port)


def _ignore_outcome(task: asyncio.Future[None]) -> None:
    if not task.cancelled():
        task.exception()

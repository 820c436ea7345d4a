"""An httpcore network backend on the running asyncio loop's own transports (uvloop's in
`compatkit serve`).

Operations:
    AsyncioBackend()                       an `httpcore.AsyncNetworkBackend`: connect_tcp, sleep
    AsyncioStream                          read / write / start_tls / aclose / get_extra_info
    pool_transport(http2=, limits=, verify=) -> httpx.AsyncHTTPTransport
                                           httpx's transport with its pool on this backend
    tune_httpcore()                        httpcore's connection locks as asyncio locks, and
                                           HTTP/2 stream readers that do not queue for the socket

Why: httpcore's default backend goes through anyio, which wraps TLS in a pure-Python
`TLSStream` over a memory BIO and opens a cancel scope (`fail_after`) around every read and
write. Profiles of the proxy put that layer at about a third of the upstream exchange's CPU.
The loop's transports do TLS in C (uvloop) or in `asyncio.sslproto`, and a read that finds
bytes already buffered returns them without arming a timer. Likewise httpcore's per-connection
locks are anyio locks, which yield to the loop on every uncontended acquire; an HTTP/2
connection takes two of them per DATA frame, so at 64 concurrent streams they cost ~30% of
the client's CPU (encode/httpx#3215 has the same finding); `tune_httpcore` swaps them. And
in httpcore's HTTP/2 connection every stream that waits for an event takes the read lock in
turn and reads the socket while it holds it, so a stream whose frame has already arrived waits
behind every stream ahead of it in the lock's queue, each reading a frame of its own first
(`_HTTP2Connection` below: at 64 streams, +10 ms TTFT).

Plan: one `asyncio.Protocol` per connection keeps a receive buffer and at most one waiting
reader (httpcore serialises reads per connection); the stream's timeouts arm a loop timer
only while it actually waits. Errors become httpcore's exceptions, so httpx maps them as
usual. A cancelled read loses nothing: bytes that arrive later stay in the buffer.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Iterable
from typing import Any, cast

import h2.events
import httpcore
import httpcore._async.connection
import httpcore._async.http2
import httpcore._async.http11
import httpx
from httpcore._synchronization import AsyncLock, AsyncSemaphore, current_async_library

_HIGH_WATER = 1 << 20  # receive buffer size at which reading from the socket pauses


class _Protocol(asyncio.Protocol):
    """The receive side of one connection: a buffer, end-of-stream, one waiting reader."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.eof = False
        self.error: BaseException | None = None
        self.reader: asyncio.Future[bool] | None = None
        self.drained: asyncio.Future[bool] | None = None
        self.write_paused = False
        self.read_paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > _HIGH_WATER and not self.read_paused and self.transport:
            self.read_paused = True
            self.transport.pause_reading()
        self._wake_reader()

    def eof_received(self) -> bool | None:
        self.eof = True
        self._wake_reader()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.error = exc
        self._wake_reader()
        self.write_paused = False
        self._wake_writer()

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        self._wake_writer()

    def take(self, max_bytes: int) -> bytes:
        """Up to `max_bytes` buffered bytes (resumes a paused socket once drained)."""
        data = bytes(self.buffer[:max_bytes])
        del self.buffer[:max_bytes]
        if self.read_paused and len(self.buffer) <= _HIGH_WATER // 2 and self.transport:
            self.read_paused = False
            self.transport.resume_reading()
        return data

    def _wake_reader(self) -> None:
        if self.reader is not None and not self.reader.done():
            self.reader.set_result(True)

    def _wake_writer(self) -> None:
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(True)


async def _wait(waiter: asyncio.Future[bool], timeout: float | None) -> bool:
    """Wait for `waiter` to be woken (True); False when `timeout` seconds passed first."""
    if timeout is None:
        return await waiter
    timer = asyncio.get_running_loop().call_later(timeout, _expire, waiter)
    try:
        return await waiter
    finally:
        timer.cancel()


def _expire(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(False)


class AsyncioStream(httpcore.AsyncNetworkStream):
    """One connection (plain or TLS) as httpcore sees it."""

    def __init__(self, transport: asyncio.Transport, protocol: _Protocol) -> None:
        self._transport = transport
        self._protocol = protocol

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        protocol = self._protocol
        while not protocol.buffer:
            if protocol.eof:
                if protocol.error is not None:
                    raise httpcore.ReadError(str(protocol.error) or type(protocol.error).__name__)
                return b""
            waiter = protocol.reader = asyncio.get_running_loop().create_future()
            try:
                if not await _wait(waiter, timeout):
                    raise httpcore.ReadTimeout("timed out reading from upstream")
            finally:
                protocol.reader = None
        return protocol.take(max_bytes)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        protocol = self._protocol
        if self._transport.is_closing():
            raise httpcore.WriteError("connection closed")
        self._transport.write(buffer)
        while protocol.write_paused:
            waiter = protocol.drained = asyncio.get_running_loop().create_future()
            try:
                if not await _wait(waiter, timeout):
                    raise httpcore.WriteTimeout("timed out writing to upstream")
            finally:
                protocol.drained = None
        if protocol.error is not None:
            raise httpcore.WriteError(str(protocol.error))

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            transport = await loop.start_tls(
                self._transport,
                self._protocol,
                ssl_context,
                server_hostname=server_hostname,
                ssl_handshake_timeout=timeout,
            )
        except TimeoutError as exc:
            self._transport.close()
            raise httpcore.ConnectTimeout(str(exc) or "TLS handshake timed out") from exc
        except (OSError, ssl.SSLError) as exc:
            self._transport.close()
            raise httpcore.ConnectError(str(exc)) from exc
        if transport is None:  # the loop gives None only for a transport already closing
            raise httpcore.ConnectError("connection closed during the TLS handshake")
        self._protocol.transport = transport
        return AsyncioStream(transport, self._protocol)

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self._transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._transport.get_extra_info("sockname")
        if info == "server_addr":
            return self._transport.get_extra_info("peername")
        if info == "socket":
            return self._transport.get_extra_info("socket")
        if info == "is_readable":  # an idle pooled connection with bytes or EOF is stale
            protocol = self._protocol
            return bool(protocol.buffer) or protocol.eof
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """httpcore's connections on the running loop's transports."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        local = (local_address, 0) if local_address else None
        try:
            async with asyncio.timeout(timeout):
                transport, protocol = await loop.create_connection(
                    _Protocol, host, port, local_addr=local
                )
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"connecting to {host}:{port} timed out") from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for option in socket_options or ():
                sock.setsockopt(*option)
        return AsyncioStream(transport, protocol)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not used by the proxy's upstream client")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class _Lock(AsyncLock):
    """httpcore's AsyncLock, as a plain asyncio.Lock under asyncio (trio unchanged)."""

    def setup(self) -> None:
        if current_async_library() == "asyncio":
            self._backend = "plain-asyncio"
            self._lock = asyncio.Lock()
        else:
            super().setup()

    async def __aenter__(self) -> _Lock:
        if not self._backend:
            self.setup()
        if self._backend == "plain-asyncio":
            await self._lock.acquire()
            return self
        await super().__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        if self._backend == "plain-asyncio":
            self._lock.release()
        else:
            await super().__aexit__(*exc_info)


class _Semaphore(AsyncSemaphore):
    """httpcore's AsyncSemaphore (HTTP/2 stream slots), as an asyncio.Semaphore under asyncio."""

    def setup(self) -> None:
        if current_async_library() == "asyncio":
            self._backend = "plain-asyncio"
            self._semaphore = asyncio.Semaphore(self._bound)
        else:
            super().setup()

    async def acquire(self) -> None:
        if not self._backend:
            self.setup()
        if self._backend == "plain-asyncio":
            await self._semaphore.acquire()
        else:
            await super().acquire()

    async def release(self) -> None:
        if self._backend == "plain-asyncio":
            self._semaphore.release()
        else:
            await super().release()


class _HTTP2Connection(httpcore._async.http2.AsyncHTTP2Connection):
    """httpcore's HTTP/2 connection whose streams wait for their own events, not for the lock.

    One task reads the socket at a time (the read lock, as in httpcore). A stream that finds
    the lock taken waits on a future of its own instead of queueing for the lock; whoever read
    resolves it as soon as an event for that stream was dispatched, and, when done reading,
    wakes one waiting stream to take over the socket. On an error every waiting stream wakes
    and meets it (the saved read exception, the GOAWAY) in `_receive_events`, as in httpcore.
    A sender out of flow-control window waits the same way (`_wait_for_outgoing_flow`).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._waiting: dict[int, asyncio.Future[None]] = {}  # by stream id, oldest first
        self._arrived: set[int] = set()  # streams given events by the last read
        self._flow_waiting: list[asyncio.Future[None]] = []  # senders out of window

    async def _receive_stream_event(self, request: httpcore.Request, stream_id: int) -> Any:
        while not self._events.get(stream_id):
            if self._someone_reads():
                await self._wait_for_events(stream_id)
            else:
                await self._receive_events(request, stream_id)
        event = self._events[stream_id].pop(0)
        if isinstance(event, h2.events.StreamReset):
            raise httpcore.RemoteProtocolError(event)
        return event

    async def _receive_events(
        self, request: httpcore.Request, stream_id: int | None = None
    ) -> None:
        try:
            await super()._receive_events(request, stream_id)
        except BaseException:
            self._wake(everyone=True)
            raise
        self._wake(everyone=False)

    async def _wait_for_outgoing_flow(self, request: httpcore.Request, stream_id: int) -> int:
        """The bytes this stream may send now, waiting for the peer's WINDOW_UPDATE if none.

        httpcore reads the socket for it even when another stream is reading, so a window
        update that the other reader consumed leaves the sender blocked on a read until some
        unrelated frame arrives (a large upload beside a stream waiting on a slow model could
        stall for that model's whole silence). Here the sender waits like a stream does."""
        h2_state = self._h2_state
        while (flow := min(h2_state.local_flow_control_window(stream_id),
                           h2_state.max_outbound_frame_size)) <= 0:  # fmt: skip
            if self._someone_reads():
                waiter = asyncio.get_running_loop().create_future()
                self._flow_waiting.append(waiter)
                try:
                    await waiter
                finally:
                    if waiter in self._flow_waiting:
                        self._flow_waiting.remove(waiter)
            else:
                await self._receive_events(request)
        return int(flow)

    async def _read_incoming_data(self, request: httpcore.Request) -> list[h2.events.Event]:
        events = await super()._read_incoming_data(request)
        self._arrived.update(getattr(event, "stream_id", 0) for event in events)
        return events

    def _someone_reads(self) -> bool:
        lock = self._read_lock
        return getattr(lock, "_backend", "") == "plain-asyncio" and lock._lock.locked()  # type: ignore[attr-defined]

    async def _wait_for_events(self, stream_id: int) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiting[stream_id] = waiter
        try:
            await waiter  # whoever resolves it has taken it out of `_waiting`
        except BaseException:
            # Cancelled, perhaps just after being handed the socket: hand it on.
            if self._waiting.get(stream_id) is waiter:
                del self._waiting[stream_id]
            self._hand_over()
            raise

    def _hand_over(self) -> None:
        """If nobody reads the socket, wake the longest-waiting stream to read it."""
        if self._waiting and not self._someone_reads():
            _resolve(self._waiting.pop(next(iter(self._waiting))))

    def _wake(self, *, everyone: bool) -> None:
        """Wake the streams the last read gave events to (all, after an error), every sender
        waiting for window and, if nobody is reading now, the longest-waiting other stream to
        read next."""
        arrived, self._arrived = self._arrived, set()
        woken = list(self._waiting) if everyone else [s for s in arrived if s in self._waiting]
        for stream_id in woken:
            _resolve(self._waiting.pop(stream_id))
        senders, self._flow_waiting = self._flow_waiting, []
        for sender in senders:  # each checks its window again (rare: uploads beyond it)
            _resolve(sender)
        self._hand_over()


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def tune_httpcore() -> None:
    """Make httpcore's connections (created from now on, in this process) use asyncio locks
    and `_HTTP2Connection`.

    A process-wide change to a library's module attributes, made only by the proxy's upstream
    client (`pool_transport`); idempotent. Under trio the originals' behaviour is kept.
    """
    for module in (httpcore._async.connection, httpcore._async.http11, httpcore._async.http2):
        module.AsyncLock = _Lock  # type: ignore[attr-defined]
    httpcore._async.http2.AsyncSemaphore = _Semaphore  # type: ignore[attr-defined]
    httpcore._async.http2.AsyncHTTP2Connection = _HTTP2Connection  # type: ignore[misc]


def pool_transport(
    *, http2: bool, limits: httpx.Limits, verify: ssl.SSLContext | bool
) -> httpx.AsyncHTTPTransport:
    """httpx's transport whose connection pool runs on `AsyncioBackend`.

    httpx 0.28 has no parameter for the network backend, so the pool it built is replaced by
    an identical one built with ours (`tests/server/upstream/test_network.py` checks it is used).
    """
    tune_httpcore()
    transport = httpx.AsyncHTTPTransport(http2=http2, limits=limits, verify=verify)
    old = transport._pool
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=old._ssl_context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        http1=True,
        http2=http2,
        network_backend=AsyncioBackend(),
    )
    return transport

"""httpcore's connections as the proxy's upstream transport uses them: asyncio locks, and
HTTP/2 streams that wait for their own events.

Operations:
    Connection(origin, ssl_context=, keepalive_expiry=, http1=, http2=, network_backend=)
                            httpcore's `AsyncHTTPConnection` (connect, TLS, ALPN) that speaks
                            over `HTTP11Connection` or `HTTP2Connection`; made by the pool of
                            server.upstream.pool, never by httpx's
        .origin / .multiplexes   its origin; whether it speaks HTTP/2 (or may, connecting)
    HTTP11Connection        httpcore's HTTP/1.1 connection with an asyncio state lock
    HTTP2Connection         httpcore's HTTP/2 connection with asyncio locks whose streams wait
                            for their own events, not for the read lock
    HTTPCORE_PRIVATE_API    the private names of httpcore these classes rely on (checked by
                            tests/server/upstream/test_httpcore_contract.py)

Why: httpcore's per-connection locks are anyio locks, which yield to the loop on every
uncontended acquire; an HTTP/2 connection takes two of them per DATA frame, so at 64
concurrent streams they cost ~30% of the client's CPU (encode/httpx#3215 has the same
finding). And in httpcore's HTTP/2 connection every stream that waits for an event takes the
read lock in turn and reads the socket while it holds it, so a stream whose frame has already
arrived waits behind every stream ahead of it in the lock's queue, each reading a frame of its
own first (at 64 streams, +10 ms TTFT).

Scope: these are subclasses, chosen by our pool's `create_connection`; httpcore's modules are
never changed, so every other httpx client in the process (SDK clients in tests, a
control client) runs stock httpcore. The classes run only on
`server.upstream.network.AsyncioBackend`, so asyncio is the only async library they meet.
The price is httpcore's private API (`HTTPCORE_PRIVATE_API`, and the lock classes of
`httpcore._synchronization`), hence the pin `httpcore>=1.0.5,<1.1` and the contract test.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h2.events
import httpcore
from httpcore._synchronization import AsyncLock, AsyncSemaphore

HTTPCORE_PRIVATE_API: dict[type[Any], tuple[str, ...]] = {
    httpcore.AsyncHTTPConnection: (
        "_connect",  # (request) -> network stream, TCP and TLS with ALPN
        "_request_lock",
        "_connection",  # the HTTP/1.1 or HTTP/2 connection, None until connected
        "_connect_failed",
        "_origin",
        "_keepalive_expiry",
        "_http1",
        "_http2",
    ),
    httpcore.AsyncHTTP11Connection: ("_state_lock",),
    httpcore.AsyncHTTP2Connection: (
        "_init_lock",
        "_state_lock",
        "_read_lock",  # held by the one stream reading the socket
        "_write_lock",
        "_max_streams_semaphore",  # assigned in handle_async_request, once per connection
        "_events",  # stream id -> events received and not yet taken
        "_h2_state",
        "_receive_stream_event",  # (request, stream_id) -> the stream's next event
        "_receive_events",  # (request, stream_id=None): read the socket, dispatch events
        "_wait_for_outgoing_flow",  # (request, stream_id) -> bytes the stream may send
        "_read_incoming_data",  # (request) -> h2 events of one socket read
    ),
    AsyncSemaphore: ("_bound",),
}
"""Private names of httpcore 1.0 that this module reads, overrides or replaces."""


class _Lock(AsyncLock):
    """httpcore's AsyncLock as a plain asyncio.Lock (anyio's yields on every acquire)."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = asyncio.Lock()

    def locked(self) -> bool:
        return self._lock.locked()

    async def __aenter__(self) -> _Lock:
        await self._lock.acquire()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        self._lock.release()


class _Semaphore(AsyncSemaphore):
    """httpcore's AsyncSemaphore (HTTP/2 stream slots) as an asyncio.Semaphore."""

    def __init__(self, bound: int) -> None:
        super().__init__(bound)
        self._semaphore = asyncio.Semaphore(bound)

    async def acquire(self) -> None:
        await self._semaphore.acquire()

    async def release(self) -> None:
        self._semaphore.release()


class Connection(httpcore.AsyncHTTPConnection):
    """httpcore's connection to one origin, speaking our HTTP/1.1 or HTTP/2 connection."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._request_lock = _Lock()

    @property
    def origin(self) -> httpcore.Origin:
        return self._origin

    @property
    def multiplexes(self) -> bool:
        """Speaks HTTP/2, or is still connecting and may (TLS with ALPN, or h2 only)."""
        if self._connection is None:
            return self.is_available()
        return isinstance(self._connection, HTTP2Connection)

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        """httpcore's own, but the protocol connection is one of ours."""
        if not self.can_handle_request(request.url.origin):
            raise RuntimeError(
                f"Attempted to send request to {request.url.origin} on connection to {self._origin}"
            )
        try:
            async with self._request_lock:
                if self._connection is None:
                    stream = await self._connect(request)
                    self._connection = self._speak(stream)
        except BaseException:
            self._connect_failed = True
            raise
        return await self._connection.handle_async_request(request)

    def _speak(self, stream: httpcore.AsyncNetworkStream) -> httpcore.AsyncConnectionInterface:
        """HTTP/2 when TLS negotiated it (ALPN) or when only HTTP/2 is allowed, else HTTP/1.1."""
        ssl_object = stream.get_extra_info("ssl_object")
        negotiated_h2 = ssl_object is not None and ssl_object.selected_alpn_protocol() == "h2"
        if negotiated_h2 or (self._http2 and not self._http1):
            return HTTP2Connection(self._origin, stream, self._keepalive_expiry)
        return HTTP11Connection(self._origin, stream, self._keepalive_expiry)


class HTTP11Connection(httpcore.AsyncHTTP11Connection):
    """httpcore's HTTP/1.1 connection with an asyncio state lock."""

    def __init__(
        self,
        origin: httpcore.Origin,
        stream: httpcore.AsyncNetworkStream,
        keepalive_expiry: float | None = None,
    ) -> None:
        super().__init__(origin=origin, stream=stream, keepalive_expiry=keepalive_expiry)
        self._state_lock = _Lock()


class HTTP2Connection(httpcore.AsyncHTTP2Connection):
    """httpcore's HTTP/2 connection whose streams wait for their own events, not for the lock.

    One task reads the socket at a time (the read lock, as in httpcore). A stream that finds
    the lock taken waits on a future of its own instead of queueing for the lock; whoever read
    resolves it as soon as an event for that stream was dispatched, and, when done reading,
    wakes one waiting stream to take over the socket. On an error every waiting stream wakes
    and meets it (the saved read exception, the GOAWAY) in `_receive_events`, as in httpcore.
    A sender out of flow-control window waits the same way (`_wait_for_outgoing_flow`).
    """

    def __init__(
        self,
        origin: httpcore.Origin,
        stream: httpcore.AsyncNetworkStream,
        keepalive_expiry: float | None = None,
    ) -> None:
        super().__init__(origin=origin, stream=stream, keepalive_expiry=keepalive_expiry)
        self._init_lock = _Lock()
        self._state_lock = _Lock()
        self._read_lock: _Lock = _Lock()
        self._write_lock = _Lock()
        self._stream_slots: _Semaphore | None = None
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
        return self._read_lock.locked()

    @property
    def _max_streams_semaphore(self) -> AsyncSemaphore:
        assert self._stream_slots is not None, "set when the connection is initialised"
        return self._stream_slots

    @_max_streams_semaphore.setter
    def _max_streams_semaphore(self, semaphore: AsyncSemaphore) -> None:
        """httpcore makes its (anyio) stream-slot semaphore when it initialises the
        connection; an asyncio one of the same size takes its place."""
        self._stream_slots = _Semaphore(semaphore._bound)

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

"""httpcore's connections as the proxy's upstream transport uses them: asyncio locks, and
HTTP/2 streams that wait for their own events.

Operations:
    Connection(origin, ssl_context=, keepalive_expiry=, http1=, http2=, network_backend=)
                            httpcore's `AsyncHTTPConnection` (connect, TLS, ALPN) that speaks
                            over `HTTP11Connection` or `HTTP2Connection`; made by the pool of
                            server.upstream.pool, never by httpx's
        .origin / .multiplexes   its origin; whether it speaks HTTP/2 (or may, connecting)
    HTTP11Connection        httpcore's HTTP/1.1 connection with an asyncio state lock, a
                            request's head and body in one write
    HTTP2Connection         httpcore's HTTP/2 connection with asyncio locks whose streams wait
                            for their own events, not for the read lock; a request's frames
                            in one write, no write when there is nothing to send
    HTTPCORE_PRIVATE_API    the private names of httpcore these classes rely on (checked by
                            tests/server/upstream/test_httpcore_contract.py)

Why: httpcore's per-connection locks are anyio locks, which yield to the loop on every
uncontended acquire; an HTTP/2 connection takes two of them per DATA frame, so at 64
concurrent streams they cost ~30% of the client's CPU (encode/httpx#3215 has the same
finding). And in httpcore's HTTP/2 connection every stream that waits for an event takes the
read lock in turn and reads the socket while it holds it, so a stream whose frame has already
arrived waits behind every stream ahead of it in the lock's queue, each reading a frame of its
own first (at 64 streams, +10 ms TTFT). And httpcore writes each part of a request on its
own: HTTP/1.1 its head, then its body (two sends), HTTP/2 its HEADERS, each DATA frame and an
empty DATA frame ending the stream (three sends), and after every socket read and every DATA
frame received it takes the write lock to send what h2 has pending, which is mostly nothing.
It also opens each stream's window with a WINDOW_UPDATE frame of its own (the connection's
SETTINGS can open every stream's at once) and acknowledges every DATA frame received on its
own (once per reply does, or every `_ACK_EVERY` bytes of a long one).

Scope: these are subclasses, chosen by our pool's `create_connection`; httpcore's modules are
never changed, so every other httpx client in the process (SDK clients in tests, a
control client) runs stock httpcore. The classes run only on
`server.upstream.network.AsyncioBackend`, so asyncio is the only async library they meet.
The price is httpcore's private API (`HTTPCORE_PRIVATE_API`, and the lock classes of
`httpcore._synchronization`), hence the pin `httpcore>=1.0.5,<1.1` and the contract test.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

import h2.events
import h2.settings
import h11
import httpcore
from httpcore._synchronization import AsyncLock, AsyncSemaphore

_JOINED_BODY = 64 << 10  # a request body up to this size leaves in one write with its head
_WINDOW = 2**24  # HTTP/2 receive window, per stream and per connection (httpcore's increment)
_ACK_EVERY = 1 << 20  # bytes of a reply received before they are acknowledged (window kept open)

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
    httpcore.AsyncHTTP11Connection: (
        "_state_lock",
        "_send_event",  # (event, timeout): h11 bytes of one event, written
        "_h11_state",
        "_network_stream",
    ),
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
        "_send_connection_init",  # (request): our SETTINGS and the connection's window
        "_receive_response_body",  # (request, stream_id) -> the reply's bytes, acknowledged
        "_send_request_headers",  # (request, stream_id): HEADERS (and a window increment)
        "_send_request_body",  # (request, stream_id): DATA frames, then END_STREAM
        "_write_outgoing_data",  # (request): send what h2 has pending, under the write lock
        "_write_exception",
        "_connection_error",
        "_network_stream",
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
    """httpcore's HTTP/1.1 connection with an asyncio state lock; a request's head waits for
    its body's first bytes (or its end) and leaves with them in one write."""

    def __init__(
        self,
        origin: httpcore.Origin,
        stream: httpcore.AsyncNetworkStream,
        keepalive_expiry: float | None = None,
    ) -> None:
        super().__init__(origin=origin, stream=stream, keepalive_expiry=keepalive_expiry)
        self._state_lock = _Lock()
        self._head = b""  # the request head, not written yet

    async def _send_event(self, event: h11.Event, timeout: float | None = None) -> None:
        data = self._h11_state.send(event) or b""
        if isinstance(event, h11.Request):
            self._head = data
            return
        if self._head:
            head, self._head = self._head, b""
            if len(data) > _JOINED_BODY:  # a large body is not copied to join its head
                await self._network_stream.write(head, timeout=timeout)
            else:
                data = head + data
        if data:
            await self._network_stream.write(data, timeout=timeout)


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

    async def _send_connection_init(self, request: httpcore.Request) -> None:
        """httpcore's SETTINGS (no push, 100 streams, 64 KiB of headers) with every stream's
        window at `_WINDOW` from the start, instead of a WINDOW_UPDATE per stream."""
        codes = h2.settings.SettingCodes
        self._h2_state.local_settings = h2.settings.Settings(
            client=True,
            initial_values={
                codes.ENABLE_PUSH: 0,
                codes.MAX_CONCURRENT_STREAMS: 100,
                codes.MAX_HEADER_LIST_SIZE: 65536,
                codes.INITIAL_WINDOW_SIZE: _WINDOW,
            },
        )
        del self._h2_state.local_settings[codes.ENABLE_CONNECT_PROTOCOL]  # as httpcore
        self._h2_state.initiate_connection()
        self._h2_state.increment_flow_control_window(_WINDOW)
        await self._write_outgoing_data(request)

    async def _receive_response_body(
        self, request: httpcore.Request, stream_id: int
    ) -> AsyncIterator[bytes]:
        """httpcore's, acknowledging the reply's DATA once it ends (or every `_ACK_EVERY`
        bytes, or when the reader stops early) rather than frame by frame."""
        unacknowledged = 0
        try:
            while True:
                event = await self._receive_stream_event(request, stream_id)
                if isinstance(event, h2.events.DataReceived):
                    unacknowledged += event.flow_controlled_length or 0
                    if unacknowledged >= _ACK_EVERY:
                        self._h2_state.acknowledge_received_data(unacknowledged, stream_id)
                        unacknowledged = 0
                        await self._write_outgoing_data(request)
                    yield event.data or b""
                elif isinstance(event, h2.events.StreamEnded):
                    break
        finally:  # a WINDOW_UPDATE this makes, if any, leaves with the next write
            if unacknowledged:
                self._h2_state.acknowledge_received_data(unacknowledged, stream_id)

    async def _send_request_headers(self, request: httpcore.Request, stream_id: int) -> None:
        """httpcore's, but a request with a body leaves its HEADERS for the body's write, and
        the stream's window is open already (`_send_connection_init`)."""
        body = _has_body(request)
        authority = next(v for k, v in request.headers if k.lower() == b"host")
        headers = [
            (b":method", request.method),
            (b":authority", authority),
            (b":scheme", request.url.scheme),
            (b":path", request.url.target),
        ] + [(k.lower(), v) for k, v in request.headers
             if k.lower() not in (b"host", b"transfer-encoding")]  # fmt: skip
        self._h2_state.send_headers(stream_id, headers, end_stream=not body)
        if not body:
            await self._write_outgoing_data(request)

    async def _send_request_body(self, request: httpcore.Request, stream_id: int) -> None:
        """The body's DATA frames, the last one ending the stream, written with the HEADERS
        in one write (more writes only when the flow-control window makes the body wait)."""
        if not _has_body(request):
            return
        assert isinstance(request.stream, AsyncIterable)
        held: bytes | None = None  # one chunk behind, so that the last one ends the stream
        async for chunk in request.stream:
            if held:
                await self._queue_data(request, stream_id, held, end_stream=False)
            held = chunk
        await self._queue_data(request, stream_id, held or b"", end_stream=True)
        await self._write_outgoing_data(request)

    async def _queue_data(
        self, request: httpcore.Request, stream_id: int, data: bytes, *, end_stream: bool
    ) -> None:
        """Frame `data` (h2 holds the frames until the next write); if the window is shut,
        send what is held and wait for the peer's WINDOW_UPDATE."""
        h2_state = self._h2_state
        while True:
            flow = min(h2_state.local_flow_control_window(stream_id),
                       h2_state.max_outbound_frame_size)  # fmt: skip
            if flow <= 0 and data:
                await self._write_outgoing_data(request)
                flow = await self._wait_for_outgoing_flow(request, stream_id)
            chunk, data = data[:flow], data[flow:]
            h2_state.send_data(stream_id, chunk, end_stream=end_stream and not data)
            if not data:
                return

    async def _write_outgoing_data(self, request: httpcore.Request) -> None:
        """httpcore's, without the write lock when h2 holds nothing to send (after most
        reads and received DATA frames) and no write is waiting for the socket to drain."""
        if not self._write_lock.locked() and self._write_exception is None:
            data = self._h2_state.data_to_send()
            if not data:
                return
            timeout = request.extensions.get("timeout", {}).get("write")
            async with self._write_lock:
                try:
                    await self._network_stream.write(data, timeout)
                except Exception as exc:
                    self._write_exception = exc
                    self._connection_error = True
                    raise
            return
        await super()._write_outgoing_data(request)

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


def _has_body(request: httpcore.Request) -> bool:
    """httpcore's `has_body_headers`: a request announcing a body (length or chunked)."""
    return any(k.lower() in (b"content-length", b"transfer-encoding") for k, _ in request.headers)


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)

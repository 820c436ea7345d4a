"""Relaying an open upstream stream to the client, chunk by chunk, as it arrives.

Operations:
    StreamBody(stream, dialect, ping_interval, on_close)   an async iterable of bytes that Quart
                                                           sends as the response body
    ANTHROPIC_DIALECT, OPENAI_DIALECT                      how each protocol frames events
    register_cleanup(scope, close) / CleanupMiddleware     close a body even if Quart never
                                                           started sending it

Goals:
    - No buffering: each upstream chunk goes through the translator and out at once.
    - During upstream silence the client gets a ping every `ping_interval` seconds
      (`event: ping` for Anthropic, an SSE comment for OpenAI); the pending upstream read is
      never cancelled by a ping, only by the end of the response.
    - A connection that breaks mid-stream ends the reply with the translator's `error` event
      (it never saw a finish), counted in metrics; nothing is retried once bytes were sent.
    - A client that disconnects cancels the upstream request at once: Quart closes the body
      (or, if it never started sending it, the middleware does), which closes the upstream
      response and returns the credential's lease. Closing is idempotent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import compat
from server.upstream import OpenStream, UpstreamBroken, translator_error

Event = dict[str, Any]
_CLEANUP_KEY = "compatkit.cleanup"


@dataclass(frozen=True, slots=True)
class StreamDialect:
    """How one protocol frames its events on the wire."""

    name: str
    encode: Callable[[list[Event]], bytes]
    ping: bytes
    is_content: Callable[[Event], bool]
    trailer: Callable[[Any], bytes]  # bytes after the last event of a complete stream


def _anthropic_encode(events: list[Event]) -> bytes:
    return b"".join([compat.encode_sse_event(event) for event in events])


def _anthropic_is_content(event: Event) -> bool:
    if event.get("type") != "content_block_delta":
        return False
    delta = event.get("delta") or {}
    return any(delta.get(key) for key in ("text", "thinking", "partial_json"))


def _openai_encode(chunks: list[Event]) -> bytes:
    return b"".join([b"data: " + compat.dumps(chunk) + b"\n\n" for chunk in chunks])


def _openai_is_content(chunk: Event) -> bool:
    choices = chunk.get("choices") or ()
    for choice in choices:
        delta = choice.get("delta") or {}
        if delta.get("content") or delta.get("tool_calls") or delta.get("reasoning_content"):
            return True
    return False


def _openai_trailer(translator: Any) -> bytes:
    return b"" if translator_error(translator) is not None else b"data: [DONE]\n\n"


ANTHROPIC_DIALECT = StreamDialect(
    name="anthropic",
    encode=_anthropic_encode,
    ping=compat.PING_EVENT,
    is_content=_anthropic_is_content,
    trailer=lambda translator: b"",
)
OPENAI_DIALECT = StreamDialect(
    name="openai",
    encode=_openai_encode,
    ping=b": ping\n\n",
    is_content=_openai_is_content,
    trailer=_openai_trailer,
)


@dataclass(slots=True)
class StreamResult:
    """How a relayed stream ended, reported to `on_close` exactly once."""

    complete: bool  # the translator finished without an error
    error_type: str | None  # the `error` event's type, when one was sent
    first_content_at: float | None  # loop time of the first content delta sent
    input_tokens: int
    output_tokens: int


class StreamBody:
    """The response body of a streamed reply (Quart iterates it, then calls `aclose`)."""

    def __init__(
        self,
        stream: OpenStream,
        dialect: StreamDialect,
        *,
        ping_interval: float,
        on_close: Callable[[StreamResult], Awaitable[None]],
    ) -> None:
        self._stream = stream
        self._translator = stream.translator
        self._dialect = dialect
        self._ping_interval = ping_interval
        self._on_close = on_close
        self._queued: bytes | None = None
        self._pending: asyncio.Future[bytes | None] | None = None
        self._done = False
        self._closed = False
        self._error_type: str | None = None
        self._first_content_at: float | None = None
        self._queued = self._frame(stream.first_events)

    def __aiter__(self) -> StreamBody:
        return self

    async def __anext__(self) -> bytes:
        if self._queued is not None:
            data, self._queued = self._queued, None
            return data
        while not self._done:
            item = await self._next_upstream()
            if item is _PING:
                return self._dialect.ping
            events = self._events_for(item)  # type: ignore[arg-type]
            data = self._frame(events)
            if self._translator.finished or item is None:
                self._done = True
                data += self._tail()
            if data:
                return data
        await self.aclose()
        raise StopAsyncIteration

    async def _next_upstream(self) -> bytes | object | None:
        if self._pending is None:
            self._pending = asyncio.ensure_future(self._stream.next_chunk())
        done, _ = await asyncio.wait((self._pending,), timeout=self._ping_interval)
        if not done:
            return _PING
        pending, self._pending = self._pending, None
        try:
            return pending.result()
        except UpstreamBroken:
            return None  # the translator's close() reports the unfinished stream

    def _events_for(self, data: bytes | None) -> list[Event]:
        if data is None:
            return self._translator.close()
        return self._translator.feed(data)

    def _tail(self) -> bytes:
        """After the last event: the rest of close() and the protocol's trailer."""
        events = self._translator.close()  # idempotent; OpenAI adds its usage chunk here
        trailer = self._dialect.trailer(self._translator)
        return self._frame(events) + trailer

    def _frame(self, events: list[Event]) -> bytes:
        if not events:
            return b""
        for event in events:
            if self._first_content_at is None and self._dialect.is_content(event):
                self._first_content_at = asyncio.get_running_loop().time()
            if self._error_type is None and _is_error(event):
                self._error_type = _error_type(event)
        return self._dialect.encode(events)

    async def aclose(self) -> None:
        """Cancel the upstream read; close the upstream response and report the result in the
        background, so the client's response ends without waiting for the bookkeeping."""
        if self._closed:
            return
        self._closed = True
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        self._stream.spawn(self._finish())

    async def _finish(self) -> None:
        complete = self._done and self._error_type is None
        usage = getattr(self._translator, "usage", None) or {}
        result = StreamResult(
            complete=complete,
            error_type=self._error_type,
            first_content_at=self._first_content_at,
            input_tokens=_int(usage.get("input_tokens")),
            output_tokens=_int(usage.get("output_tokens")),
        )
        try:
            await self._stream.finish(
                ok=self._error_type is None,
                drain=complete,
                input_tokens=result.input_tokens,
                output_tokens=result.output_tokens,
            )
        finally:
            await self._on_close(result)


_PING = object()


def _is_error(event: Event) -> bool:
    return event.get("type") == "error" or isinstance(event.get("error"), dict)


def _error_type(event: Event) -> str:
    error = event.get("error") or {}
    return str(error.get("type") or "api_error")


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def register_cleanup(scope: dict[str, Any], close: Callable[[], Awaitable[None]]) -> None:
    """Have CleanupMiddleware call `close` when the ASGI request ends, whatever happened."""
    scope.setdefault(_CLEANUP_KEY, []).append(close)


class CleanupMiddleware:
    """ASGI wrapper: runs the closers registered for a request once the app is done with it.

    Quart closes a response body only if it started sending it; a client that disconnects
    in between would otherwise leave the upstream response and its lease open.
    """

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            for close in scope.pop(_CLEANUP_KEY, ()):
                await close()

"""Putting a reply on the wire: latency, SSE or JSON-array framing, gzip, and scripted wire faults.

Operations:
- `send_whole(send, ...)`: one complete body (non-stream replies, errors), after the whole
  generation time (`whole_delay_ms`).
- `send_stream(send, ...)`: stream events as `data: {...}` SSE events (CRLF or LF) or as one JSON
  array, with time to headers, time to first chunk and gaps between chunks.
- Wire faults: `drop` (`DroppedConnection` is raised so the server drops the connection; on a
  non-stream reply, right after the headers), `stall` (a silence of `stall_ms`), `malformed_chunk` (one
  truncated JSON event; on a non-stream reply, a truncated body).

The pause function is injected, so tests observe the latency plan without waiting for it.
"""

from __future__ import annotations

import logging
import random
import zlib
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

from conformance.emulator.scenarios import Fault, Latency, Scenario

Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Pause = Callable[[float], Awaitable[None]]

JSON = b"application/json; charset=UTF-8"
SSE = b"text/event-stream"
_BASE_HEADERS = (
    (b"vary", b"Origin, X-Origin, Referer"),
    (b"server", b"scaffolding on HTTPServer2"),
)
_BROKEN_JSON = b'{"candidates": [{"content": {"parts": [{"text": "'


class DroppedConnection(Exception):
    """Raised to make the server drop the connection (the `drop` fault)."""


class QuietDrops(logging.Filter):
    """Hide the traceback a deliberate `drop` fault makes the server log (~800 bytes a drop):
    Hypercorn logs the exception itself, granian's core a message ending in the formatted one."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, DroppedConnection):
            return False
        last_line = str(record.msg).rstrip().rpartition("\n")[2]
        return not last_line.startswith(f"{DroppedConnection.__name__}: ")


def whole_delay_ms(latency: Latency, rng: random.Random, chunk_count: int) -> float:
    """A non-stream reply leaves once fully generated: headers + first chunk + every gap."""
    delay = latency.headers_ms.sample(rng) + latency.first_chunk_ms.sample(rng)
    return delay + sum(latency.chunk_gap_ms.sample(rng) for _ in range(chunk_count - 1))


async def send_whole(
    send: Send,
    *,
    status: int,
    body: bytes,
    content_type: bytes = JSON,
    gzip_ok: bool = False,
    fault: Fault | None = None,
    pause: Pause | None = None,
    connection_close: bool = False,
) -> None:
    """Send a complete response (Content-Length set), applying a wire fault if one fired;
    `connection_close` adds `connection: close` (HTTP/1 only)."""
    if fault is not None:
        if fault.kind == "stall" and pause is not None:
            await pause(fault.stall_ms)
        if fault.kind == "malformed_chunk":
            body = body[: len(body) // 2]
    headers = [(b"content-type", content_type), *_BASE_HEADERS]
    if gzip_ok:
        body = zlib.compress(body, wbits=31)
        headers.append((b"content-encoding", b"gzip"))
    headers.append((b"content-length", str(len(body)).encode()))
    if connection_close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    if fault is not None and fault.kind == "drop":
        # After the headers: before them, ASGI servers answer a failing app with a 500 instead.
        raise DroppedConnection("dropped after the headers")
    await send({"type": "http.response.body", "body": body})


async def send_stream(
    send: Send,
    *,
    events: Sequence[bytes],
    sse: bool,
    scenario: Scenario,
    timing: random.Random | None,
    pause: Pause,
    gzip_ok: bool = False,
    fault: Fault | None = None,
) -> None:
    """Frame and send stream events with the scenario's latency and wire fault."""
    latency = scenario.latency
    end = b"\r\n\r\n" if scenario.crlf else b"\n\n"
    separator = b",\r\n" if scenario.crlf else b",\n"
    compressor = zlib.compressobj(wbits=31) if gzip_ok else None
    headers = [(b"content-type", SSE if sse else JSON), *_BASE_HEADERS]
    if compressor is not None:
        headers.append((b"content-encoding", b"gzip"))

    async def emit(data: bytes, more: bool = True) -> None:
        if compressor is not None:
            flush_mode = zlib.Z_SYNC_FLUSH if more else zlib.Z_FINISH
            data = compressor.compress(data) + compressor.flush(flush_mode)
        await send({"type": "http.response.body", "body": data, "more_body": more})

    if timing is not None:
        await pause(latency.headers_ms.sample(timing))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    if timing is not None:
        await pause(latency.first_chunk_ms.sample(timing))
    for index, event in enumerate(events):
        if fault is not None and index == fault.after_chunks:
            await _mid_stream_fault(fault, index, emit, pause, sse, end, separator)
        if index and timing is not None:
            await pause(latency.chunk_gap_ms.sample(timing))
        if sse:
            await emit(b"data: " + event + end)
        else:
            await emit((b"[" if index == 0 else separator) + event)
    if fault is not None and fault.kind == "drop" and fault.after_chunks >= len(events):
        raise DroppedConnection("dropped after the last chunk")
    await emit(b"" if sse else b"]", more=False)


async def _mid_stream_fault(
    fault: Fault,
    index: int,
    emit: Callable[[bytes], Awaitable[None]],
    pause: Pause,
    sse: bool,
    end: bytes,
    separator: bytes,
) -> None:
    if fault.kind == "drop":
        raise DroppedConnection(f"dropped after {index} chunks")
    if fault.kind == "stall":
        await pause(fault.stall_ms)
    if fault.kind == "malformed_chunk":
        await emit(b"data: " + _BROKEN_JSON + end if sse else separator + _BROKEN_JSON)

"""StreamBody (server.edge.stream_relay) relaying a stand-in upstream stream.

Rules checked:
- the bytes the client gets are exactly the translator's events for the upstream chunks, in
  order, whether chunks arrive one by one or many are already waiting;
- chunks already waiting are sent in one piece (fewer server writes under load), and a
  stream ends with the lease returned once;
- the buffer between reader and body is FIFO, bounded, and its wait ends in a chunk or a ping.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from typing import Any

import compat
from server.edge.stream_relay import ANTHROPIC_DIALECT, StreamBody, StreamResult, _ChunkBuffer


def gemini_chunk(text: str, *, last: bool = False) -> bytes:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]}}
    document: dict[str, Any] = {"candidates": [candidate]}
    if last:
        candidate["finishReason"] = "STOP"
        document["usageMetadata"] = {"promptTokenCount": 3, "candidatesTokenCount": 5}
    return b"data: " + json.dumps(document).encode() + b"\r\n\r\n"


class StandInStream:
    """What StreamBody needs of upstream.OpenStream, fed from a list of chunks."""

    def __init__(self, chunks: list[bytes], *, pause: bool) -> None:
        self.translator = compat.StreamTranslator(model="claude-test")
        self.first_events = self.translator.feed(chunks[0])
        self._chunks = iter(chunks[1:])
        self._pause = pause
        self.finished: list[bool] = []
        self._tasks: list[asyncio.Future[None]] = []

    async def next_chunk(self) -> bytes | None:
        if self._pause:
            await asyncio.sleep(0.001)  # the body catches up between chunks
        return next(self._chunks, None)

    def spawn(self, work: Awaitable[None]) -> None:
        self._tasks.append(asyncio.ensure_future(work))

    async def finish(self, *, ok: bool, input_tokens: int = 0, output_tokens: int = 0) -> None:
        self.finished.append(ok)

    async def settle(self) -> None:
        await asyncio.gather(*self._tasks)


def expected_bytes(chunks: list[bytes]) -> bytes:
    translator = compat.StreamTranslator(model="claude-test")
    events = [event for chunk in chunks for event in translator.feed(chunk)]
    return ANTHROPIC_DIALECT.encode(events + translator.close())


async def relay(chunks: list[bytes], *, pause: bool) -> tuple[list[bytes], StandInStream]:
    stream = StandInStream(chunks, pause=pause)
    results: list[StreamResult] = []
    body = StreamBody(stream, ANTHROPIC_DIALECT, ping_interval=30, on_close=results.append)  # type: ignore[arg-type]
    pieces = [piece async for piece in body]
    await stream.settle()
    assert len(results) == 1 and results[0].complete
    return pieces, stream


def strip_ids(data: bytes) -> bytes:
    """Message ids are random per translator; everything else must match byte for byte."""
    lines = []
    for line in data.split(b"\n"):
        if line.startswith(b"data: ") and b'"message_start"' in line:
            document = json.loads(line[6:])
            document["message"]["id"] = "-"
            line = b"data: " + json.dumps(document).encode()
        lines.append(line)
    return b"\n".join(lines)


async def test_chunks_waiting_together_go_out_in_one_piece_with_the_same_bytes() -> None:
    chunks = [gemini_chunk(f"word{i} ") for i in range(30)] + [gemini_chunk("end", last=True)]
    together, stream = await relay(chunks, pause=False)
    one_by_one, _ = await relay(chunks, pause=True)
    expected = strip_ids(expected_bytes(chunks))
    assert strip_ids(b"".join(together)) == expected
    assert strip_ids(b"".join(one_by_one)) == expected
    assert len(together) < len(one_by_one)
    assert stream.finished == [True]


# --- the buffer between the upstream reader and the body ------------------------------------


async def test_the_chunk_buffer_is_first_in_first_out_and_holds_at_most_its_limit() -> None:
    buffer = _ChunkBuffer(2)
    await buffer.put(b"a")
    await buffer.put(b"b")
    third = asyncio.ensure_future(buffer.put(None))  # full: the reader waits for the client
    await asyncio.sleep(0.01)
    assert not third.done() and len(buffer) == 2
    assert buffer.take() == b"a"
    await asyncio.wait_for(third, 1)
    assert [buffer.take(), buffer.take()] == [b"b", None]


async def test_a_wait_for_a_chunk_ends_with_the_chunk_or_the_ping_interval() -> None:
    buffer = _ChunkBuffer(4)
    assert await buffer.wait(0.01) is False  # nothing came: time for a ping
    late = asyncio.get_running_loop().call_later(
        0.01, lambda: asyncio.ensure_future(buffer.put(b"x"))
    )
    assert await buffer.wait(5) is True
    late.cancel()
    assert buffer.take() == b"x"


async def test_draining_stops_at_the_end_marker_or_the_timeout() -> None:
    buffer = _ChunkBuffer(8)
    for item in (b"a", b"b", None, b"after the end"):
        await buffer.put(item)
    await buffer.drain(5)
    assert len(buffer) == 1  # the end marker was reached; what followed is left alone
    empty = _ChunkBuffer(8)
    await asyncio.wait_for(empty.drain(0.02), 1)  # no end marker: gives up at the timeout

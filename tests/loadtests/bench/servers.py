"""Small misbehaving HTTP servers for the runner's tests: real sockets on 127.0.0.1.

Operations
    with raw_server(answer) as url: ...   an asyncio server in a thread of its own; `answer`
                                          gets each request's head and body and returns the
                                          bytes to send (None: say nothing, keep the connection)
    ANSWER_500, HANG, GARBAGE, CLOSE_MID_BODY, sse_answer(events, close=False)

Everything stops when the `with` block ends (the thread's loop is stopped, its sockets closed).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Answer = Callable[[bytes, bytes], bytes | None]


def _response(status: str, content_type: str, body: bytes, *, close: bool = False) -> bytes:
    head = f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {len(body)}\r\n"
    if close:
        head += "connection: close\r\n"
    return head.encode() + b"\r\n" + body


ERROR_BODY = json.dumps(
    {"type": "error", "error": {"type": "api_error", "message": "boom"}}
).encode()


def ANSWER_500(head: bytes, body: bytes) -> bytes:
    return _response("500 Internal Server Error", "application/json", ERROR_BODY)


def HANG(head: bytes, body: bytes) -> bytes | None:
    return None


def GARBAGE(head: bytes, body: bytes) -> bytes:
    return b"this is not HTTP\r\n\r\n"


def CLOSE_MID_BODY(head: bytes, body: bytes) -> bytes:
    return b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"par'


def sse_answer(events: list[tuple[str, dict[str, object]]], *, close: bool = False) -> Answer:
    payload = b"".join(
        f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events
    )
    return lambda head, body: _response("200 OK", "text/event-stream", payload, close=close)


@contextmanager
def raw_server(answer: Answer) -> Iterator[str]:
    """Serve `answer` on a free port; yield the base URL; count connections in `.connections`."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, object] = {}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = await reader.readexactly(length)
                reply = answer(head, body)
                if reply is None:
                    await asyncio.sleep(3600)
                writer.write(reply)  # type: ignore[arg-type]
                await writer.drain()
                if b"connection: close" in (reply or b"") or not (reply or b"").startswith(
                    b"HTTP/1.1"
                ):
                    break
                if b"content-length: 100" in (reply or b""):
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        holder["url"] = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        holder["stop"] = stop = asyncio.Event()
        ready.set()
        async with server:
            await stop.wait()
        for task in asyncio.all_tasks() - {asyncio.current_task()}:
            task.cancel()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield str(holder["url"])
    finally:
        stop_event = holder["stop"]
        assert isinstance(stop_event, asyncio.Event)
        loop.call_soon_threadsafe(stop_event.set)
        thread.join(10)
        loop.close()

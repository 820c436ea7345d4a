"""HTTP/2 streams that wait for their own events (server.upstream.connections.HTTP2Connection),
and requests that leave in one write (HTTP2Connection, HTTP11Connection), on real 127.0.0.1
sockets against a server the test drives frame by frame.

Rules checked:
- a request leaves in one send: HTTP/1.1 its head with its body, HTTP/2 its HEADERS, DATA
  and end of stream (httpcore sends them one by one: 2 and 3 sends); reading a reply sends
  nothing; an HTTP/2 stream's receive window is open from the connection's SETTINGS (16 MiB,
  as httpcore's), not by a WINDOW_UPDATE per stream;
- a stream whose reply arrived gets it while its siblings wait on a silent server (on
  httpcore's own AsyncHTTP2Connection it queues for the read lock behind siblings that each
  read the socket first, and this test fails);
- every waiting stream meets a connection that closes;
- an upload beyond the flow-control window continues while another stream reads;
- whatever order replies come in and whichever waiting streams are cancelled, no wake-up is
  lost.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import h2.settings
import httpcore
import pytest

from server.upstream.connections import HTTP2Connection, HTTP11Connection
from server.upstream.network import AsyncioBackend
from tests.server.upstream.raw_servers import H2Server, raw_server


class CountedSends(httpcore.AsyncNetworkStream):
    """A network stream that counts the sends that carry bytes."""

    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self.stream = stream
        self.sends = 0

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self.stream.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.sends += bool(buffer)
        await self.stream.write(buffer, timeout)

    async def aclose(self) -> None:
        await self.stream.aclose()

    def get_extra_info(self, info: str) -> object:
        return self.stream.get_extra_info(info)


@asynccontextmanager
async def h2_connection(server: H2Server) -> AsyncIterator[HTTP2Connection]:
    """Our HTTP/2 connection to `server` (h2c, prior knowledge) on the asyncio backend."""
    async with raw_server(server.handle) as url:
        port = int(url.rsplit(":", 1)[1])
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port)
        origin = httpcore.Origin(b"http", b"127.0.0.1", port)
        connection = HTTP2Connection(origin=origin, stream=stream)
        try:
            yield connection
        finally:
            await connection.aclose()


async def _first_chunk(
    connection: httpcore.AsyncConnectionInterface, url: str, body: bytes | None = None
) -> bytes:
    headers = [(b"host", b"127.0.0.1")]
    if body is not None:
        headers.append((b"content-length", str(len(body)).encode()))
    request = httpcore.Request(
        "POST" if body is not None else "GET",
        url,
        headers=headers,
        content=body,
        extensions={"timeout": {"read": 30}},
    )
    response = await connection.handle_async_request(request)
    async for chunk in response.aiter_stream():  # type: ignore[union-attr]
        return bytes(chunk)
    return b""


@asynccontextmanager
async def waiting_streams(count: int) -> AsyncIterator[tuple[H2Server, list[asyncio.Task[bytes]]]]:
    """`count` streams on one connection, each waiting for its response from `H2Server`."""
    server = H2Server()
    server.expected = count
    async with h2_connection(server) as connection:
        url = f"http://127.0.0.1:{connection._origin.port}/"
        tasks = [asyncio.ensure_future(_first_chunk(connection, url)) for _ in range(count)]
        await asyncio.wait_for(server.requests_seen.wait(), 5)
        await asyncio.sleep(0.05)  # every stream is waiting for its response now
        try:
            yield server, tasks
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def test_an_http2_request_leaves_in_one_send_and_reading_its_reply_sends_nothing() -> None:
    server = H2Server()
    server.expected = 2
    async with raw_server(server.handle) as url:
        port = int(url.rsplit(":", 1)[1])
        stream = CountedSends(await AsyncioBackend().connect_tcp("127.0.0.1", port))
        connection = HTTP2Connection(httpcore.Origin(b"http", b"127.0.0.1", port), stream)
        try:
            first = asyncio.ensure_future(_first_chunk(connection, url + "/", body=b"x" * 10))
            await asyncio.sleep(0.05)
            sends = stream.sends  # the connection preface and the first request
            second = asyncio.ensure_future(_first_chunk(connection, url + "/", body=b"y" * 20))
            await asyncio.wait_for(server.requests_seen.wait(), 5)
            server.answer(0)
            server.answer(1)
            assert await asyncio.wait_for(asyncio.gather(first, second), 5) == [b"first chunk"] * 2
            assert stream.sends == sends + 1
            assert set(server.ended) == set(server.streams)
            assert [server.received[s] for s in server.streams] == [10, 20]
            initial_window = h2.settings.SettingCodes.INITIAL_WINDOW_SIZE
            assert server.settings[initial_window] == 2**24
            assert set(server.window_updates) == {0}  # the connection's only
        finally:
            await connection.aclose()


async def test_an_http1_request_leaves_in_one_send_head_and_body() -> None:
    received: list[bytes] = []

    async def reply(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        received.append(head + await reader.readexactly(5))
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()

    async with raw_server(reply) as url:
        port = int(url.rsplit(":", 1)[1])
        stream = CountedSends(await AsyncioBackend().connect_tcp("127.0.0.1", port))
        connection = HTTP11Connection(httpcore.Origin(b"http", b"127.0.0.1", port), stream)
        try:
            assert await _first_chunk(connection, url + "/", body=b"hello") == b"ok"
            assert stream.sends == 1
            assert received[0].startswith(b"POST / HTTP/1.1\r\n") and received[0].endswith(b"hello")
        finally:
            await connection.aclose()


async def test_a_stream_gets_its_reply_while_its_siblings_wait_on_a_silent_server() -> None:
    """In httpcore a stream whose frames arrived still queues for the read lock behind
    siblings that each read the socket first; with a silent server those reads never end
    and the answered stream would wait forever."""
    async with waiting_streams(8) as (server, tasks):
        server.answer(5)
        done, _ = await asyncio.wait(tasks, timeout=5, return_when=asyncio.FIRST_COMPLETED)
        assert [tasks.index(task) for task in done] == [5]
        assert done.pop().result() == b"first chunk"


async def test_every_waiting_stream_meets_a_connection_that_closes() -> None:
    async with waiting_streams(6) as (server, tasks):
        server.hang_up()
        results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 5)
        assert all(isinstance(result, httpcore.RemoteProtocolError) for result in results)


async def test_an_upload_beyond_the_window_continues_while_another_stream_reads() -> None:
    """httpcore's sender reads the socket for its WINDOW_UPDATE even when another stream is
    reading, so once that reader has consumed the update the sender blocks on a read until
    some unrelated frame arrives (here: never). The sender must wait like a stream does."""
    server = H2Server()
    server.expected = 2
    async with h2_connection(server) as connection:
        url = f"http://127.0.0.1:{connection._origin.port}/"
        waiting = asyncio.ensure_future(_first_chunk(connection, url))  # reads the socket
        await asyncio.sleep(0.05)
        large = 200_000  # more than the initial 65 535-byte window
        upload = asyncio.ensure_future(_first_chunk(connection, url, body=b"y" * large))
        await asyncio.wait_for(server.requests_seen.wait(), 5)
        for _ in range(500):
            if server.streams[1] in server.ended:
                break
            await asyncio.sleep(0.01)
        assert server.received.get(server.streams[1]) == large
        assert server.streams[1] in server.ended
        for task in (waiting, upload):
            task.cancel()
        await asyncio.gather(waiting, upload, return_exceptions=True)


@pytest.mark.parametrize("seed", range(20))
async def test_streams_answered_in_any_order_with_some_cancelled_all_get_their_replies(
    seed: int,
) -> None:
    """Whatever order the server answers in and whichever waiting streams are cancelled
    meanwhile (among them, at times, the one reading the socket), every other stream gets
    its reply: no wake-up is lost and the socket always finds a reader."""
    rng = random.Random(seed)
    count = 24
    async with waiting_streams(count) as (server, tasks):
        order = list(range(count))
        rng.shuffle(order)
        cancelled = set(rng.sample(order, 6))
        for index in order:
            if index in cancelled:
                tasks[index].cancel()
            else:
                server.answer(index)
            if rng.random() < 0.5:
                await asyncio.sleep(0)
        results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 5)
        for index, result in enumerate(results):
            if index in cancelled:
                assert isinstance(result, asyncio.CancelledError)
            else:
                assert result == b"first chunk"

"""The upstream client's network backend (`server.upstream.network`) on real 127.0.0.1 sockets.

Rules checked:
- both arms' clients run their connections on AsyncioBackend (not anyio's), over TLS with
  HTTP/2 negotiated by ALPN for the pooled arm, and the emulator's answers arrive whole;
- a body far larger than the receive buffer's high-water mark arrives intact (reading pauses
  and resumes);
- transport failures become httpx's exceptions: refused → ConnectError, silence →
  ReadTimeout, a connection closed mid-body → a protocol/read error, never a hang;
- a read cancelled while waiting loses no bytes: what arrives later is read next.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import h2.config
import h2.connection
import h2.events
import httpcore
import httpx
import pytest

from conformance.emulator.testing import running_emulator
from server.upstream.network import AsyncioBackend, AsyncioStream, pool_transport
from server.upstream.transports import POOL_LIMITS, ClientTransport, Transports, UpstreamTimeouts
from tests.server.conftest import EMULATOR_SCENARIOS

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[str]:
    """A plain TCP server on 127.0.0.1 running `handler` per connection; yields its URL."""
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()


async def read_request(reader: asyncio.StreamReader) -> None:
    await reader.readuntil(b"\r\n\r\n")


def client(*, timeout: float = 5.0, http2: bool = False) -> httpx.AsyncClient:
    transport = pool_transport(http2=http2, limits=POOL_LIMITS, verify=False)
    return httpx.AsyncClient(transport=transport, timeout=timeout)


@pytest.mark.parametrize("pooled", [False, True], ids=["per-request-http1", "pooled-http2"])
async def test_both_arms_run_on_the_asyncio_backend_over_tls(pooled: bool) -> None:
    with running_emulator(EMULATOR_SCENARIOS, tls=True) as emulator:
        transports = Transports(
            lambda: ssl.create_default_context(cafile=str(emulator.ca_path)), UpstreamTimeouts()
        )
        transport = transports.pooled if pooled else transports.new_transport()
        try:
            assert isinstance(transport, httpx.AsyncHTTPTransport)
            assert isinstance(transport._pool._network_backend, AsyncioBackend)  # type: ignore[attr-defined]
            url = emulator.base_url + "/v1beta/models/gemini-2.5-flash:generateContent"
            body = json.dumps({"contents": [{"role": "user", "parts": [{"text": "hello"}]}]})
            for _ in range(3):  # the pooled arm reuses its one connection
                request = transports.request(url, body.encode(), {"x-goog-api-key": "k1"})
                response = await transport.handle_async_request(request)
                assert response.status_code == 200
                reply = json.loads(await response.aread())
                assert reply["candidates"][0]["content"]["parts"]
            assert response.http_version == ("HTTP/2" if pooled else "HTTP/1.1")
        finally:
            await transport.aclose()
            await transports.aclose()


async def test_a_body_larger_than_the_receive_buffer_arrives_intact() -> None:
    payload = bytes(range(256)) * (16 * 1024)  # 4 MiB, four times the high-water mark

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(payload))
        writer.write(payload)
        await writer.drain()
        writer.close()

    async with raw_server(handler) as url, client() as http:
        async with http.stream("GET", url) as response:
            received = bytearray()
            async for chunk in response.aiter_raw():
                received += chunk
                await asyncio.sleep(0)  # a slow reader lets the buffer fill
        assert bytes(received) == payload


async def test_a_refused_connection_is_a_connect_error() -> None:
    with socket.socket() as sock:  # bound, never listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        async with client() as http:
            with pytest.raises(httpx.ConnectError):
                await http.get(f"http://127.0.0.1:{port}/")


async def test_upstream_silence_is_a_read_timeout() -> None:
    release = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await release.wait()
        writer.close()

    async with raw_server(handler) as url, client(timeout=0.2) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.get(url)
        release.set()


async def test_a_connection_closed_mid_body_is_an_error_not_a_hang() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly ten b")
        await writer.drain()
        writer.close()

    async with raw_server(handler) as url, client() as http:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            await http.get(url)


async def test_a_cancelled_read_loses_no_bytes() -> None:
    sent = asyncio.Event()
    written: list[asyncio.StreamWriter] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        written.append(writer)
        await sent.wait()
        writer.write(b"late bytes")
        await writer.drain()

    async with raw_server(handler) as url:
        port = int(url.rsplit(":", 1)[1])
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        assert isinstance(stream, AsyncioStream)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await stream.read(1024)
        sent.set()
        assert await stream.read(1024, timeout=5) == b"late bytes"
        with pytest.raises(httpcore.ReadTimeout):
            await stream.read(1024, timeout=0.05)
        await stream.aclose()
        written[0].close()


async def test_concurrent_and_cancelled_streams_share_one_http2_connection() -> None:
    """asyncio locks under contention: 32 streams at once, one of them cancelled midway,
    the others complete identically and the connection stays usable."""
    with running_emulator(EMULATOR_SCENARIOS, tls=True) as emulator:
        transports = Transports(
            lambda: ssl.create_default_context(cafile=str(emulator.ca_path)), UpstreamTimeouts()
        )
        url = emulator.base_url + "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
        body = json.dumps({"contents": [{"role": "user", "parts": [{"text": "hello"}]}]})

        async def stream(cancel_after_first: bool = False) -> bytes:
            request = transports.request(url, body.encode(), {"x-goog-api-key": "k1"})
            response = await transports.pooled.handle_async_request(request)
            received = bytearray()
            try:
                async for chunk in response.aiter_raw():
                    received += chunk
                    if cancel_after_first:
                        raise asyncio.CancelledError
            finally:
                await response.aclose()
            return bytes(received)

        try:
            victim = asyncio.ensure_future(stream(cancel_after_first=True))
            replies = await asyncio.gather(*(stream() for _ in range(32)))
            with pytest.raises(asyncio.CancelledError):
                await victim
            assert len(set(replies)) == 1 and b"data:" in replies[0]
            assert await stream() == replies[0]  # the connection is still usable
            assert httpcore._async.http2.AsyncLock.__module__ == "server.upstream.network"
        finally:
            await transports.aclose()


async def test_with_proxy_environment_variables_the_arms_keep_httpx_full_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("server.upstream.transports._env_proxies", True)
    with running_emulator(EMULATOR_SCENARIOS) as emulator:
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # the client honours it: loopback goes direct
        transports = Transports(lambda: True, UpstreamTimeouts())
        try:
            assert isinstance(transports.pooled, ClientTransport)
            url = emulator.base_url + "/v1beta/models/gemini-2.5-flash:generateContent"
            body = json.dumps({"contents": [{"role": "user", "parts": [{"text": "hello"}]}]})
            request = transports.request(url, body.encode(), {"x-goog-api-key": "k1"})
            response = await transports.pooled.handle_async_request(request)
            assert response.status_code == 200 and b"candidates" in await response.aread()
        finally:
            await transports.aclose()


# --- HTTP/2 streams that wait for their own events (_HTTP2Connection) ---------------------------


class H2Server:
    """A plain-TCP HTTP/2 server (prior knowledge) that answers only when the test says so:
    `answer(i)` sends the response headers and one DATA frame on the i-th request's stream,
    `hang_up()` closes every connection. It counts each request's body bytes (`received`) and
    notes the streams whose request ended (`ended`)."""

    def __init__(self) -> None:
        self.streams: list[int] = []
        self.requests_seen = asyncio.Event()
        self.expected = 0
        self.received: dict[int, int] = {}
        self.ended: set[int] = set()
        self._writers: list[tuple[h2.connection.H2Connection, asyncio.StreamWriter]] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        config = h2.config.H2Configuration(client_side=False)
        connection = h2.connection.H2Connection(config=config)
        connection.initiate_connection()
        writer.write(connection.data_to_send())
        self._writers.append((connection, writer))
        while data := await reader.read(65536):
            for event in connection.receive_data(data):
                if isinstance(event, h2.events.RequestReceived):
                    self.streams.append(event.stream_id)
                    if len(self.streams) == self.expected:
                        self.requests_seen.set()
                elif isinstance(event, h2.events.DataReceived):
                    size = event.flow_controlled_length
                    self.received[event.stream_id] = self.received.get(event.stream_id, 0) + size
                    connection.acknowledge_received_data(size, event.stream_id)
                elif isinstance(event, h2.events.StreamEnded):
                    self.ended.add(event.stream_id)
            writer.write(connection.data_to_send())

    def answer(self, index: int) -> None:
        connection, writer = self._writers[0]
        stream_id = self.streams[index]
        connection.send_headers(stream_id, [(":status", "200")])
        connection.send_data(stream_id, b"first chunk")
        writer.write(connection.data_to_send())

    def hang_up(self) -> None:
        for _, writer in self._writers:
            writer.close()


@asynccontextmanager
async def h2_connection(
    server: H2Server,
) -> AsyncIterator[httpcore._async.http2.AsyncHTTP2Connection]:
    pool_transport(http2=True, limits=POOL_LIMITS, verify=False)  # installs the tuned classes
    async with raw_server(server.handle) as url:
        port = int(url.rsplit(":", 1)[1])
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port)
        origin = httpcore.Origin(b"http", b"127.0.0.1", port)
        connection = httpcore._async.http2.AsyncHTTP2Connection(origin=origin, stream=stream)
        assert type(connection).__module__ == "server.upstream.network"
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

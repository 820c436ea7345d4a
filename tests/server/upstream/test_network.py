"""The upstream client's network backend (`server.upstream.network`) on real 127.0.0.1 sockets,
through the proxy's own transport (server.upstream.httpcore_transport).

Rules checked:
- a body far larger than the receive buffer's high-water mark arrives intact (reading pauses
  and resumes);
- transport failures become httpx's exceptions: refused → ConnectError, silence →
  ReadTimeout, a connection closed mid-body → a protocol/read error, never a hang;
- a read cancelled while waiting loses no bytes: what arrives later is read next.
"""

from __future__ import annotations

import asyncio
import socket

import httpcore
import httpx
import pytest

from server.upstream.httpcore_transport import HttpcoreTransport
from server.upstream.network import AsyncioBackend, AsyncioStream
from server.upstream.transports import POOL_LIMITS
from tests.server.upstream.raw_servers import raw_server, read_request


def client(*, timeout: float = 5.0, http2: bool = False) -> httpx.AsyncClient:
    transport = HttpcoreTransport(http2=http2, limits=POOL_LIMITS, verify=False)
    return httpx.AsyncClient(transport=transport, timeout=timeout)


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

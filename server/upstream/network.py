"""An httpcore network backend on the running asyncio loop's own transports (uvloop's in
`compatkit serve`).

Operations:
    AsyncioBackend()      an `httpcore.AsyncNetworkBackend`: connect_tcp, sleep
    AsyncioStream         read / write / start_tls / aclose / get_extra_info

Why: httpcore's default backend goes through anyio, which wraps TLS in a pure-Python
`TLSStream` over a memory BIO and opens a cancel scope (`fail_after`) around every read and
write. Profiles of the proxy put that layer at about a third of the upstream exchange's CPU.
The loop's transports do TLS in C (uvloop) or in `asyncio.sslproto`, and a read that finds
bytes already buffered returns them without arming a timer. Only the proxy's own transport
(server.upstream.httpcore_transport) uses this backend; other httpx clients keep anyio's.

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

import httpcore

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

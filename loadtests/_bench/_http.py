"""The measuring client: HTTP/1.1 over asyncio, parsed by llhttp (httptools), fed to a meter.

Operations
    client = HttpClient(base_url, ssl_context=None)      one keep-alive pool per origin
    await client.send(path, headers, body, sink, deadline_s, method="POST")
                                        the response goes to `sink` (a ResponseMeter) stamped
                                        with the time each read arrived; a deadline, a refused
                                        or broken connection become the sink's errors
    await client.fetch(path, ...) -> Fetched(status, body, error)
                                        the whole response, for control calls (readiness,
                                        the emulator's records)
    await client.close()

Why not aiohttp: the runner has to measure a 1 ms effect on a 2-core machine, so the client's
own cost is part of every figure. Against an in-process server that answers at once, aiohttp
added ~0.27 ms (p50) per small stream; this client, the same llhttp parser behind a bare
asyncio Protocol, added ~0.06 ms (docs/performance.md has the runner's own benchmark). Each
read is stamped in `data_received`, the first moment Python sees it.

Plan: a `_Connection` protocol owns one socket and one httptools parser; a request is an
`_Exchange` (its meter and a future completed at the end of the body or of the connection).
Idle connections wait in a LIFO list; a connection the server closes, or that timed out, is
never reused. No retries: a failed request is a measurement.
"""

from __future__ import annotations

import asyncio
import errno
import ssl
import time
from dataclasses import dataclass, field
from typing import Any, Protocol, cast
from urllib.parse import urlsplit

import httptools

__all__ = ["Fetched", "HttpClient", "Sink"]


class Sink(Protocol):
    """Where a response goes as it arrives (`loadtests._common.ResponseMeter` is one)."""

    def headers(self, status: int, content_type: str, now: float) -> None: ...
    def feed(self, data: bytes, now: float) -> None: ...
    def end(self, now: float) -> None: ...
    def fail(self, kind: Any, type_: str, message: str = "") -> None: ...


@dataclass
class Fetched:
    """A whole response (a Sink): its status and body, or why there is none."""

    status: int | None = None
    chunks: list[bytes] = field(default_factory=list)
    error: str | None = None

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    def headers(self, status: int, content_type: str, now: float) -> None:
        self.status = status

    def feed(self, data: bytes, now: float) -> None:
        self.chunks.append(data)

    def end(self, now: float) -> None:
        pass

    def fail(self, kind: Any, type_: str, message: str = "") -> None:
        if self.error is None:
            self.error = f"{kind}: {message or type_}"


class _Exchange:
    """One request's response state."""

    __slots__ = ("content_type", "done", "keep_alive", "meter", "now")

    def __init__(self, meter: Sink, done: asyncio.Future[None]) -> None:
        self.meter = meter
        self.done = done
        self.now = 0.0
        self.content_type = ""
        self.keep_alive = False


class _Connection(asyncio.Protocol):
    """One keep-alive connection and its response parser."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.open = False
        self._parser = httptools.HttpResponseParser(self)
        self._exchange: _Exchange | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's TLS one is no subclass
        self.open = True

    def start(self, request: bytes, exchange: _Exchange) -> None:
        assert self.transport is not None
        self._exchange = exchange
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        exchange = self._exchange
        if exchange is None:  # bytes nobody asked for: this connection is unusable
            self.abort()
            return
        exchange.now = time.perf_counter()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            exchange.meter.fail("protocol", "bad_http", f"unparseable HTTP response: {exc}")
            self._finish(exchange)
            self.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        exchange = self._exchange
        if exchange is not None:
            exchange.now = time.perf_counter()
            exchange.meter.fail(
                "protocol", "connection_closed", "the connection closed before the response ended"
            )
            exchange.meter.end(exchange.now)
            self._finish(exchange)

    def abort(self) -> None:
        self.open = False
        if self.transport is not None:
            self.transport.abort()

    # httptools callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._exchange is not None and name.lower() == b"content-type":
            self._exchange.content_type = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        exchange = self._exchange
        if exchange is not None:
            exchange.meter.headers(
                self._parser.get_status_code(), exchange.content_type, exchange.now
            )

    def on_body(self, body: bytes) -> None:
        if self._exchange is not None:
            self._exchange.meter.feed(body, self._exchange.now)

    def on_message_complete(self) -> None:
        exchange = self._exchange
        if exchange is not None:
            exchange.keep_alive = self._parser.should_keep_alive()
            exchange.meter.end(exchange.now)
            self._finish(exchange)

    def _finish(self, exchange: _Exchange) -> None:
        self._exchange = None
        if not exchange.done.done():
            exchange.done.set_result(None)


class HttpClient:
    """Requests to one origin (`base_url`, which may carry a path prefix)."""

    def __init__(self, base_url: str, *, ssl_context: ssl.SSLContext | None = None) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.base_url = base_url
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._prefix = parts.path.rstrip("/")
        self._host_header = parts.netloc.encode("idna")
        self._ssl: ssl.SSLContext | None = None
        if parts.scheme == "https":
            self._ssl = ssl_context or ssl.create_default_context()
            self._ssl.set_alpn_protocols(["http/1.1"])
        self._idle: list[_Connection] = []

    async def send(
        self,
        path: str,
        headers: dict[str, str],
        body: bytes,
        meter: Sink,
        deadline_s: float,
        method: str = "POST",
    ) -> None:
        """One request; whatever happens is recorded in `meter`, nothing is raised."""
        request = self._encode(method, path, headers, body)
        connection: _Connection | None = None
        try:
            async with asyncio.timeout(deadline_s):
                connection = await self._connection()
                loop = asyncio.get_running_loop()
                exchange = _Exchange(meter, loop.create_future())
                connection.start(request, exchange)
                await exchange.done
        except TimeoutError:
            meter.fail("timeout", "deadline", f"no complete response within {deadline_s:g} s")
            if connection is not None:
                connection.abort()
            return
        except OSError as exc:
            meter.fail("connect", _os_error_type(exc), str(exc) or type(exc).__name__)
            return
        if connection.open and exchange.keep_alive:
            self._idle.append(connection)
        else:
            connection.abort()

    async def fetch(
        self,
        path: str,
        *,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        deadline_s: float = 10.0,
    ) -> Fetched:
        """The whole response to one request (nothing is raised: see `Fetched.error`)."""
        fetched = Fetched()
        await self.send(path, headers or {}, body, fetched, deadline_s, method)
        return fetched

    async def close(self) -> None:
        while self._idle:
            self._idle.pop().abort()

    async def _connection(self) -> _Connection:
        while self._idle:
            connection = self._idle.pop()
            if connection.open:
                return connection
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(
            _Connection,
            self._host,
            self._port,
            ssl=self._ssl,
            server_hostname=self._host if self._ssl is not None else None,
        )
        return protocol

    def _encode(self, method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
        lines = [f"{method} {self._prefix}{path} HTTP/1.1", f"host: {self._host_header.decode()}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"content-length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _os_error_type(exc: OSError) -> str:
    """A short reason: tls, refused, reset, or the errno's name (econnaborted, ...)."""
    if isinstance(exc, ssl.SSLError):
        return "tls"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, ConnectionResetError):
        return "reset"
    if exc.errno is not None and exc.errno in errno.errorcode:
        return errno.errorcode[exc.errno].lower()
    return type(exc).__name__.lower()

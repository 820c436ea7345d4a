"""The proxy's own httpx transport: httpcore's connection pool on the loop's own sockets,
speaking our connection classes.

Operations:
    HttpcoreTransport(http2=, limits=, verify=, http2_prior_knowledge=False)
                                                  an `httpx.AsyncBaseTransport`;
        await .handle_async_request(request) -> httpx.Response   (body streamed)
        await .aclose()
        .pool -> server.upstream.pool.ConnectionPool             (for tests: `.connections`)

Plan: what `httpx.AsyncHTTPTransport` does (an httpx request as an httpcore request, httpcore's
exceptions as httpx's, the response body streamed), over our own pool
(server.upstream.pool: a request finds a connection without walking the others; httpcore's
walks every pooled connection on each request and response, issue 11) of our
`server.upstream.connections.Connection` on `AsyncioBackend` (the loop's own sockets).
With `http2_prior_knowledge` (and `http2`), an http:// origin is spoken to in HTTP/2 from the
first byte (h2c, no HTTP/1.1 fallback); an https:// origin still negotiates by ALPN.
Nothing outside this transport changes: httpx's own transports, and every other client in
the process, keep stock httpcore and its pool on anyio.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterable, AsyncIterator, Callable

import httpcore
import httpx

from server.upstream.connections import Connection
from server.upstream.network import AsyncioBackend
from server.upstream.pool import ConnectionPool

_HTTPX_ERRORS: dict[type[Exception], type[httpx.HTTPError]] = {
    httpcore.TimeoutException: httpx.TimeoutException,
    httpcore.ConnectTimeout: httpx.ConnectTimeout,
    httpcore.ReadTimeout: httpx.ReadTimeout,
    httpcore.WriteTimeout: httpx.WriteTimeout,
    httpcore.PoolTimeout: httpx.PoolTimeout,
    httpcore.NetworkError: httpx.NetworkError,
    httpcore.ConnectError: httpx.ConnectError,
    httpcore.ReadError: httpx.ReadError,
    httpcore.WriteError: httpx.WriteError,
    httpcore.ProxyError: httpx.ProxyError,
    httpcore.UnsupportedProtocol: httpx.UnsupportedProtocol,
    httpcore.ProtocolError: httpx.ProtocolError,
    httpcore.LocalProtocolError: httpx.LocalProtocolError,
    httpcore.RemoteProtocolError: httpx.RemoteProtocolError,
}
"""httpcore's exceptions as httpx's (httpx.AsyncHTTPTransport's own table)."""


class HttpcoreTransport(httpx.AsyncBaseTransport):
    """httpx's transport interface over our httpcore pool."""

    def __init__(
        self,
        *,
        http2: bool,
        limits: httpx.Limits,
        verify: ssl.SSLContext | bool,
        http2_prior_knowledge: bool = False,
    ) -> None:
        create_connection = _connection_maker(
            ssl_context=httpx.create_ssl_context(verify=verify),
            keepalive_expiry=limits.keepalive_expiry,
            http2=http2,
            cleartext_http2=http2 and http2_prior_knowledge,
        )
        self._pool = ConnectionPool(
            create_connection,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
        )

    @property
    def pool(self) -> ConnectionPool:
        return self._pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        url = request.url
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            response = await self._pool.handle_async_request(core_request)
        except Exception as exc:
            mapped = _httpx_error(exc)
            if mapped is None:
                raise
            raise mapped from exc
        assert isinstance(response.stream, AsyncIterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


def _connection_maker(
    *,
    ssl_context: ssl.SSLContext,
    keepalive_expiry: float | None,
    http2: bool,
    cleartext_http2: bool,
) -> Callable[[httpcore.Origin], Connection]:
    """Our connections to an origin, on the loop's own sockets (`AsyncioBackend`): HTTP/1.1 or,
    with `http2`, HTTP/2 by ALPN; HTTP/2 only (prior knowledge) to an http:// origin with
    `cleartext_http2`."""
    backend = AsyncioBackend()

    def create_connection(origin: httpcore.Origin) -> Connection:
        http1 = not (cleartext_http2 and origin.scheme == b"http")
        return Connection(
            origin=origin, ssl_context=ssl_context, keepalive_expiry=keepalive_expiry,
            http1=http1, http2=http2, network_backend=backend,
        )  # fmt: skip

    return create_connection


class _ResponseStream(httpx.AsyncByteStream):
    """An httpcore response body as httpx's, its errors as httpx's."""

    def __init__(self, stream: AsyncIterable[bytes]) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for part in self._stream:
                yield part
        except Exception as exc:
            mapped = _httpx_error(exc)
            if mapped is None:
                raise
            raise mapped from exc

    async def aclose(self) -> None:
        aclose = getattr(self._stream, "aclose", None)
        if aclose is not None:
            await aclose()


def _httpx_error(exc: Exception) -> httpx.HTTPError | None:
    """The httpx exception for an httpcore one (the most specific); None for any other."""
    for kind in type(exc).__mro__:
        mapped = _HTTPX_ERRORS.get(kind)
        if mapped is not None:
            return mapped(str(exc))
    return None

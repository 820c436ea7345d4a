"""The proxy's own httpx transport: httpcore's connection pool on the loop's own sockets,
speaking our connection classes.

Operations:
    HttpcoreTransport(http2=, limits=, verify=)   an `httpx.AsyncBaseTransport`;
        await .handle_async_request(request) -> httpx.Response   (body streamed)
        await .aclose()
        .pool -> httpcore.AsyncConnectionPool                    (for tests: `.connections`)

Plan: what `httpx.AsyncHTTPTransport` does (an httpx request as an httpcore request, httpcore's
exceptions as httpx's, the response body streamed), over an `httpcore.AsyncConnectionPool`
built with `network_backend=AsyncioBackend()` whose `create_connection` makes our
`server.upstream.connections.Connection`. Nothing outside this transport changes: httpx's
own transports, and every other client in the process, keep stock httpcore on anyio.

The transport reaches its pool only through `handle_async_request` and `aclose`, so the pool
can be replaced by one of ours (issue 11: httpcore's pool walks every pooled connection on
each request and response) without touching the transport or its callers.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterable, AsyncIterator

import httpcore
import httpx

from server.upstream.connections import Connection
from server.upstream.network import AsyncioBackend

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

    def __init__(self, *, http2: bool, limits: httpx.Limits, verify: ssl.SSLContext | bool) -> None:
        self._pool = _Pool(
            ssl_context=httpx.create_ssl_context(verify=verify),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=http2,
        )

    @property
    def pool(self) -> httpcore.AsyncConnectionPool:
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


class _Pool(httpcore.AsyncConnectionPool):
    """httpcore's pool on `AsyncioBackend`, making our connections."""

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext,
        max_connections: int | None,
        max_keepalive_connections: int | None,
        keepalive_expiry: float | None,
        http1: bool,
        http2: bool,
    ) -> None:
        backend = AsyncioBackend()
        super().__init__(
            ssl_context=ssl_context,
            max_connections=max_connections,
            max_keepalive_connections=max_keepalive_connections,
            keepalive_expiry=keepalive_expiry,
            http1=http1,
            http2=http2,
            network_backend=backend,
        )
        self._new_connection = dict(
            ssl_context=ssl_context,
            keepalive_expiry=keepalive_expiry,
            http1=http1,
            http2=http2,
            network_backend=backend,
        )

    def create_connection(self, origin: httpcore.Origin) -> httpcore.AsyncConnectionInterface:
        return Connection(origin=origin, **self._new_connection)


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

"""The proxy's own httpx transport (server.upstream.httpcore_transport) against the emulator.

Rules checked:
- 32 streams at once on one HTTP/2 connection, one cancelled midway: the others complete
  identically, the connection stays usable, and it runs on our connection classes (asyncio
  locks and stream slots);
- its scope is its own pool: a plain httpx client in the same process, used after it, gets
  stock httpcore (anyio backend, httpcore's own connection classes and locks), and httpcore's
  modules are unchanged.
"""

from __future__ import annotations

import asyncio
import json
import ssl

import httpcore
import httpx
import pytest
from httpcore._synchronization import AsyncLock, AsyncSemaphore

from conformance.emulator.testing import running_emulator
from server.upstream.connections import HTTP2Connection, _Lock, _Semaphore
from server.upstream.network import AsyncioStream
from server.upstream.transports import Transports, UpstreamTimeouts
from tests.server.conftest import EMULATOR_SCENARIOS


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
            [connection] = transports.pooled.pool.connections
            http2 = connection._connection
            assert isinstance(http2, HTTP2Connection)
            for lock in (http2._init_lock, http2._state_lock, http2._read_lock, http2._write_lock):
                assert isinstance(lock, _Lock)
            assert isinstance(http2._max_streams_semaphore, _Semaphore)
        finally:
            await transports.aclose()


async def test_a_plain_httpx_client_in_the_same_process_gets_stock_httpcore() -> None:
    with running_emulator(EMULATOR_SCENARIOS, tls=True) as emulator:

        def context() -> ssl.SSLContext:
            return ssl.create_default_context(cafile=str(emulator.ca_path))

        transports = Transports(context, UpstreamTimeouts())
        url = emulator.base_url + "/v1beta/models/gemini-2.5-flash:generateContent"
        body = json.dumps({"contents": [{"role": "user", "parts": [{"text": "hello"}]}]})
        headers = {"x-goog-api-key": "k1"}
        try:
            ours = await transports.pooled.handle_async_request(
                transports.request(url, body.encode(), headers)
            )
            await ours.aread()
            assert ours.http_version == "HTTP/2"  # our classes are in use in this process
            async with httpx.AsyncClient(http2=True, verify=context()) as plain:
                theirs = await plain.post(url, content=body, headers=headers)
                assert theirs.status_code == 200 and theirs.http_version == "HTTP/2"
                assert not isinstance(theirs.extensions["network_stream"], AsyncioStream)
                [connection] = plain._transport._pool.connections  # type: ignore[attr-defined]
                assert type(connection) is httpcore.AsyncHTTPConnection
                assert type(connection._connection) is httpcore.AsyncHTTP2Connection
                assert type(connection._connection._read_lock) is AsyncLock
                assert type(connection._connection._max_streams_semaphore) is AsyncSemaphore
        finally:
            await transports.aclose()
        for module in (httpcore._async.connection, httpcore._async.http11, httpcore._async.http2):
            assert module.AsyncLock is AsyncLock  # type: ignore[attr-defined]
        assert httpcore._async.http2.AsyncSemaphore is AsyncSemaphore  # type: ignore[attr-defined]
        assert httpcore._async.http2.AsyncHTTP2Connection is httpcore.AsyncHTTP2Connection

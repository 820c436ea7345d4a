"""The upstream transport's connection pool (server.upstream.pool) against the emulator over
plain HTTP/1.1, through the proxy's own transport.

Rules checked:
- a request looks at one pooled connection, not at every one (httpcore's pool walks them
  all on each request and response, issue 11);
- responses closed give their HTTP/1.1 connections back: the next requests reuse them;
- never more than `max_connections` open: the others wait their turn, and one that waits
  longer than its pool timeout gets httpx's PoolTimeout;
- idle connections beyond `max_keepalive_connections` are closed.
(HTTP/2 streams sharing one connection: tests/server/upstream/test_httpcore_transport.py.)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from conformance.emulator.testing import running_emulator
from server.upstream.connections import Connection
from server.upstream.httpcore_transport import HttpcoreTransport
from tests.server.conftest import EMULATOR_SCENARIOS

BODY = json.dumps({"contents": [{"role": "user", "parts": [{"text": "hello"}]}]})
PATH = "/v1beta/models/gemini-2.5-flash:generateContent"


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with running_emulator(EMULATOR_SCENARIOS) as emulator:
        yield emulator.base_url


@contextlib.asynccontextmanager
async def client(
    base_url: str, *, max_connections: int = 64, max_keepalive: int = 64, pool_timeout: float = 5
) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_keepalive)
    transport = HttpcoreTransport(http2=False, limits=limits, verify=False)
    timeout = httpx.Timeout(5.0, pool=pool_timeout)
    async with httpx.AsyncClient(transport=transport, base_url=base_url, timeout=timeout) as c:
        yield c


def pool_of(c: httpx.AsyncClient) -> Any:
    transport = c._transport
    assert isinstance(transport, HttpcoreTransport)
    return transport.pool


async def held_open(c: httpx.AsyncClient, n: int, stack: contextlib.AsyncExitStack) -> None:
    """`n` responses at once, their bodies read to the end but each response left open, so
    holding its connection, until `stack` closes them (httpx's own reading would close it;
    a response closed unread closes its HTTP/1.1 connection)."""
    transport = c._transport

    async def one() -> None:
        request = c.build_request("POST", PATH, content=BODY, headers={"x-goog-api-key": "k1"})
        response = await transport.handle_async_request(request)
        stack.push_async_callback(response.aclose)
        assert response.status_code == 200
        assert isinstance(response.stream, httpx.AsyncByteStream)
        async for _ in response.stream:
            pass

    await asyncio.gather(*(one() for _ in range(n)))


async def ask(c: httpx.AsyncClient) -> None:
    response = await c.post(PATH, content=BODY, headers={"x-goog-api-key": "k1"})
    assert response.status_code == 200 and response.json()["candidates"]


async def test_a_request_looks_at_one_pooled_connection_not_at_every_one(
    base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("server.upstream.pool.SWEEP_INTERVAL", 3600.0)  # no sweep meanwhile
    async with client(base_url) as c:
        async with contextlib.AsyncExitStack() as stack:
            await held_open(c, 16, stack)
        assert len(pool_of(c).connections) == 16  # all idle now, kept alive
        looked_at: Counter[int] = Counter()
        for name in ("is_idle", "is_available", "has_expired", "is_closed"):
            original = getattr(Connection, name)

            def counted(self: Connection, _original: Any = original) -> Any:
                looked_at[id(self)] += 1
                return _original(self)

            monkeypatch.setattr(Connection, name, counted)
        await ask(c)
        assert len(looked_at) == 1  # httpcore's pool: all 16, on the request and the response


async def test_closed_responses_give_their_connections_back_for_the_next_requests(
    base_url: str,
) -> None:
    async with client(base_url) as c:
        for _ in range(3):
            async with contextlib.AsyncExitStack() as stack:
                await held_open(c, 8, stack)
            assert len(pool_of(c).connections) == 8


async def test_never_more_than_max_connections_and_the_others_wait_their_turn(
    base_url: str,
) -> None:
    async with client(base_url, max_connections=2) as c:
        most = 0

        async def ask_and_count() -> None:
            nonlocal most
            await ask(c)
            most = max(most, len(pool_of(c).connections))

        await asyncio.gather(*(ask_and_count() for _ in range(12)))
        assert most <= 2


async def test_a_request_waiting_longer_than_its_pool_timeout_gets_a_pool_timeout(
    base_url: str,
) -> None:
    async with client(base_url, max_connections=1, pool_timeout=0.05) as c:
        async with contextlib.AsyncExitStack() as stack:
            await held_open(c, 1, stack)
            with pytest.raises(httpx.PoolTimeout):
                await ask(c)
        await ask(c)  # the connection, freed, serves again


async def test_idle_connections_beyond_max_keepalive_are_closed(base_url: str) -> None:
    async with client(base_url, max_keepalive=2) as c:
        async with contextlib.AsyncExitStack() as stack:
            await held_open(c, 5, stack)
            assert len(pool_of(c).connections) == 5
        assert len(pool_of(c).connections) == 2

"""Fixtures for the state stores: a real redis-server per module, and `store`, run once per
implementation (SQLite in memory, Redis under a prefix of its own)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from server.state.factory import open_store
from server.state.store import StateStore
from tests.server.state.redis_server import RedisServer, redis_available

_prefixes = itertools.count()


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    if not redis_available():
        pytest.skip("redis-server is not installed (scripts/install.sh installs it)")
    with RedisServer(Path(tmp_path_factory.mktemp("redis"))) as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    redis_server.flush()
    return redis_server.url


@pytest.fixture(params=["sqlite", "redis"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


StoreFactory = Callable[[], StateStore]


@pytest.fixture
def make_store(store_kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    """A function opening another store on the same state (a second instance)."""
    if store_kind == "redis":
        url = request.getfixturevalue("redis_url")
        prefix = f"test{next(_prefixes)}:"
        return lambda: open_store(":memory:", url=url, prefix=prefix)
    path = str(tmp_path / "state.sqlite3")
    return lambda: open_store(path)


@pytest.fixture
async def store(make_store: StoreFactory) -> AsyncIterator[StateStore]:
    s = make_store()
    await s.open()
    yield s
    await s.close()

"""Benchmarks of the proxy's per-request bookkeeping: scheduler leases and flag reads.

Run: .venv/bin/pytest benchmarks/test_bench_server_core.py --benchmark-enable --benchmark-only
Without --benchmark-enable (the CI default) each benchmark runs once as a smoke test.

Each benchmark runs a batch of OPS operations inside one event loop turn-up, so the figure
per operation is the median divided by OPS. Pairs measured side by side in one run:
- `lease`: acquire + release of one credential out of 8, random arm (baseline) against the
  health arm (`ff_preview_credential_scheduler_v2`), state store on a SQLite file;
- `flags`: FlagService.current() served from its cache (the hot path) against a read that
  goes to the SQLite store every time (ttl=0), to show what the cache saves.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from server.credentials.credential import ApiKeyCredential
from server.credentials.scheduler import CredentialBoard, OutcomeKind, Schedulers
from server.flags import FlagService
from server.state.factory import open_store
from server.state.store import StateStore

OPS = 200
MODEL = "gemini-2.5-pro"


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture
def store(loop: asyncio.AbstractEventLoop, tmp_path: Path) -> Iterator[StateStore]:
    store = open_store(str(tmp_path / "state.sqlite3"))
    loop.run_until_complete(store.open())
    yield store
    loop.run_until_complete(store.close())


def _batches(
    loop: asyncio.AbstractEventLoop, operation: Callable[[], Awaitable[object]]
) -> Callable[[], None]:
    async def batch() -> None:
        for _ in range(OPS):
            await operation()

    return lambda: loop.run_until_complete(batch())


def _lease_cycle(loop: asyncio.AbstractEventLoop, store: StateStore, health: bool):
    credentials = [ApiKeyCredential(f"benchmark-key-{i:04d}") for i in range(8)]
    board = CredentialBoard(credentials, store)
    schedulers = Schedulers(board, random.Random(0))
    scheduler = schedulers.health if health else schedulers.random

    async def cycle() -> None:
        lease = await scheduler.acquire(MODEL)
        await scheduler.release(lease, OutcomeKind.SUCCESS, input_tokens=10, output_tokens=20)

    run = _batches(loop, cycle)

    def run_and_flush() -> None:
        run()
        loop.run_until_complete(board.flush())  # the store writes are part of the cost

    return run_and_flush


@pytest.mark.benchmark(group="lease")
def test_bench_lease_random_arm(benchmark, loop, store) -> None:  # type: ignore[no-untyped-def]
    benchmark(_lease_cycle(loop, store, health=False))


@pytest.mark.benchmark(group="lease")
def test_bench_lease_health_arm(benchmark, loop, store) -> None:  # type: ignore[no-untyped-def]
    benchmark(_lease_cycle(loop, store, health=True))


@pytest.mark.benchmark(group="flags")
def test_bench_flags_cached(benchmark, loop, store) -> None:  # type: ignore[no-untyped-def]
    service = FlagService(store, ttl=60.0)
    benchmark(_batches(loop, service.current))


@pytest.mark.benchmark(group="flags")
def test_bench_flags_uncached(benchmark, loop, store) -> None:  # type: ignore[no-untyped-def]
    service = FlagService(store, ttl=0.0)
    benchmark(_batches(loop, service.current))

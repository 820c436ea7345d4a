"""The credential board's concurrency limit on a shared store: two boards (two instances)
on one real redis-server take their leases there, so together they never hold more than
`limit` leases on a credential, see each other's in-flight leases after a sync, and renew
their running leases before the TTL frees the slot."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.credentials.credential import ApiKeyCredential
from server.credentials.scheduler import (
    LEASE_RENEW_AFTER,
    LEASE_TTL,
    CredentialBoard,
    HealthScheduler,
    Lease,
    OutcomeKind,
    RandomScheduler,
)
from server.state.factory import open_store
from server.state.store import StateStore
from tests.server.state.redis_server import redis_available

pytestmark = pytest.mark.skipif(
    not redis_available(), reason="redis-server is not installed (scripts/install.sh installs it)"
)
MODEL = "gemini-2.5-pro"
_runs = iter(range(1_000_000))


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def board_on(store: StateStore, n: int, limit: int, clock: Clock | None = None) -> CredentialBoard:
    credentials = [ApiKeyCredential(f"shared-key-number-{i}") for i in range(n)]
    return CredentialBoard(credentials, store, clock=clock or Clock(), limit=limit, slot_wait=30.0)


@pytest.fixture
async def two_stores(redis_url: str) -> AsyncIterator[tuple[StateStore, StateStore]]:
    prefix = f"leases{next(_runs)}:"
    first = open_store(":memory:", url=redis_url, prefix=prefix)
    second = open_store(":memory:", url=redis_url, prefix=prefix)
    await first.open()
    await second.open()
    yield first, second
    await first.close()
    await second.close()


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    limit=st.integers(min_value=1, max_value=3),
    credentials=st.integers(min_value=1, max_value=3),
    requests=st.integers(min_value=1, max_value=24),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
async def test_two_instances_together_never_exceed_a_credentials_limit(
    redis_url: str, limit: int, credentials: int, requests: int, seed: int
) -> None:
    """Requests arrive on either instance (either arm) in a seeded random order and hold
    their lease a random number of loop turns; the live leases of each credential, counted
    across both instances, never pass the limit, and every request is served."""
    rng = random.Random(seed)
    prefix = f"race{next(_runs)}:"
    stores = [open_store(":memory:", url=redis_url, prefix=prefix) for _ in range(2)]
    for store in stores:
        await store.open()
    try:
        boards = [board_on(store, credentials, limit) for store in stores]
        live: dict[str, int] = {}
        peak: dict[str, int] = {}

        async def one_request(i: int) -> None:
            board = boards[rng.randrange(2)]
            arm = HealthScheduler if rng.random() < 0.5 else RandomScheduler
            scheduler = arm(board, random.Random(seed + i))
            for _ in range(rng.randrange(3)):
                await asyncio.sleep(0)
            lease = await scheduler.acquire(MODEL)
            credential = lease.credential.id
            live[credential] = live.get(credential, 0) + 1
            peak[credential] = max(peak.get(credential, 0), live[credential])
            for _ in range(rng.randrange(6)):
                await asyncio.sleep(0)
            live[credential] -= 1
            await scheduler.release(lease, OutcomeKind.SUCCESS)

        await asyncio.gather(*(one_request(i) for i in range(requests)))
        for board in boards:
            await board.close()
        assert all(count <= limit for count in peak.values()), peak
        assert await stores[0].leases(now=boards[0].clock()) == {}
    finally:
        for store in stores:
            await store.close()


async def test_an_instance_counts_the_other_instances_leases_after_a_sync(
    two_stores: tuple[StateStore, StateStore],
) -> None:
    first, second = (board_on(store, n=2, limit=4) for store in two_stores)
    held = [await RandomScheduler(first, random.Random(i)).acquire(MODEL) for i in range(3)]
    await second.sync()
    assert sum(second.in_flight(c.id) for c in second.credentials) == 3
    assert [lease.holder is not None for lease in held] == [True] * 3
    lease = await HealthScheduler(second, random.Random(0)).acquire(MODEL)
    busiest = max(first.credentials, key=lambda c: first.in_flight(c.id))
    assert lease.credential.id != busiest.id  # the health arm goes where the pool is idle
    for done in held:
        await first.release(done, OutcomeKind.SUCCESS)
    await first.close()
    await second.sync()
    assert second.in_flight(lease.credential.id) == 1
    assert sum(second.in_flight(c.id) for c in second.credentials) == 1


async def test_a_running_lease_is_renewed_before_its_ttl_and_dropped_at_its_end(
    two_stores: tuple[StateStore, StateStore],
) -> None:
    store = two_stores[0]
    clock = Clock()
    board = board_on(store, n=1, limit=1, clock=clock)
    lease: Lease = await RandomScheduler(board).acquire(MODEL)
    taken_at = clock.now
    clock.now += LEASE_RENEW_AFTER + 1
    await board.sync()
    assert await store.leases(now=taken_at + LEASE_TTL + 1) == {lease.credential.id: 1}
    await board.release(lease, OutcomeKind.CANCELLED)
    await board.close()
    assert await store.leases(now=clock.now) == {}


async def test_a_dead_instances_leases_free_their_slots_after_the_ttl(
    two_stores: tuple[StateStore, StateStore],
) -> None:
    clock = Clock()
    dead, alive = (board_on(store, n=1, limit=1, clock=clock) for store in two_stores)
    await RandomScheduler(dead).acquire(MODEL)  # never released, never renewed
    alive.slot_wait = 0.05
    with pytest.raises(Exception, match="concurrency limit"):
        await RandomScheduler(alive).acquire(MODEL)
    clock.now += LEASE_TTL
    lease = await RandomScheduler(alive).acquire(MODEL)
    assert alive.in_flight(lease.credential.id) == 1


async def test_an_ended_lease_is_kept_as_a_spare_and_reused_without_a_round_trip(
    two_stores: tuple[StateStore, StateStore],
) -> None:
    store = two_stores[0]
    board = board_on(store, n=1, limit=4)
    scheduler = RandomScheduler(board)
    first = await scheduler.acquire(MODEL)
    await scheduler.release(first, OutcomeKind.SUCCESS)
    assert await store.leases(now=board.clock()) == {first.credential.id: 1}  # the spare
    again = await scheduler.acquire(MODEL)
    assert again.holder == first.holder and board.in_flight(again.credential.id) == 1
    await scheduler.release(again, OutcomeKind.SUCCESS)
    await board.close()  # spares are given back
    assert await store.leases(now=board.clock()) == {}


async def test_no_spare_is_kept_that_would_take_the_pools_last_free_slot(
    two_stores: tuple[StateStore, StateStore],
) -> None:
    store = two_stores[0]
    board = board_on(store, n=1, limit=2)
    held = await RandomScheduler(board).acquire(MODEL)
    other = await RandomScheduler(board).acquire(MODEL)
    await board.release(held, OutcomeKind.SUCCESS)  # dropped: with `other`, the pool is full
    await board.release(other, OutcomeKind.SUCCESS)  # kept: one slot of two stays free
    await board.flush()
    assert await store.leases(now=board.clock()) == {held.credential.id: 1}


async def test_an_instance_gives_its_spares_back_when_another_waits_for_a_slot(
    two_stores: tuple[StateStore, StateStore],
) -> None:
    first, second = (board_on(store, n=1, limit=2) for store in two_stores)
    lease = await RandomScheduler(first).acquire(MODEL)
    await first.release(lease, OutcomeKind.SUCCESS)  # first keeps it as a spare
    await RandomScheduler(second).acquire(MODEL)
    waiting = asyncio.ensure_future(RandomScheduler(second).acquire(MODEL))
    await asyncio.sleep(0.1)
    assert not waiting.done()  # the pool is full: second's lease and first's spare
    await first.sync()  # sees the pool full: gives the spare back
    await first.flush()
    taken = await asyncio.wait_for(waiting, timeout=30)
    assert taken.credential.id == lease.credential.id

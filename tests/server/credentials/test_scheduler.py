"""Credential schedulers: usable credentials only, cooldown waits, health scores, persistence."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from server.credentials.credential import ApiKeyCredential
from server.credentials.scheduler import (
    CredentialBoard,
    HealthScheduler,
    NoCredentialAvailable,
    OutcomeKind,
    RandomScheduler,
    Schedulers,
)
from server.flags import Flags
from server.state.factory import open_store
from server.state.store import StateStore

MODEL = "gemini-2.5-pro"


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def store() -> AsyncIterator[StateStore]:
    s = open_store(":memory:")
    await s.open()
    yield s
    await s.close()


def make_board(store: StateStore, n: int = 3, clock: FakeClock | None = None) -> CredentialBoard:
    credentials = [ApiKeyCredential(f"secret-key-number-{i}") for i in range(n)]
    return CredentialBoard(credentials, store, clock=clock or FakeClock())


def ids(board: CredentialBoard) -> list[str]:
    return [c.id for c in board.credentials]


async def test_random_scheduler_spreads_over_all_usable_credentials(store: StateStore) -> None:
    board = make_board(store)
    scheduler = RandomScheduler(board, random.Random(1))
    seen = set()
    for _ in range(60):
        lease = await scheduler.acquire(MODEL)
        seen.add(lease.credential.id)
        await scheduler.release(lease, OutcomeKind.SUCCESS)
    assert seen == set(ids(board))


async def test_a_disabled_credential_is_never_picked(store: StateStore) -> None:
    board = make_board(store)
    await board.disable(ids(board)[0], "revoked")
    scheduler = RandomScheduler(board, random.Random(2))
    for _ in range(30):
        lease = await scheduler.acquire(MODEL)
        assert lease.credential.id != ids(board)[0]
        await scheduler.release(lease, OutcomeKind.SUCCESS)


async def test_a_cooldown_applies_to_its_model_only(store: StateStore) -> None:
    board = make_board(store, n=1)
    await board.set_cooldown(ids(board)[0], MODEL, 10.0)
    scheduler = RandomScheduler(board)
    lease = await scheduler.acquire("gemini-2.5-flash")
    assert lease.wait == 0.0
    with pytest.raises(NoCredentialAvailable):
        await scheduler.acquire(MODEL)


async def test_a_cooldown_ends_when_its_time_has_passed(store: StateStore) -> None:
    clock = FakeClock()
    board = make_board(store, n=1, clock=clock)
    await board.set_cooldown(ids(board)[0], MODEL, 10.0)
    clock.now += 10.0
    assert (await RandomScheduler(board).acquire(MODEL)).wait == 0.0


async def test_when_all_are_cooling_the_soonest_free_is_leased_with_its_wait(
    store: StateStore,
) -> None:
    board = make_board(store)
    for seconds, credential in zip((30.0, 5.0, 20.0), ids(board), strict=True):
        await board.set_cooldown(credential, MODEL, seconds)
    lease = await RandomScheduler(board).acquire(MODEL, max_wait=10.0)
    assert lease.credential.id == ids(board)[1] and lease.wait == pytest.approx(5.0)


async def test_when_all_are_cooling_longer_than_max_wait_the_error_says_how_long(
    store: StateStore,
) -> None:
    board = make_board(store, n=2)
    await board.set_cooldown(ids(board)[0], MODEL, 30.0)
    await board.set_cooldown(ids(board)[1], MODEL, 7.0)
    with pytest.raises(NoCredentialAvailable) as caught:
        await RandomScheduler(board).acquire(MODEL, max_wait=1.0)
    assert caught.value.retry_after == pytest.approx(7.0)


async def test_when_all_are_disabled_there_is_no_retry_after(store: StateStore) -> None:
    board = make_board(store, n=2)
    for credential in ids(board):
        await board.disable(credential, "revoked")
    with pytest.raises(NoCredentialAvailable) as caught:
        await HealthScheduler(board).acquire(MODEL)
    assert caught.value.retry_after is None


async def test_exclude_is_avoided_while_another_credential_is_usable(store: StateStore) -> None:
    board = make_board(store)
    scheduler = RandomScheduler(board, random.Random(3))
    for _ in range(20):
        lease = await scheduler.acquire(MODEL, exclude=ids(board)[:2])
        assert lease.credential.id == ids(board)[2]
        await scheduler.release(lease, OutcomeKind.SUCCESS)


async def test_exclude_falls_back_to_a_tried_credential_rather_than_failing(
    store: StateStore,
) -> None:
    board = make_board(store, n=1)
    lease = await RandomScheduler(board).acquire(MODEL, exclude=ids(board))
    assert lease.credential.id == ids(board)[0]


async def test_release_with_a_cooldown_cools_that_credential_for_that_model(
    store: StateStore,
) -> None:
    board = make_board(store, n=2)
    scheduler = RandomScheduler(board)
    lease = await scheduler.acquire(MODEL)
    await scheduler.release(lease, OutcomeKind.CAPACITY, cooldown=30.0)
    assert board.cooldown_remaining(lease.credential.id, MODEL) == pytest.approx(30.0)
    for _ in range(10):
        assert (await scheduler.acquire(MODEL)).credential.id != lease.credential.id


@pytest.mark.parametrize("kind", [OutcomeKind.RATE_LIMITED, OutcomeKind.CAPACITY])
async def test_a_release_without_a_cooldown_only_counts_the_outcome(
    store: StateStore, kind: OutcomeKind
) -> None:
    board = make_board(store, n=1)
    scheduler = RandomScheduler(board)
    await scheduler.release(await scheduler.acquire(MODEL), kind)
    assert board.cooldown_remaining(ids(board)[0], MODEL) == 0.0
    assert board.error_rate(ids(board)[0]) == 1.0


async def test_a_cancelled_lease_frees_its_slot_and_counts_as_nothing(
    store: StateStore,
) -> None:
    """A client that hangs up says nothing about the credential: the one error stays the
    whole record (counted as a success, the error rate would halve)."""
    board = make_board(store, n=1)
    scheduler = RandomScheduler(board)
    await scheduler.release(await scheduler.acquire(MODEL), OutcomeKind.ERROR)
    cancelled = await scheduler.acquire(MODEL)
    await scheduler.release(cancelled, OutcomeKind.CANCELLED)
    assert board.in_flight(ids(board)[0]) == 0
    assert board.error_rate(ids(board)[0]) == 1.0


async def test_release_with_disable_takes_the_credential_out(store: StateStore) -> None:
    board = make_board(store, n=2)
    scheduler = RandomScheduler(board)
    lease = await scheduler.acquire(MODEL)
    await scheduler.release(lease, OutcomeKind.AUTH_ERROR, disable="401: key revoked")
    assert board.is_disabled(lease.credential.id)
    assert dict(board.states())[lease.credential.id] == "disabled"


async def test_in_flight_counts_leases_and_a_double_release_counts_once(
    store: StateStore,
) -> None:
    board = make_board(store, n=1)
    scheduler = RandomScheduler(board)
    first, second = await scheduler.acquire(MODEL), await scheduler.acquire(MODEL)
    assert board.in_flight(ids(board)[0]) == 2
    await scheduler.release(first, OutcomeKind.SUCCESS)
    await scheduler.release(first, OutcomeKind.SUCCESS)
    assert board.in_flight(ids(board)[0]) == 1
    await scheduler.release(second, OutcomeKind.SUCCESS)
    assert board.in_flight(ids(board)[0]) == 0


async def test_leases_from_both_arms_share_one_in_flight_count(store: StateStore) -> None:
    schedulers = Schedulers(make_board(store, n=1))
    lease = await schedulers.random.acquire(MODEL)
    assert schedulers.board.in_flight(lease.credential.id) == 1
    await schedulers.health.release(lease, OutcomeKind.SUCCESS)
    assert schedulers.board.in_flight(lease.credential.id) == 0


async def test_health_scheduler_prefers_the_least_loaded_credential(store: StateStore) -> None:
    board = make_board(store)
    scheduler = HealthScheduler(board, random.Random(4))
    held = [await scheduler.acquire(MODEL) for _ in range(3)]
    assert sorted(lease.credential.id for lease in held) == sorted(ids(board))
    await scheduler.release(held[1], OutcomeKind.SUCCESS)
    assert (await scheduler.acquire(MODEL)).credential.id == held[1].credential.id


async def test_health_scheduler_avoids_a_credential_with_recent_errors(store: StateStore) -> None:
    board = make_board(store, n=2)
    scheduler = HealthScheduler(board, random.Random(5))
    bad = ids(board)[0]
    for _ in range(3):
        await board.release(board.open_lease(board.credentials[0], MODEL), OutcomeKind.ERROR)
    assert board.error_rate(bad) == pytest.approx(1.0)
    for _ in range(10):
        lease = await scheduler.acquire(MODEL)
        assert lease.credential.id != bad
        await scheduler.release(lease, OutcomeKind.SUCCESS)


async def test_recent_errors_fade_with_time(store: StateStore) -> None:
    clock = FakeClock()
    board = make_board(store, n=1, clock=clock)
    await board.release(board.open_lease(board.credentials[0], MODEL), OutcomeKind.ERROR)
    await board.release(board.open_lease(board.credentials[0], MODEL), OutcomeKind.SUCCESS)
    assert board.error_rate(ids(board)[0]) == pytest.approx(0.5)
    clock.now += 600.0
    await board.release(board.open_lease(board.credentials[0], MODEL), OutcomeKind.SUCCESS)
    assert board.error_rate(ids(board)[0]) < 0.01


async def test_the_health_arm_serves_scarce_models_only_when_its_flag_is_on(
    store: StateStore,
) -> None:
    schedulers = Schedulers(make_board(store))
    on = Flags(ff_preview_credential_scheduler_v2=True)
    assert schedulers.for_request(on, scarce=True) is schedulers.health
    assert schedulers.for_request(on, scarce=False) is schedulers.random
    assert schedulers.for_request(Flags(), scarce=True) is schedulers.random


async def test_outcomes_reach_the_store(store: StateStore) -> None:
    board = make_board(store, n=1)
    scheduler = RandomScheduler(board)
    await scheduler.release(
        await scheduler.acquire(MODEL), OutcomeKind.SUCCESS, input_tokens=7, output_tokens=3
    )
    await scheduler.release(await scheduler.acquire(MODEL), OutcomeKind.ERROR, error="500 INTERNAL")
    await board.flush()
    health = (await store.health())[ids(board)[0]]
    assert (health.successes, health.errors, health.last_error) == (1, 1, "500 INTERNAL")
    [usage] = await store.usage()
    assert (usage.requests, usage.input_tokens, usage.output_tokens) == (2, 7, 3)


async def test_cooldowns_and_disabled_credentials_survive_a_restart(tmp_path) -> None:
    path = str(tmp_path / "state.sqlite3")
    clock = FakeClock()
    first_store = open_store(path)
    await first_store.open()
    board = make_board(first_store, clock=clock)
    await board.set_cooldown(ids(board)[0], MODEL, 60.0, "capacity")
    await board.disable(ids(board)[1], "revoked")
    await board.flush()
    await first_store.close()

    second_store = open_store(path)
    await second_store.open()
    clock.now += 10.0
    reborn = make_board(second_store, clock=clock)
    await reborn.load()
    assert reborn.cooldown_remaining(ids(board)[0], MODEL) == pytest.approx(50.0)
    assert reborn.is_disabled(ids(board)[1])
    assert dict(reborn.states()) == {
        ids(board)[0]: "cooling_down",
        ids(board)[1]: "disabled",
        ids(board)[2]: "ready",
    }
    await second_store.close()


async def test_snapshot_reports_live_numbers_without_secrets(store: StateStore) -> None:
    board = make_board(store, n=1)
    await board.set_cooldown(ids(board)[0], MODEL, 5.0)
    [status] = board.snapshot()
    assert status.cooldowns == {MODEL: pytest.approx(5.0)} and status.state == "cooling_down"
    assert "secret" not in repr(status)


# --- properties ------------------------------------------------------------------------------

credential_states = st.lists(
    st.tuples(
        st.sampled_from(["ready", "disabled", "cooling"]),
        st.integers(0, 5),  # leases in flight
        st.floats(1.0, 100.0),  # cooldown seconds if cooling
    ),
    min_size=1,
    max_size=6,
)


async def _board_in(states, store: StateStore) -> CredentialBoard:
    board = make_board(store, n=len(states))
    for credential, (state, in_flight, cooldown) in zip(board.credentials, states, strict=True):
        for _ in range(in_flight):
            board.open_lease(credential, MODEL)
        if state == "disabled":
            await board.disable(credential.id, "test")
        elif state == "cooling":
            await board.set_cooldown(credential.id, MODEL, cooldown)
    return board


class _NullStore(StateStore):
    """Discards writes; keeps the properties free of I/O."""

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def record_outcome(self, *args: object, **kwargs: object) -> None: ...
    def record_outcome_later(self, *args: object, **kwargs: object) -> None: ...
    async def flush(self) -> None: ...
    async def health(self):  # type: ignore[override]
        return {}

    async def usage(self):  # type: ignore[override]
        return []

    async def set_cooldown(self, *args: object) -> None: ...
    async def clear_cooldown(self, *args: object) -> None: ...
    async def cooldowns(self, now: float):  # type: ignore[override]
        return []

    async def disable(self, *args: object) -> None: ...
    async def enable(self, *args: object) -> None: ...
    async def disabled(self) -> dict[str, str]:
        return {}

    async def get_flags(self) -> dict[str, bool]:
        return {}

    async def set_flag(self, *args: object) -> None: ...
    async def delete_flag(self, *args: object) -> None: ...
    async def take_lease(self, candidates, holder, **kwargs):  # type: ignore[no-untyped-def,override]
        return candidates[0] if candidates else None

    async def drop_lease(self, *args: object) -> None: ...
    async def leases(self, now: float) -> dict[str, int]:
        return {}

    async def add_audit(self, *args: object) -> None: ...
    async def audit(self, limit: int = 50):  # type: ignore[override]
        return []

    async def revoke_session(self, *args: object) -> None: ...
    async def session_revoked(self, *args: object) -> bool:
        return False


@given(credential_states, st.booleans(), st.integers(0, 2**32))
def test_never_picks_a_disabled_or_cooling_credential_while_a_usable_one_exists(
    states, health_arm: bool, seed: int
) -> None:
    async def scenario() -> None:
        board = await _board_in(states, _NullStore())
        scheduler_type = HealthScheduler if health_arm else RandomScheduler
        scheduler = scheduler_type(board, random.Random(seed))
        usable = {c.id for c, s in zip(board.credentials, states, strict=True) if s[0] == "ready"}
        try:
            lease = await scheduler.acquire(MODEL, max_wait=1000.0)
        except NoCredentialAvailable as exc:
            assert not usable
            cooling = [s for s in states if s[0] == "cooling"]
            assert (exc.retry_after is None) == (not cooling)
            return
        if usable:
            assert lease.credential.id in usable and lease.wait == 0.0
        else:
            soonest = min(s[2] for s in states if s[0] == "cooling")
            assert lease.wait == pytest.approx(soonest)

    asyncio.run(scenario())


@settings(max_examples=100)
@given(credential_states, st.integers(0, 2**32))
def test_health_scheduler_picks_a_least_loaded_usable_credential(states, seed: int) -> None:
    async def scenario() -> None:
        board = await _board_in(states, _NullStore())
        usable = [c for c, s in zip(board.credentials, states, strict=True) if s[0] == "ready"]
        if not usable:
            return
        least = min(board.in_flight(c.id) for c in usable)
        lease = await HealthScheduler(board, random.Random(seed)).acquire(MODEL)
        assert board.in_flight(lease.credential.id) - 1 == least

    asyncio.run(scenario())


class LeaseMachine(RuleBasedStateMachine):
    """Any interleaving of acquires, releases, cooldowns, disables and time passing."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.loop = asyncio.new_event_loop()
        self.board = make_board(_NullStore(), n=3, clock=self.clock)
        self.schedulers = Schedulers(self.board, random.Random(0))
        self.open: list = []

    def teardown(self) -> None:
        self.run(self.board.flush())
        self.loop.close()

    def run(self, coroutine):  # type: ignore[no-untyped-def]
        return self.loop.run_until_complete(coroutine)

    @rule(health=st.booleans(), model=st.sampled_from(["m1", "m2"]), exclude=st.integers(0, 3))
    def acquire(self, health: bool, model: str, exclude: int) -> None:
        scheduler = self.schedulers.health if health else self.schedulers.random
        excluded = [c.id for c in self.board.credentials[:exclude]]
        try:
            lease = self.run(scheduler.acquire(model, exclude=excluded, max_wait=5.0))
        except NoCredentialAvailable:
            return
        assert not self.board.is_disabled(lease.credential.id)
        assert lease.wait == pytest.approx(
            self.board.cooldown_remaining(lease.credential.id, model)
        )
        self.open.append(lease)

    @rule(
        index=st.integers(0, 20),
        kind=st.sampled_from(list(OutcomeKind)),
        cooldown=st.one_of(st.none(), st.floats(0.1, 20.0)),
        twice=st.booleans(),
    )
    def release(self, index: int, kind: OutcomeKind, cooldown: float | None, twice: bool) -> None:
        if not self.open:
            return
        lease = self.open.pop(index % len(self.open))
        self.run(self.schedulers.random.release(lease, kind, cooldown=cooldown))
        if twice:
            self.run(self.schedulers.health.release(lease, kind))

    @rule(index=st.integers(0, 2), on=st.booleans())
    def toggle(self, index: int, on: bool) -> None:
        credential = self.board.credentials[index].id
        self.run(self.board.enable(credential) if on else self.board.disable(credential, "x"))

    @rule(seconds=st.floats(0.0, 30.0))
    def wait(self, seconds: float) -> None:
        self.clock.now += seconds

    @invariant()
    def in_flight_counts_the_open_leases(self) -> None:
        for credential in self.board.credentials:
            held = sum(1 for lease in self.open if lease.credential.id == credential.id)
            assert self.board.in_flight(credential.id) == held

    @invariant()
    def error_rates_stay_between_zero_and_one(self) -> None:
        for credential in self.board.credentials:
            assert 0.0 <= self.board.error_rate(credential.id) <= 1.0


LeaseMachine.TestCase.settings = settings(max_examples=50, stateful_step_count=30)
test_lease_accounting_under_any_interleaving = LeaseMachine.TestCase


# --- the concurrency limit (upstream.max_in_flight), local store ------------------------------


def limited_board(store: StateStore, n: int, limit: int, slot_wait: float = 5.0) -> CredentialBoard:
    credentials = [ApiKeyCredential(f"secret-key-number-{i}") for i in range(n)]
    return CredentialBoard(credentials, store, clock=FakeClock(), limit=limit, slot_wait=slot_wait)


async def test_under_a_limit_each_credential_holds_at_most_limit_leases(store: StateStore) -> None:
    board = limited_board(store, n=2, limit=2)
    scheduler = RandomScheduler(board, random.Random(3))
    leases = [await scheduler.acquire(MODEL) for _ in range(4)]
    assert sorted(board.in_flight(i) for i in ids(board)) == [2, 2]
    assert all(lease.holder is None for lease in leases)  # a local store: counted here only


async def test_a_full_pool_waits_for_a_released_slot(store: StateStore) -> None:
    board = limited_board(store, n=1, limit=1)
    scheduler = HealthScheduler(board, random.Random(4))
    first = await scheduler.acquire(MODEL)
    waiting = asyncio.ensure_future(scheduler.acquire(MODEL))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    await scheduler.release(first, OutcomeKind.SUCCESS)
    second = await waiting
    assert second.credential == first.credential and board.in_flight(ids(board)[0]) == 1


async def test_a_pool_full_for_the_whole_slot_wait_is_busy(store: StateStore) -> None:
    board = limited_board(store, n=1, limit=1, slot_wait=0.05)
    scheduler = RandomScheduler(board)
    await scheduler.acquire(MODEL)
    with pytest.raises(NoCredentialAvailable, match="concurrency limit") as refused:
        await scheduler.acquire(MODEL)
    assert refused.value.busy and refused.value.retry_after is not None


async def test_a_retry_on_the_same_credential_counts_against_its_limit(store: StateStore) -> None:
    board = limited_board(store, n=1, limit=1, slot_wait=0.05)
    lease = await RandomScheduler(board).acquire(MODEL)
    with pytest.raises(NoCredentialAvailable):
        await board.lease_again(lease.credential, MODEL)
    await board.release(lease, OutcomeKind.ERROR)
    again = await board.lease_again(lease.credential, MODEL)
    assert board.in_flight(again.credential.id) == 1


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        limited_board(_NullStore(), n=1, limit=0)

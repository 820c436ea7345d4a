"""The contract every state store keeps, run against SQLite and against a real Redis.

A second store opened on the same state (`make_store()`: the same SQLite file, or the same
Redis URL and prefix) plays a second proxy instance.
"""

from __future__ import annotations

import asyncio
import itertools
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.state.errors import StoreError
from server.state.store import AUDIT_KEPT, AuditLine, Cooldown, StateStore
from tests.server.state.conftest import StoreFactory


async def test_outcomes_count_health_per_credential(store: StateStore) -> None:
    await store.record_outcome("a", "m1", ok=True, at=10.0)
    await store.record_outcome("a", "m2", ok=False, error="429 RESOURCE_EXHAUSTED", at=11.0)
    await store.record_outcome("a", "m1", ok=False, error="500 INTERNAL", at=12.25)
    health = (await store.health())["a"]
    assert (health.successes, health.errors) == (1, 2)
    assert (health.last_error, health.last_error_at, health.last_success_at) == (
        "500 INTERNAL",
        12.25,
        10.0,
    )


async def test_a_credential_that_only_succeeded_has_no_last_error(store: StateStore) -> None:
    await store.record_outcome("a", "m", ok=True, at=1733412345.123456)
    health = (await store.health())["a"]
    assert (health.errors, health.last_error, health.last_error_at) == (0, None, None)
    assert health.last_success_at == 1733412345.123456  # epoch times come back exactly


async def test_outcomes_count_usage_per_credential_and_model(store: StateStore) -> None:
    await store.record_outcome("b", "m", ok=True, input_tokens=10, output_tokens=5, at=1.0)
    await store.record_outcome("a", "m", ok=True, input_tokens=1, output_tokens=2, at=1.0)
    await store.record_outcome("a", "m", ok=False, error="x", at=2.0)
    usage = await store.usage()
    assert [
        (u.credential, u.model, u.requests, u.input_tokens, u.output_tokens) for u in usage
    ] == [
        ("a", "m", 2, 1, 2),
        ("b", "m", 1, 10, 5),
    ]


async def test_cooldowns_are_kept_per_credential_and_model_until_they_expire(
    store: StateStore,
) -> None:
    await store.set_cooldown("a", "m1", 100.0, "capacity")
    await store.set_cooldown("a", "m2", 50.0)
    assert await store.cooldowns(now=60.0) == [Cooldown("a", "m1", 100.0, "capacity")]
    assert await store.cooldowns(now=40.0) == [Cooldown("a", "m1", 100.0, "capacity")]  # m2 dropped


async def test_a_new_cooldown_replaces_the_old_one_and_clear_ends_it(store: StateStore) -> None:
    await store.set_cooldown("a", "m", 100.0)
    await store.set_cooldown("a", "m", 200.0, "quota")
    assert await store.cooldowns(now=0.0) == [Cooldown("a", "m", 200.0, "quota")]
    await store.clear_cooldown("a", "m")
    assert await store.cooldowns(now=0.0) == []


async def test_disabled_credentials_keep_their_reason_until_enabled(store: StateStore) -> None:
    await store.disable("a", "401 revoked")
    await store.disable("b", "403")
    await store.enable("b")
    assert await store.disabled() == {"a": "401 revoked"}


async def test_flags_are_stored_set_and_deleted(store: StateStore) -> None:
    await store.set_flag("ff_retry_policy_v2", True)
    await store.set_flag("ff_http2_pool_tuning", False)
    await store.set_flag("ff_retry_policy_v2", False)
    await store.delete_flag("ff_http2_pool_tuning")
    assert await store.get_flags() == {"ff_retry_policy_v2": False}


async def test_a_second_instance_sees_every_write_of_the_first(
    store: StateStore, make_store: StoreFactory
) -> None:
    await store.record_outcome("a", "m", ok=False, error="boom", input_tokens=3, at=5.0)
    await store.set_cooldown("a", "m", 1e12, "capacity")
    await store.disable("b", "revoked")
    await store.set_flag("ff_converter_fast_path", True)
    await store.take_lease(["a"], "first:1", now=0.0, ttl=1e12)
    await store.close()

    second = make_store()
    await second.open()
    assert (await second.health())["a"].last_error == "boom"
    assert (await second.usage())[0].input_tokens == 3
    assert await second.cooldowns(now=0.0) == [Cooldown("a", "m", 1e12, "capacity")]
    assert await second.disabled() == {"b": "revoked"}
    assert await second.get_flags() == {"ff_converter_fast_path": True}
    assert await second.leases(now=1.0) == {"a": 1}
    await second.close()


async def test_audit_lines_come_back_newest_first_up_to_the_limit(store: StateStore) -> None:
    for n in range(3):
        await store.add_audit(AuditLine(at=100.0 + n, who="panel session abc", what=f"change {n}"))
    await store.add_audit(AuditLine(at=50.5, who="admin API", what="ff_x: off → on"))
    assert await store.audit(limit=3) == [
        AuditLine(50.5, "admin API", "ff_x: off → on"),  # the order added, not by time
        AuditLine(102.0, "panel session abc", "change 2"),
        AuditLine(101.0, "panel session abc", "change 1"),
    ]
    assert len(await store.audit()) == 4
    assert await store.audit(limit=0) == []


async def test_only_the_newest_audit_lines_are_kept(store: StateStore) -> None:
    for n in range(AUDIT_KEPT + 3):
        await store.add_audit(AuditLine(at=float(n), who="w", what=str(n)))
    kept = await store.audit(limit=AUDIT_KEPT + 10)
    assert len(kept) == AUDIT_KEPT
    assert (kept[0].what, kept[-1].what) == (str(AUDIT_KEPT + 2), "3")


async def test_a_revoked_session_is_refused_until_it_would_have_expired(
    store: StateStore,
) -> None:
    await store.revoke_session("s1", until=100.0)
    assert await store.session_revoked("s1", now=99.0)
    assert not await store.session_revoked("s2", now=99.0)
    assert not await store.session_revoked("s1", now=100.0)  # expired anyway: forgotten
    assert not await store.session_revoked("s1", now=50.0)


async def test_a_second_instance_sees_the_audit_and_the_revoked_sessions(
    store: StateStore, make_store: StoreFactory
) -> None:
    await store.add_audit(AuditLine(at=1733412345.25, who="panel session abc", what="x: off → on"))
    await store.revoke_session("s1", until=1e12)
    await store.close()

    second = make_store()
    await second.open()
    assert await second.audit() == [AuditLine(1733412345.25, "panel session abc", "x: off → on")]
    assert await second.session_revoked("s1", now=1.0)
    await second.close()


async def test_a_lease_goes_to_the_least_leased_candidate_first_of_equals(
    store: StateStore,
) -> None:
    taken = [await store.take_lease(["a", "b", "c"], f"h{i}", now=0.0, ttl=60.0) for i in range(4)]
    assert taken == ["a", "b", "c", "a"]
    assert await store.leases(now=1.0) == {"a": 2, "b": 1, "c": 1}


async def test_no_lease_past_the_limit_and_a_dropped_lease_frees_its_slot(
    store: StateStore,
) -> None:
    assert await store.take_lease(["a"], "h1", now=0.0, ttl=60.0, limit=1) == "a"
    assert await store.take_lease(["a"], "h2", now=0.0, ttl=60.0, limit=1) is None
    await store.drop_lease("a", "h1")
    await store.drop_lease("a", "h1")  # twice is no error
    assert await store.take_lease(["a"], "h2", now=0.0, ttl=60.0, limit=1) == "a"


async def test_leases_expire_after_their_ttl(store: StateStore) -> None:
    """An instance that died without dropping its leases holds no slot past their TTL."""
    await store.take_lease(["a"], "dead:1", now=100.0, ttl=30.0, limit=1)
    assert await store.leases(now=129.0) == {"a": 1}
    assert await store.take_lease(["a"], "alive:1", now=129.0, ttl=30.0, limit=1) is None
    assert await store.take_lease(["a"], "alive:1", now=130.0, ttl=30.0, limit=1) == "a"
    assert await store.leases(now=131.0) == {"a": 1}
    assert await store.leases(now=500.0) == {}


async def test_no_candidates_no_lease(store: StateStore) -> None:
    assert await store.take_lease([], "h", now=0.0, ttl=1.0) is None


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    limit=st.integers(min_value=1, max_value=4),
    credentials=st.integers(min_value=1, max_value=3),
    takers=st.integers(min_value=1, max_value=30),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
async def test_racing_instances_never_exceed_a_credentials_limit(
    make_store: StoreFactory, limit: int, credentials: int, takers: int, seed: int
) -> None:
    """Two instances take and drop leases concurrently in a seeded random order; at no
    point does any credential hold more than `limit` live leases, and every slot is used."""
    names = [f"c{i}" for i in range(credentials)]
    rng = random.Random(seed)
    first, second = make_store(), make_store()
    await first.open()
    await second.open()
    try:
        run = f"run{seed}-{limit}-{credentials}-{takers}:"
        candidates = [rng.sample(names, len(names)) for _ in range(takers)]
        taken = await asyncio.gather(
            *(
                (first if i % 2 else second).take_lease(
                    candidates[i], f"{run}{i}", now=0.0, ttl=60.0, limit=limit
                )
                for i in range(takers)
            )
        )
        live = await first.leases(now=1.0)
        assert all(count <= limit for count in live.values())
        assert sum(t is not None for t in taken) == min(takers, limit * credentials)
        assert live == {n: taken.count(n) for n in names if taken.count(n)}
        for i, name in enumerate(taken):
            if name is not None:
                await (second if i % 2 else first).drop_lease(name, f"{run}{i}")
        assert await second.leases(now=1.0) == {}
    finally:
        await first.close()
        await second.close()


async def test_using_a_closed_store_is_a_clear_error(make_store: StoreFactory) -> None:
    store = make_store()
    with pytest.raises(StoreError, match="not open"):
        await store.get_flags()


async def test_open_and_close_are_idempotent(make_store: StoreFactory) -> None:
    store = make_store()
    await store.open()
    await store.open()
    await store.close()
    await store.close()


async def test_concurrent_writes_are_all_counted(store: StateStore) -> None:
    await asyncio.gather(
        *(store.record_outcome("a", "m", ok=True, at=float(i)) for i in range(200))
    )
    assert (await store.health())["a"].successes == 200


outcomes = st.lists(
    st.tuples(
        st.sampled_from(["a", "b"]),
        st.sampled_from(["m1", "m2"]),
        st.booleans(),
        st.integers(min_value=0, max_value=1000),
    ),
    min_size=1,
    max_size=40,
)
_runs = itertools.count()


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(calls=outcomes)
async def test_outcomes_written_behind_count_as_the_same_outcomes_recorded_one_by_one(
    store: StateStore, calls: list[tuple[str, str, bool, int]]
) -> None:
    """Written behind, then flushed (one batch: counts summed, the last error and success
    kept), the calls leave the health and usage that recording them one by one leaves."""
    run = next(_runs)
    for i, (credential, model, ok, tokens) in enumerate(calls):
        error, at = (None if ok else f"error {i}"), float(i)
        store.record_outcome_later(
            f"behind{run}-{credential}", model, ok=ok, error=error, at=at,
            input_tokens=tokens, output_tokens=i,
        )  # fmt: skip
        await store.record_outcome(
            f"single{run}-{credential}", model, ok=ok, error=error, at=at,
            input_tokens=tokens, output_tokens=i,
        )  # fmt: skip
    await store.flush()
    health, usage = await store.health(), await store.usage()

    def of(way: str) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
        mine = f"{way}{run}-"
        return (
            sorted((c.removeprefix(mine), h.successes, h.errors, h.last_error, h.last_error_at,
                    h.last_success_at) for c, h in health.items() if c.startswith(mine)),
            [(u.credential.removeprefix(mine), u.model, u.requests, u.input_tokens,
              u.output_tokens) for u in usage if u.credential.startswith(mine)],
        )  # fmt: skip

    assert of("behind") == of("single")


async def test_outcomes_written_behind_are_written_by_close(make_store: StoreFactory) -> None:
    store = make_store()
    await store.open()
    store.record_outcome_later("a", "m", ok=True, input_tokens=3, at=1.0)
    await store.close()
    reopened = make_store()
    await reopened.open()
    try:
        assert (await reopened.health())["a"].successes == 1
        assert [u.input_tokens for u in await reopened.usage()] == [3]
    finally:
        await reopened.close()

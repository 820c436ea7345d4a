"""The SQLite state store: every operation, durability across restarts, off-loop execution."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import pytest

from server.state.errors import StoreError
from server.state.factory import open_store
from server.state.sqlite import SQLiteStore
from server.state.store import Cooldown, StateStore


@pytest.fixture
async def store() -> AsyncIterator[StateStore]:
    s = open_store(":memory:")
    await s.open()
    yield s
    await s.close()


async def test_outcomes_count_health_per_credential(store: StateStore) -> None:
    await store.record_outcome("a", "m1", ok=True, at=10.0)
    await store.record_outcome("a", "m2", ok=False, error="429 RESOURCE_EXHAUSTED", at=11.0)
    await store.record_outcome("a", "m1", ok=False, error="500 INTERNAL", at=12.0)
    health = (await store.health())["a"]
    assert (health.successes, health.errors) == (1, 2)
    assert (health.last_error, health.last_error_at, health.last_success_at) == (
        "500 INTERNAL",
        12.0,
        10.0,
    )


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


async def test_everything_survives_a_restart_with_a_file_database(tmp_path) -> None:
    path = str(tmp_path / "state.sqlite3")
    first = open_store(path)
    await first.open()
    await first.record_outcome("a", "m", ok=False, error="boom", input_tokens=3, at=5.0)
    await first.set_cooldown("a", "m", 1e12, "capacity")
    await first.disable("b", "revoked")
    await first.set_flag("ff_converter_fast_path", True)
    await first.close()

    second = open_store(path)
    await second.open()
    assert (await second.health())["a"].last_error == "boom"
    assert (await second.usage())[0].input_tokens == 3
    assert await second.cooldowns(now=0.0) == [Cooldown("a", "m", 1e12, "capacity")]
    assert await second.disabled() == {"b": "revoked"}
    assert await second.get_flags() == {"ff_converter_fast_path": True}
    await second.close()


async def test_operations_run_on_the_stores_own_thread_not_the_event_loop() -> None:
    store = SQLiteStore(":memory:")
    await store.open()
    threads: list[str] = []
    await store._run(lambda db: threads.append(threading.current_thread().name))
    assert threads[0].startswith("compatkit-store")
    assert threads[0] != threading.current_thread().name
    await store.close()


async def test_concurrent_writes_are_all_counted() -> None:
    store = open_store(":memory:")
    await store.open()
    await asyncio.gather(
        *(store.record_outcome("a", "m", ok=True, at=float(i)) for i in range(200))
    )
    assert (await store.health())["a"].successes == 200
    await store.close()


async def test_outcomes_recorded_together_are_written_in_one_batch() -> None:
    store = SQLiteStore(":memory:")
    await store.open()
    hops = 0
    run = store._run

    async def counting_run(operation):  # type: ignore[no-untyped-def]
        nonlocal hops
        hops += 1
        return await run(operation)

    store._run = counting_run  # type: ignore[method-assign]
    await asyncio.gather(*(store.record_outcome("a", "m", ok=True, at=0.0) for _ in range(50)))
    assert hops == 1
    store._run = run  # type: ignore[method-assign]
    assert (await store.health())["a"].successes == 50
    await store.close()


async def test_close_finishes_a_pending_batch(tmp_path) -> None:
    path = str(tmp_path / "state.sqlite3")
    store = open_store(path)
    await store.open()
    pending = asyncio.ensure_future(store.record_outcome("a", "m", ok=True, at=0.0))
    await asyncio.sleep(0)
    await store.close()
    await pending
    reopened = open_store(path)
    await reopened.open()
    assert (await reopened.health())["a"].successes == 1
    await reopened.close()


async def test_using_a_closed_store_is_a_clear_error() -> None:
    store = open_store(":memory:")
    with pytest.raises(StoreError, match="not open"):
        await store.get_flags()


async def test_open_and_close_are_idempotent() -> None:
    store = open_store(":memory:")
    await store.open()
    await store.open()
    await store.close()
    await store.close()

"""The SQLite store beyond the contract (test_store_contract.py): durability across restarts,
off-loop execution, batched outcome writes."""

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


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda d: d / "missing" / "state.sqlite3", "the directory"),
        (lambda d: d, "is a directory"),
        (lambda d: _written(d / "garbage.sqlite3", b"not a database\n" * 300), "not a database"),
    ],
    ids=["in a missing directory", "a directory", "garbage"],
)
async def test_a_file_that_cannot_be_the_state_is_a_store_error_naming_it(
    tmp_path, make, reason
) -> None:
    path = str(make(tmp_path))
    store = SQLiteStore(path)
    with pytest.raises(StoreError, match=reason) as caught:
        await store.open()
    assert path in str(caught.value)
    await store.close()  # nothing left open


async def test_a_damaged_state_file_is_refused_at_open(tmp_path) -> None:
    path = tmp_path / "state.sqlite3"
    store = SQLiteStore(str(path))
    await store.open()
    for i in range(500):
        await store.disable(f"credential-{i}", "x" * 200)
    await store.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(StoreError, match=r"state\.sqlite3"):
        await SQLiteStore(str(path)).open()


def _written(path, data: bytes):
    path.write_bytes(data)
    return path

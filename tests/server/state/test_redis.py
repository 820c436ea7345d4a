"""The Redis store beyond the contract (test_store_contract.py): keys under its prefix, and
degraded mode against a real redis-server that is killed and started again."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from server.state.redis import RedisStore, redacted_url
from server.state.store import AuditLine, Cooldown
from tests.server.state.redis_server import RedisServer, free_port, redis_available

pytestmark = pytest.mark.skipif(
    not redis_available(), reason="redis-server is not installed (scripts/install.sh installs it)"
)


async def wait_until_shared(store: RedisStore, attempts: int = 200) -> None:
    """Poll the store's status (a bounded wait, not a timed assertion)."""
    for _ in range(attempts):
        if not store.status().degraded:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the store never left degraded mode")


async def test_every_key_lives_under_the_prefix(redis_url: str) -> None:
    store = RedisStore(redis_url, prefix="tenant-a:")
    await store.open()
    await store.record_outcome("a", "m", ok=False, error="x", at=1.0)
    await store.set_cooldown("a", "m", 1e12)
    await store.disable("a", "r")
    await store.set_flag("ff_retry_policy_v2", True)
    await store.take_lease(["a"], "h", now=0.0, ttl=1e12)
    other = RedisStore(redis_url, prefix="tenant-b:")
    await other.open()
    assert await other.disabled() == {}  # another prefix is another state
    await other.close()
    await store.close()
    raw = aioredis.Redis.from_url(redis_url, decode_responses=True)
    keys = await raw.keys("*")
    await raw.aclose()
    assert keys and all(key.startswith("tenant-a:") for key in keys)


async def test_redis_going_away_degrades_and_its_return_shares_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="compatkit.server.state")
    with RedisServer(tmp_path) as server:
        store = RedisStore(server.url, probe_interval=0.05)
        await store.open()
        await store.set_flag("ff_retry_policy_v2", True)
        await store.disable("a", "revoked")
        assert await store.get_flags() == {"ff_retry_policy_v2": True}
        server.stop()

        # Reads answer from the last known state plus this process's own writes; no raise.
        await store.set_cooldown("b", "m", 1e12, "capacity")
        await store.enable("a")
        await store.record_outcome("b", "m", ok=True, at=1.0)
        assert store.status().degraded and store.status().failures >= 1
        assert await store.get_flags() == {"ff_retry_policy_v2": True}
        assert await store.disabled() == {}
        assert await store.cooldowns(now=0.0) == [Cooldown("b", "m", 1e12, "capacity")]
        assert await store.take_lease(["b"], "h1", now=0.0, ttl=60.0, limit=1) == "b"
        assert await store.take_lease(["b"], "h2", now=0.0, ttl=60.0, limit=1) is None
        assert sum("unreachable" in r.message for r in caplog.records) == 1

        server.start()  # empty: no persistence in the test server
        await wait_until_shared(store)
        # The writes of the outage were replayed in order.
        fresh = RedisStore(server.url)
        await fresh.open()
        assert await fresh.cooldowns(now=0.0) == [Cooldown("b", "m", 1e12, "capacity")]
        assert (await fresh.health())["b"].successes == 1
        await fresh.close()
        assert any("answers again" in r.message for r in caplog.records)
        await store.close()


async def test_an_unreachable_redis_at_start_starts_degraded_not_failed() -> None:
    store = RedisStore(f"redis://127.0.0.1:{free_port()}/0", probe_interval=0.05)
    await store.open()
    assert store.status().degraded
    await store.set_flag("ff_converter_fast_path", True)
    assert await store.get_flags() == {"ff_converter_fast_path": True}
    await store.close()


async def test_audit_lines_and_logouts_during_an_outage_are_kept_and_replayed(
    tmp_path: Path,
) -> None:
    with RedisServer(tmp_path) as server:
        store = RedisStore(server.url, probe_interval=0.05)
        await store.open()
        await store.add_audit(AuditLine(1.0, "admin API", "before"))
        assert len(await store.audit()) == 1
        server.stop()

        await store.add_audit(AuditLine(2.0, "panel session abc", "during"))
        await store.revoke_session("s1", until=1e12)
        assert store.status().degraded
        assert [line.what for line in await store.audit()] == ["during", "before"]
        assert await store.session_revoked("s1", now=1.0)

        server.start()
        await wait_until_shared(store)
        fresh = RedisStore(server.url)
        await fresh.open()
        assert [line.what for line in await fresh.audit()] == ["during"]  # Redis came back empty
        assert await fresh.session_revoked("s1", now=1.0)
        await fresh.close()
        await store.close()


def test_the_password_never_shows_in_reprs_and_logs() -> None:
    url = "redis://user:s3cret-pass@cache.internal:6380/2"
    assert redacted_url(url) == "redis://user:***@cache.internal:6380/2"
    assert "s3cret" not in repr(RedisStore(url))

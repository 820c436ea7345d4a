"""Redis slow or gone under two real `compatkit serve` processes with a concurrency limit (so
every request may need Redis for its lease): requests keep being answered from the last known
state, degraded is logged and counted in the metrics, and both instances share again once
Redis is fast or back. No request hangs: every client has a timeout, which fails the test.

Waits poll a bounded number of times; load threads stop by themselves."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conformance.emulator.testing import RunningEmulator
from tests.server.state.redis_server import RedisServer, redis_available
from tests.server.state.serve_process import (
    admin,
    eventually,
    metric,
    proxy_env,
    running_instances,
    stream_text,
)
from tests.server.state.tcp_relay import Relay

pytestmark = pytest.mark.skipif(
    not redis_available(), reason="redis-server is not installed (scripts/install.sh installs it)"
)
CLIENT_TIMEOUT = 20.0  # far above any degraded answer: reaching it is a hang
DEGRADED = "compatkit_state_store_degraded"


def limited_env(emulator: RunningEmulator, redis_url: str, prefix: str) -> dict[str, str]:
    return {**proxy_env(emulator, redis_url, prefix), "COMPATKIT_MAX_IN_FLIGHT": "4"}


def flag_on(url: str, name: str) -> bool:
    return bool(admin(url, "GET", "/flags")["flags"][name])


def on_both(urls: list[str], check: Callable[[str], bool], what: str) -> None:
    for url in urls:
        eventually(lambda url=url: check(url), f"{what} on {url}")


class Load:
    """Threads sending streamed requests to the instances until stopped; every outcome kept."""

    def __init__(self, urls: list[str], per_instance: int = 2) -> None:
        self.outcomes: list[str] = []  # "ok" or the error's type and message
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(url,), daemon=True)
            for url in urls
            for _ in range(per_instance)
        ]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2 * CLIENT_TIMEOUT)

    def served(self) -> int:
        return len(self.outcomes)

    def _run(self, url: str) -> None:
        while not self._stop.is_set():
            try:
                stream_text(url, "under load", timeout=CLIENT_TIMEOUT)
                self.outcomes.append("ok")
            except Exception as exc:  # the SDK's status, timeout or connection errors
                self.outcomes.append(f"{type(exc).__name__}: {exc}")

    def more_served(self, count: int) -> None:
        target = self.served() + count
        eventually(lambda: self.served() >= target, f"{count} more requests served", 600)


@pytest.fixture
def slow_redis(
    emulator: RunningEmulator, redis_server: RedisServer, tmp_path: Path
) -> Iterator[tuple[Relay, list[str], list[Path]]]:
    """Two limited instances reaching the real redis-server through a Relay that can delay."""
    redis_server.flush()
    with Relay(redis_server.port) as link:
        env = limited_env(emulator, f"redis://127.0.0.1:{link.port}/0", "slow:")
        with running_instances(env, log_dir=tmp_path) as urls:
            yield link, urls, [tmp_path / f"instance{i}.log" for i in range(len(urls))]


def test_a_slow_redis_degrades_both_instances_which_keep_serving_and_recover(
    slow_redis: tuple[Relay, list[str], list[Path]],
) -> None:
    link, urls, logs = slow_redis
    first, second = urls
    admin(first, "PUT", "/flags/ff_converter_fast_path", json={"value": True})
    on_both(urls, lambda url: flag_on(url, "ff_converter_fast_path"), "the flag")

    link.delay = 2.0  # every answer from Redis now takes 4 times the store's 0.5 s timeout
    for i in range(6):
        for url in urls:
            assert stream_text(url, f"while Redis is slow {i}", timeout=CLIENT_TIMEOUT)
    on_both(urls, lambda url: metric(url, DEGRADED) == 1.0, "degraded")
    assert all(metric(url, "compatkit_state_store_failures_total") >= 1 for url in urls)
    assert all(flag_on(url, "ff_converter_fast_path") for url in urls)  # the last known state
    assert all("is unreachable" in log.read_text() for log in logs)

    link.delay = 0.0
    on_both(urls, lambda url: metric(url, DEGRADED) == 0.0, "recovered")
    assert all("answers again" in log.read_text() for log in logs)
    admin(second, "DELETE", "/flags/ff_converter_fast_path")
    eventually(lambda: not flag_on(first, "ff_converter_fast_path"), "shared again")
    assert stream_text(first, "after", timeout=CLIENT_TIMEOUT)


def test_redis_killed_under_load_and_restarted_fails_no_request(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    with (
        RedisServer(tmp_path) as server,
        running_instances(limited_env(emulator, server.url, "killed:")) as urls,
        Load(urls) as load,
    ):
        load.more_served(8)
        server.stop()
        on_both(urls, lambda url: metric(url, DEGRADED) == 1.0, "degraded")
        load.more_served(8)
        server.start()
        on_both(urls, lambda url: metric(url, DEGRADED) == 0.0, "recovered")
        load.more_served(8)
    assert load.served() >= 24
    assert set(load.outcomes) == {"ok"}, [o for o in load.outcomes if o != "ok"][:3]

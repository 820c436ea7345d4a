"""Two real `compatkit serve` processes on one real redis-server, in front of one emulator and
one credential pool with a concurrency limit (upstream.max_in_flight): requests through both
at once never put more than the limit on a credential, as the emulator saw them arrive; a
cooldown caused through one instance is honoured by the other."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from conformance.emulator.testing import RunningEmulator
from tests.server.conftest import EMULATOR_SCENARIOS, scenario
from tests.server.state.redis_server import redis_available
from tests.server.state.serve_process import (
    MODEL,
    client,
    credentials,
    eventually,
    proxy_env,
    running_instances,
    stream_text,
)

pytestmark = pytest.mark.skipif(
    not redis_available(), reason="redis-server is not installed (scripts/install.sh installs it)"
)
LIMIT = 2
STALL_S = EMULATOR_SCENARIOS["scenarios"]["stall"]["faults"][0]["stall_ms"] / 1000


@pytest.fixture
def instances(emulator: RunningEmulator, redis_url: str) -> Iterator[list[str]]:
    """Two instances sharing the state, each credential limited to LIMIT leases in all."""
    env = {
        **proxy_env(emulator, redis_url, "instances:"),
        "COMPATKIT_MAX_IN_FLIGHT": str(LIMIT),
        "COMPATKIT_MAX_IN_FLIGHT_WAIT": "60",
    }
    with running_instances(env) as urls:
        emulator.reset()
        yield urls


def most_in_stall(arrivals: list[float]) -> int:
    """The most requests that arrived within one stall of each other: each of them was still
    held by the emulator's stall when the last arrived, so all were in flight together."""
    ordered = sorted(arrivals)
    return max(sum(1 for t in ordered[: i + 1] if t > at - STALL_S) for i, at in enumerate(ordered))


def test_two_instances_never_exceed_a_credentials_limit_together(
    instances: list[str], emulator: RunningEmulator
) -> None:
    requests = 5 * LIMIT * 3  # 3 credentials: five waves of full slots
    with ThreadPoolExecutor(requests) as pool:
        replies = list(
            pool.map(
                lambda i: stream_text(instances[i % 2], scenario("stall") + f" request {i}"),
                range(requests),
            )
        )
    assert all(replies)
    arrivals: dict[str, list[float]] = {}
    for record in emulator.requests():
        arrivals.setdefault(record["credential"], []).append(record["time"])
    assert sum(map(len, arrivals.values())) == requests
    held = {credential: most_in_stall(times) for credential, times in arrivals.items()}
    assert max(held.values()) == LIMIT, held  # the limit was reached, never passed


def test_a_cooldown_caused_through_one_instance_is_honoured_by_the_other(
    instances: list[str], emulator: RunningEmulator
) -> None:
    first, second = instances
    client(first, ff_retry_policy_v2=True).messages.create(
        model=MODEL,
        max_tokens=16,
        messages=[{"role": "user", "content": scenario("capacity_first")}],
    )
    refused = emulator.requests()[0]
    assert refused["status"] == 429
    cooling = next(
        cid for cid, c in credentials(first).items() if c["cooldowns"].get("gemini-2.5-pro")
    )
    eventually(
        lambda: "gemini-2.5-pro" in credentials(second)[cooling]["cooldowns"],
        "the other instance honours the cooldown",
    )
    emulator.reset()
    for i in range(12):
        assert stream_text(second, f"after the cooldown {i}")
    assert refused["credential"] not in {r["credential"] for r in emulator.requests()}

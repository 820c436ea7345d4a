"""Two proxy apps sharing one real redis-server (each with its own event loop, store and
connections, in front of one emulator and one credential pool): what an operator changes or
an upstream error causes on one instance applies on the other, and Redis going away degrades
both without failing a request.

"Within the bound" waits poll a bounded number of times (no timed assertion): the bound is
server.app.SHARED_SYNC_INTERVAL plus a round trip.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest

from conformance.emulator.testing import RunningEmulator
from tests.server.conftest import ADMIN_KEY, PROXY_KEY, RunningProxy, scenario
from tests.server.state.redis_server import RedisServer, redis_available

pytestmark = pytest.mark.skipif(
    not redis_available(), reason="redis-server is not installed (scripts/install.sh installs it)"
)
SCARCE_MODEL = "claude-sonnet-4-6"  # → gemini-2.5-pro


def eventually(check: Callable[[], bool], attempts: int = 100) -> None:
    for _ in range(attempts):
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("the other instance never saw the change")


def admin(proxy: RunningProxy, method: str, path: str, **kwargs: Any) -> httpx.Response:
    response = httpx.request(
        method, proxy.url + "/admin" + path, headers={"x-api-key": ADMIN_KEY}, **kwargs
    )
    response.raise_for_status()
    return response


def credentials(proxy: RunningProxy) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in admin(proxy, "GET", "/credentials").json()["data"]}


def ask(proxy: RunningProxy, marker: str = "hello", **flags: bool) -> anthropic.types.Message:
    headers = {"x-compatkit-admin-key": ADMIN_KEY}
    if flags:
        headers["x-compatkit-flags"] = ",".join(
            f"{k}={'on' if v else 'off'}" for k, v in flags.items()
        )
    client = anthropic.Anthropic(
        base_url=proxy.url, api_key=PROXY_KEY, max_retries=0, default_headers=headers
    )
    return client.messages.create(
        model=SCARCE_MODEL, max_tokens=16, messages=[{"role": "user", "content": marker}]
    )


def metric(proxy: RunningProxy, name: str) -> float:
    for line in httpx.get(proxy.url + "/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not exposed")


@pytest.fixture
def pair(
    proxy_factory: Callable[..., RunningProxy], redis_url: str
) -> tuple[RunningProxy, RunningProxy]:
    """Two instances on the same Redis URL and prefix."""
    return (
        proxy_factory(state_url=redis_url, state_prefix="pair:"),
        proxy_factory(state_url=redis_url, state_prefix="pair:"),
    )


def test_a_credential_disabled_through_one_instance_leaves_rotation_on_both(
    pair: tuple[RunningProxy, RunningProxy], emulator: RunningEmulator
) -> None:
    first, second = pair
    victim = next(iter(credentials(first)))
    admin(first, "POST", f"/credentials/{victim}/disable", json={"reason": "leaked"})
    eventually(lambda: credentials(second)[victim]["disabled_reason"] == "leaked")
    emulator.reset()
    for _ in range(12):
        ask(second)
    assert victim not in {r["credential"] for r in emulator.requests()}
    admin(second, "POST", f"/credentials/{victim}/enable")
    eventually(lambda: credentials(first)[victim]["state"] == "ready")


def test_a_flag_set_through_one_instance_applies_on_both(
    pair: tuple[RunningProxy, RunningProxy],
) -> None:
    first, second = pair
    admin(first, "PUT", "/flags/ff_retry_policy_v2", json={"value": True})
    eventually(lambda: admin(second, "GET", "/flags").json()["flags"]["ff_retry_policy_v2"])
    assert second.run(second.services.flags.current()).ff_retry_policy_v2
    admin(second, "DELETE", "/flags/ff_retry_policy_v2")
    eventually(lambda: not admin(first, "GET", "/flags").json()["flags"]["ff_retry_policy_v2"])


def test_a_cooldown_from_a_429_on_one_instance_is_honoured_by_the_other(
    pair: tuple[RunningProxy, RunningProxy], emulator: RunningEmulator
) -> None:
    first, second = pair
    ask(first, scenario("capacity_first"), ff_retry_policy_v2=True)
    refused = emulator.requests()[0]
    assert refused["status"] == 429
    cooling = refused["credential"]
    cooling_id = next(
        cid for cid, c in credentials(first).items() if c["cooldowns"].get("gemini-2.5-pro")
    )
    eventually(lambda: "gemini-2.5-pro" in credentials(second)[cooling_id]["cooldowns"])
    emulator.reset()
    for _ in range(12):
        ask(second)
    assert cooling not in {r["credential"] for r in emulator.requests()}


def test_redis_killed_under_requests_degrades_both_and_its_return_shares_again(
    proxy_factory: Callable[..., RunningProxy], tmp_path: Path
) -> None:
    with RedisServer(tmp_path) as server:
        first, second = (proxy_factory(state_url=server.url, state_prefix="k:") for _ in range(2))
        for _ in range(3):
            assert ask(first).content and ask(second).content
        server.stop()
        for _ in range(10):  # every request answered, none waits on Redis
            assert ask(first).content and ask(second).content
        admin(first, "PUT", "/flags/ff_converter_fast_path", json={"value": True})
        assert admin(first, "GET", "/flags").json()["flags"]["ff_converter_fast_path"]
        eventually(lambda: metric(first, "compatkit_state_store_degraded") == 1.0)
        assert metric(first, "compatkit_state_store_failures_total") >= 1
        assert httpx.get(first.url + "/readyz").status_code == 200

        server.start()  # empty; the degraded writes are replayed into it
        eventually(lambda: metric(first, "compatkit_state_store_degraded") == 0.0)
        eventually(lambda: metric(second, "compatkit_state_store_degraded") == 0.0)
        eventually(lambda: admin(second, "GET", "/flags").json()["flags"]["ff_converter_fast_path"])
        victim = next(iter(credentials(second)))
        admin(second, "POST", f"/credentials/{victim}/disable")
        eventually(lambda: credentials(first)[victim]["state"] == "disabled")

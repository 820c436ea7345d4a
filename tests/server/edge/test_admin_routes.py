"""The admin API: flags and credentials, behind its own key (never the proxy key)."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import pytest

from conformance.emulator.testing import RunningEmulator
from server.flags import FLAG_NAMES
from tests.server.conftest import ADMIN_KEY, PROXY_KEY, RunningProxy, scenario

ADMIN = {"x-api-key": ADMIN_KEY}


def admin(proxy: RunningProxy, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(method, proxy.url + "/admin" + path, headers=ADMIN, **kwargs)


def test_flags_are_read_set_and_reset_at_run_time(proxy: RunningProxy) -> None:
    assert admin(proxy, "GET", "/flags").json()["flags"] == dict.fromkeys(FLAG_NAMES, False)
    changed = admin(proxy, "PUT", "/flags", json={"ff_retry_policy_v2": True}).json()
    assert changed["flags"]["ff_retry_policy_v2"] is True
    one = admin(proxy, "PUT", "/flags/ff_http2_pool_tuning", json={"value": True}).json()
    assert one["flags"]["ff_http2_pool_tuning"] is True
    assert proxy.run(proxy.services.flags.current()).ff_http2_pool_tuning is True
    reset = admin(proxy, "DELETE", "/flags/ff_retry_policy_v2").json()
    assert reset["flags"]["ff_retry_policy_v2"] is False


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("PUT", "/flags", {"ff_unknown": True}, 400),
        ("PUT", "/flags", {"ff_retry_policy_v2": "yes"}, 400),
        ("PUT", "/flags/ff_retry_policy_v2", {"value": 1}, 400),
        ("PUT", "/flags/ff_nope", {"value": True}, 404),
        ("DELETE", "/flags/ff_nope", None, 404),
        ("POST", "/credentials/no-such-id/disable", None, 404),
    ],
)
def test_bad_admin_input_is_a_clear_error(
    proxy: RunningProxy, method: str, path: str, body: Any, status: int
) -> None:
    response = admin(proxy, method, path, json=body)
    assert response.status_code == status
    assert response.json()["type"] == "error"


@pytest.mark.parametrize("key", [None, PROXY_KEY, "wrong"], ids=["missing", "proxy-key", "wrong"])
def test_admin_api_needs_the_admin_key(proxy: RunningProxy, key: str | None) -> None:
    headers = {"x-api-key": key} if key else {}
    response = httpx.get(proxy.url + "/admin/flags", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"


def test_admin_api_is_off_without_an_admin_key(proxy_factory: Any) -> None:
    proxy = proxy_factory(admin_key=None)
    response = httpx.get(proxy.url + "/admin/flags", headers={"x-api-key": "anything"})
    assert response.status_code == 403


def test_credentials_are_listed_without_secrets_and_can_be_disabled(
    proxy: RunningProxy, emulator: RunningEmulator
) -> None:
    listed = admin(proxy, "GET", "/credentials").json()["data"]
    assert len(listed) == 3 and {c["state"] for c in listed} == {"ready"}
    assert "gemini-key-a" not in str(listed)
    for credential in listed[:2]:
        assert admin(proxy, "POST", f"/credentials/{credential['id']}/disable").status_code == 200
    sdk = anthropic.Anthropic(base_url=proxy.url, api_key=PROXY_KEY, max_retries=0)
    for _ in range(3):
        sdk.messages.create(
            model="claude-sonnet-4-6", max_tokens=8, messages=[{"role": "user", "content": "hi"}]
        )
    assert len({r["credential"] for r in emulator.requests()}) == 1  # only the enabled one
    states = {c["id"]: c["state"] for c in admin(proxy, "GET", "/credentials").json()["data"]}
    assert sorted(states.values()) == ["disabled", "disabled", "ready"]
    admin(proxy, "POST", f"/credentials/{listed[0]['id']}/enable")
    states = {c["id"]: c["state"] for c in admin(proxy, "GET", "/credentials").json()["data"]}
    assert states[listed[0]["id"]] == "ready"


def test_cooldowns_show_up_and_can_be_cleared(proxy: RunningProxy) -> None:
    sdk = anthropic.Anthropic(
        base_url=proxy.url,
        api_key=PROXY_KEY,
        max_retries=0,
        default_headers={
            "x-compatkit-flags": "ff_retry_policy_v2=on",
            "x-compatkit-admin-key": ADMIN_KEY,
        },
    )
    sdk.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=8,
        messages=[{"role": "user", "content": scenario("capacity_first")}],
    )
    cooling = [c for c in admin(proxy, "GET", "/credentials").json()["data"] if c["cooldowns"]]
    assert len(cooling) == 1 and "gemini-2.5-pro" in cooling[0]["cooldowns"]
    cleared = admin(proxy, "DELETE", f"/credentials/{cooling[0]['id']}/cooldowns").json()
    assert cleared["cleared"] == ["gemini-2.5-pro"]
    assert all(not c["cooldowns"] for c in admin(proxy, "GET", "/credentials").json()["data"])

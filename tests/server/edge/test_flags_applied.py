"""The `x-compatkit-flags-applied` response header (issue 16.8): which flags a request ran with.

Rules checked (a proxy in front of the emulator):
- a request carrying the admin key in `x-compatkit-admin-key` gets the header, every flag as
  `name=on|off` in the override's syntax, on both generation routes, streamed or not, and on
  count_tokens; an admin-authorised `x-compatkit-flags` override shows in it;
- a request without the admin key, or with a wrong one, does not get it.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from server.flags import FLAG_NAMES, parse_flag_overrides
from tests.server.conftest import ADMIN_KEY, PROXY_KEY, RunningProxy

HEADER = "x-compatkit-flags-applied"
MESSAGES: dict[str, Any] = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 8,
    "messages": [{"role": "user", "content": "hi"}],
}
CALLS = {
    "messages": ("/v1/messages", MESSAGES),
    "messages-stream": ("/v1/messages", {**MESSAGES, "stream": True}),
    "chat": ("/v1/chat/completions", {**MESSAGES, "model": "gpt-4o-mini"}),
    "count_tokens": ("/v1/messages/count_tokens", {**MESSAGES, "max_tokens": None}),
}


def post(proxy: RunningProxy, call: str, **headers: str) -> httpx.Response:
    path, body = CALLS[call]
    body = {k: v for k, v in body.items() if v is not None}
    response = httpx.post(
        proxy.url + path, json=body, headers={"x-api-key": PROXY_KEY, **headers}, timeout=30
    )
    assert response.status_code == 200, response.text
    return response


@pytest.mark.parametrize("call", list(CALLS))
def test_an_admin_request_is_told_every_flag_it_ran_with(proxy: RunningProxy, call: str) -> None:
    response = post(proxy, call, **{"x-compatkit-admin-key": ADMIN_KEY})
    applied = parse_flag_overrides(response.headers[HEADER])
    assert list(applied) == list(FLAG_NAMES)
    assert not any(applied.values())  # the test proxy runs with every flag off


def test_an_override_shows_in_the_header(proxy: RunningProxy) -> None:
    response = post(
        proxy,
        "messages",
        **{"x-compatkit-admin-key": ADMIN_KEY, "x-compatkit-flags": "ff_retry_policy_v2=on"},
    )
    applied = parse_flag_overrides(response.headers[HEADER])
    assert applied["ff_retry_policy_v2"] is True
    assert [name for name, on in applied.items() if on] == ["ff_retry_policy_v2"]


@pytest.mark.parametrize("admin", [None, "not-the-admin-key", PROXY_KEY])
@pytest.mark.parametrize("call", list(CALLS))
def test_other_clients_are_not_told(proxy: RunningProxy, call: str, admin: str | None) -> None:
    headers = {} if admin is None else {"x-compatkit-admin-key": admin}
    assert HEADER not in post(proxy, call, **headers).headers

"""Client keys: where they are read from, the constant-time key ring, and that a secret sent
in the wrong header is never echoed."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.edge.auth import KeyRing, presented_key, require_key
from server.errors import ProxyError
from tests.server.conftest import ADMIN_KEY, PROXY_KEY, RunningProxy


@pytest.mark.parametrize(
    ("headers", "key"),
    [
        ({"x-api-key": "a"}, "a"),
        ({"authorization": "Bearer b"}, "b"),
        ({"authorization": "bearer  c "}, "c"),
        ({"x-api-key": "a", "authorization": "Bearer b"}, "a"),
        ({"authorization": "Basic b"}, None),
        ({"authorization": "Bearer "}, None),
        ({}, None),
    ],
)
def test_the_key_comes_from_x_api_key_first_then_a_bearer_token(
    headers: dict[str, str], key: str | None
) -> None:
    assert presented_key(headers) == key


@given(keys=st.lists(st.text(min_size=1), max_size=5), candidate=st.text())
def test_a_ring_accepts_exactly_its_keys(keys: list[str], candidate: str) -> None:
    assert KeyRing(keys).accepts(candidate) == (candidate in keys)


def test_an_empty_ring_is_falsy_and_accepts_nothing() -> None:
    ring = KeyRing([])
    assert not ring and not ring.accepts("") and not ring.accepts(None)


def test_a_refusal_names_the_header_but_never_the_key() -> None:
    with pytest.raises(ProxyError) as raised:
        require_key(KeyRing(["right"]), {"x-api-key": "sk-wrong-secret"}, "API key")
    assert raised.value.status == 401 and "sk-wrong-secret" not in raised.value.message


# --- secrets sent in the wrong header are never echoed (issue 17.4) ---------------------------

SECRET_PLACEMENTS = [
    "{secret}",  # the admin key pasted into the flags header
    "ff_retry_policy_v2={secret}",
    "{secret}=on",
    "ff_retry_policy_v2=on,{secret}",
    "ff_retry_policy_v2=on, ,{secret}",
    "ff_retry_policy_v2=on,ff_retry_policy_v2={secret}",
]
ROUTES = [
    (
        "/v1/messages",
        {
            "model": "claude-sonnet-4-5",
            "max_tokens": 8,
            "messages": [{"role": "user", "content": "hi"}],
        },
    ),
    ("/v1/chat/completions", {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}),
    (
        "/v1/messages/count_tokens",
        {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "hi"}]},
    ),
]


@pytest.mark.parametrize("placement", SECRET_PLACEMENTS)
@pytest.mark.parametrize(("path", "body"), ROUTES, ids=[r[0] for r in ROUTES])
def test_a_secret_in_the_flags_header_is_never_echoed(
    proxy: RunningProxy, placement: str, path: str, body: dict[str, object]
) -> None:
    for secret in (ADMIN_KEY, PROXY_KEY):
        headers = {
            "x-api-key": PROXY_KEY,
            "x-compatkit-admin-key": ADMIN_KEY,
            "x-compatkit-flags": placement.format(secret=secret),
        }
        answer = httpx.post(proxy.url + path, json=body, headers=headers)
        assert answer.status_code == 400
        assert "x-compatkit-flags" in answer.text
        assert secret not in answer.text and secret not in str(answer.headers)


def test_a_mistyped_flag_name_is_named_as_the_nearest_known_one(proxy: RunningProxy) -> None:
    headers = {
        "x-api-key": PROXY_KEY,
        "x-compatkit-admin-key": ADMIN_KEY,
        "x-compatkit-flags": "ff_retry_polcy_v2=on",
    }
    answer = httpx.post(proxy.url + "/v1/messages", json=ROUTES[0][1], headers=headers)
    assert answer.status_code == 400
    assert "did you mean ff_retry_policy_v2" in answer.json()["error"]["message"]

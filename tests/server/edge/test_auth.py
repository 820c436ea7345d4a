"""Client keys: where they are read from, and the constant-time key ring."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.edge.auth import KeyRing, presented_key, require_key
from server.errors import ProxyError


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

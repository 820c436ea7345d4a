"""server.panel.session: a session cookie is accepted only as signed, unexpired and by keys
derived from the same admin key; CSRF and login tokens are bound to what they protect."""

from __future__ import annotations

import base64
import os

from hypothesis import given
from hypothesis import strategies as st

from server.panel.session import PanelKeys, cookie_attributes

KEYS = PanelKeys.from_admin_key("admin-key-one", lifetime=3600)
NOW = 1_700_000_000.0


def test_a_fresh_session_reads_back_until_it_expires() -> None:
    session = KEYS.issue(NOW)
    cookie = KEYS.cookie_value(session)
    assert KEYS.read(cookie, NOW + 3599) == session
    assert KEYS.read(cookie, NOW + 3600) is None


def test_the_secret_is_not_the_admin_key_and_a_new_key_ends_every_session() -> None:
    assert b"admin-key-one" not in KEYS.secret
    cookie = KEYS.cookie_value(KEYS.issue(NOW))
    assert "admin-key-one" not in cookie
    assert PanelKeys.from_admin_key("admin-key-two").read(cookie, NOW) is None
    assert PanelKeys.from_admin_key("admin-key-one").read(cookie, NOW) is not None


@given(position=st.integers(min_value=0), replacement=st.characters(codec="ascii"))
def test_any_changed_character_makes_the_cookie_worthless(position: int, replacement: str) -> None:
    cookie = KEYS.cookie_value(KEYS.issue(NOW))
    position %= len(cookie)
    forged = cookie[:position] + replacement + cookie[position + 1 :]
    if forged != cookie:
        assert KEYS.read(forged, NOW) is None


@given(st.text(max_size=200))
def test_garbage_is_never_a_session_and_never_raises(text: str) -> None:
    assert KEYS.read(text, NOW) is None


def test_a_session_extended_by_hand_is_refused() -> None:
    cookie = KEYS.cookie_value(KEYS.issue(NOW))
    _, signature = cookie.split(".")
    forged_payload = base64.urlsafe_b64encode(b'{"sid": "x", "exp": 9999999999}').rstrip(b"=")
    assert KEYS.read(forged_payload.decode() + "." + signature, NOW) is None


def test_csrf_tokens_belong_to_one_session() -> None:
    one, two = KEYS.issue(NOW), KEYS.issue(NOW)
    assert KEYS.csrf_ok(one.id, KEYS.csrf_token(one.id))
    assert not KEYS.csrf_ok(two.id, KEYS.csrf_token(one.id))
    assert not KEYS.csrf_ok(one.id, None)
    assert not KEYS.csrf_ok(one.id, "")
    assert not KEYS.csrf_ok(one.id, "\udcff")  # not even encodable as UTF-8: refused, no raise


def test_login_tokens_belong_to_the_browser_that_got_the_form() -> None:
    nonce = os.urandom(8).hex()
    token = KEYS.login_token(nonce)
    assert KEYS.login_ok(nonce, token)
    assert not KEYS.login_ok("another-browser", token)
    assert not KEYS.login_ok(None, token)
    assert not KEYS.login_ok(nonce, None)
    assert token != KEYS.csrf_token(nonce)  # one purpose per signature


def test_cookies_are_http_only_strict_and_secure_over_tls() -> None:
    assert cookie_attributes(secure=True, max_age=60) == {
        "httponly": True,
        "samesite": "Strict",
        "secure": True,
        "path": "/panel",
        "max_age": 60,
    }
    assert cookie_attributes(secure=False, max_age=None)["secure"] is False

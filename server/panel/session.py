"""The panel's login session and CSRF tokens: signed, expiring, checked in constant time.

Operations:
    PanelKeys.from_admin_key(admin_key) -> PanelKeys    the signing secret, derived from the key
    PanelKeys.issue(now) -> Session                     a new session (random id, expiry)
    PanelKeys.read(cookie, now) -> Session | None       a cookie's session if signed and current
    PanelKeys.csrf_token(session_id) -> str             the form token bound to one session
    PanelKeys.csrf_ok(session_id, token) -> bool        constant-time check of a form's token
    PanelKeys.login_token(nonce) / .login_ok(nonce, token)
                                                        the same for the login form, bound to a
                                                        random pre-login cookie (double submit)
    cookie_attributes(secure) -> dict                   HttpOnly, SameSite=Strict, Path=/panel

Plan: a session is `base64url(json{sid, exp}) "." base64url(HMAC-SHA256)`: stateless, so
every worker of one proxy accepts it. The secret is HMAC(admin key, a fixed label): it never
appears in a cookie, survives restarts, and rotating the admin key ends every session. A CSRF
token is HMAC(secret, "csrf" + session id): a page can only submit a form it rendered for the
session in the cookie (the synchronizer pattern, stateless). Logout revokes the session id in
the state store until it would have expired (server.panel.routes), as well as clearing the
cookie, so a copied cookie dies with it on every worker and instance.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field

SESSION_COOKIE = "compatkit_panel"
LOGIN_COOKIE = "compatkit_panel_login"
SESSION_SECONDS = 8 * 3600
"""How long a login lasts; the operator logs in again after a working day."""

_LABEL = b"compatkit panel session v1"


@dataclass(frozen=True, slots=True)
class Session:
    """One login: a random id and the Unix time it ends."""

    id: str
    expires: float


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class PanelKeys:
    """Signs and checks the panel's cookies and form tokens with one secret."""

    secret: bytes = field(repr=False)
    lifetime: float = SESSION_SECONDS

    @classmethod
    def from_admin_key(cls, admin_key: str, lifetime: float = SESSION_SECONDS) -> PanelKeys:
        """Keys whose secret is derived from (and never equal to) the admin key."""
        secret = hmac.new(admin_key.encode("utf-8", "surrogatepass"), _LABEL, "sha256").digest()
        return cls(secret, lifetime)

    def _sign(self, purpose: bytes, payload: bytes) -> bytes:
        return hmac.new(self.secret, purpose + b"\x00" + payload, hashlib.sha256).digest()

    def issue(self, now: float) -> Session:
        """A new session starting at `now`."""
        return Session(secrets.token_urlsafe(18), now + self.lifetime)

    def cookie_value(self, session: Session) -> str:
        """The signed cookie that carries `session`."""
        payload = json.dumps({"sid": session.id, "exp": int(session.expires)}).encode()
        return _b64encode(payload) + "." + _b64encode(self._sign(b"session", payload))

    def read(self, cookie: str | None, now: float) -> Session | None:
        """The session in `cookie`, or None if it is missing, forged, malformed or expired."""
        if not cookie or cookie.count(".") != 1:
            return None
        encoded, _, signature = cookie.partition(".")
        try:
            payload, presented = _b64decode(encoded), _b64decode(signature)
        except (binascii.Error, ValueError):
            return None
        if not hmac.compare_digest(presented, self._sign(b"session", payload)):
            return None
        try:
            data = json.loads(payload)
            session = Session(str(data["sid"]), float(data["exp"]))
        except (ValueError, KeyError, TypeError):
            return None
        return session if now < session.expires else None

    def csrf_token(self, session_id: str) -> str:
        """The token every state-changing request of this session must carry."""
        return _b64encode(self._sign(b"csrf", session_id.encode()))

    def csrf_ok(self, session_id: str, token: str | None) -> bool:
        """Whether `token` is this session's CSRF token (constant time)."""
        return _equal(token, self.csrf_token(session_id))

    def login_token(self, nonce: str) -> str:
        """The login form's token, bound to the random pre-login cookie `nonce`."""
        return _b64encode(self._sign(b"login", nonce.encode()))

    def login_ok(self, nonce: str | None, token: str | None) -> bool:
        """Whether a login form came from a page this server rendered for this browser."""
        return bool(nonce) and _equal(token, self.login_token(nonce or ""))


def _equal(presented: str | None, expected: str) -> bool:
    if presented is None:
        return False
    return hmac.compare_digest(presented.encode("utf-8", "surrogatepass"), expected.encode())


def cookie_attributes(*, secure: bool, max_age: int | None) -> dict[str, object]:
    """The attributes of the panel's cookies: never readable by script, never sent cross-site."""
    return {
        "httponly": True,
        "samesite": "Strict",
        "secure": secure,
        "path": "/panel",
        "max_age": max_age,
    }

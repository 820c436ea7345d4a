"""Who may call the proxy: client keys for the API routes, a separate key for the admin API.

Operations:
    presented_key(headers) -> str | None     `x-api-key`, else `Authorization: Bearer <key>`
    KeyRing(keys).accepts(key) -> bool      constant-time membership test
    require_key(ring, headers, what)         raises ProxyError 401 when the key is missing or wrong
    ADMIN_KEY_HEADER                         where a client request proves it may override flags

Goals: keys are compared in constant time (digests of equal length, every key compared,
no early exit), and never logged or echoed: error messages say which header was
expected, never what was sent.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import Protocol

from server.errors import ProxyError

ADMIN_KEY_HEADER = "x-compatkit-admin-key"
"""An API request that carries `x-compatkit-flags` must also carry the admin key here."""


class HeaderLookup(Protocol):
    """Case-insensitive header access (Quart's Headers, a plain dict with lower-case keys)."""

    def get(self, key: str, /) -> str | None: ...


def presented_key(headers: HeaderLookup | Mapping[str, str]) -> str | None:
    """The key a client sent: `x-api-key`, or a bearer token in `Authorization`."""
    key = headers.get("x-api-key")
    if key:
        return key.strip()
    authorization = headers.get("authorization") or ""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


class KeyRing:
    """A set of accepted keys, kept only as SHA-256 digests."""

    def __init__(self, keys: Iterable[str]) -> None:
        self._digests = tuple(_digest(key) for key in keys if key)

    def __bool__(self) -> bool:
        return bool(self._digests)

    def accepts(self, key: str | None) -> bool:
        """Whether `key` is one of the ring's keys, in time independent of which one."""
        if key is None:
            return False
        candidate = _digest(key)
        matched = False
        for digest in self._digests:
            matched |= hmac.compare_digest(candidate, digest)
        return matched


def require_key(ring: KeyRing, headers: HeaderLookup | Mapping[str, str], what: str) -> None:
    """Raise a 401 `authentication_error` unless the request carries a key of `ring`."""
    key = presented_key(headers)
    if key is None:
        raise ProxyError(
            401,
            "authentication_error",
            f"Missing {what}: send it in the x-api-key header or as Authorization: Bearer",
        )
    if not ring.accepts(key):
        raise ProxyError(401, "authentication_error", f"Invalid {what}")

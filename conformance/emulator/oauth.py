"""OAuth: Google's token endpoint (refresh grant) and the bearer tokens it hands out.

Operations:
- `TokenIssuer.refresh(form)`: answer `POST /token` (application/x-www-form-urlencoded,
  grant_type=refresh_token, client_id, client_secret, refresh_token) with Google's JSON:
  `{access_token, expires_in, scope, token_type}`, or its OAuth error body
  (`400 invalid_grant`, `400 unsupported_grant_type`, `401 invalid_client`, `400 invalid_request`).
- `TokenIssuer.identity(access_token)`: the credential an issued, unexpired token stands for (the
  refresh token it came from), so capacity and onboarding follow the credential, not the token.
- `TokenIssuer.revoke(token)`: answer `POST /revoke` (Google's revocation endpoint, `token` in the
  form or the query): an access token stops working; a refresh token stops refreshing, and the
  access tokens issued from it stop working. `{}` with 200, or 400 `invalid_token`.

The clock is injectable so token expiry is testable without waiting.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from typing import Any

from conformance.emulator.scenarios import EmulatorConfig

DEFAULT_SCOPE = (
    "https://www.googleapis.com/auth/cloud-platform "
    "https://www.googleapis.com/auth/userinfo.email "
    "https://www.googleapis.com/auth/userinfo.profile openid"
)


class TokenIssuer:
    """Issues access tokens for known refresh tokens and remembers them until they expire."""

    def __init__(self, config: EmulatorConfig, clock: Callable[[], float] = time.time) -> None:
        self._config = config
        self._clock = clock
        self._issued: dict[str, tuple[str, float]] = {}  # access token -> (refresh token, expiry)
        self._revoked: set[str] = set()  # refresh tokens
        self._serial = 0

    def refresh(self, form: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON body) for one token request."""
        grant_type = form.get("grant_type")
        if not grant_type:
            return 400, _oauth_error("invalid_request", "Missing required parameter: grant_type")
        if grant_type != "refresh_token":
            return 400, _oauth_error("unsupported_grant_type", f"Invalid grant_type: {grant_type}")
        if not self._client_known(form.get("client_id"), form.get("client_secret")):
            return 401, _oauth_error("invalid_client", "The OAuth client was not found.")
        refresh_token = form.get("refresh_token")
        if not refresh_token:
            return 400, _oauth_error("invalid_request", "Missing required parameter: refresh_token")
        if refresh_token not in self._config.refresh_tokens or refresh_token in self._revoked:
            return 400, _oauth_error("invalid_grant", "Bad Request")
        self._serial += 1
        digest = hashlib.sha256(f"{refresh_token}/{self._serial}".encode()).hexdigest()
        access_token = f"ya29.emulator-{digest[:40]}"
        ttl = self._config.access_token_ttl_s
        self._issued[access_token] = (refresh_token, self._clock() + ttl)
        return 200, {
            "access_token": access_token,
            "expires_in": ttl,
            "scope": form.get("scope") or DEFAULT_SCOPE,
            "token_type": "Bearer",
        }

    def identity(self, access_token: str) -> str | None:
        """The refresh token behind an issued, unexpired access token; None otherwise."""
        entry = self._issued.get(access_token)
        if entry is None:
            return None
        refresh_token, expiry = entry
        if self._clock() >= expiry:
            del self._issued[access_token]
            return None
        return "oauth:" + hashlib.sha256(refresh_token.encode()).hexdigest()[:16]

    def revoke(self, token: str | None) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON body) for one revocation request."""
        if token and token in self._issued:
            del self._issued[token]
            return 200, {}
        if token and token in self._config.refresh_tokens and token not in self._revoked:
            self._revoked.add(token)
            for access, (refresh, _) in list(self._issued.items()):
                if refresh == token:
                    del self._issued[access]
            return 200, {}
        return 400, _oauth_error("invalid_token", "Token expired or revoked")

    def _client_known(self, client_id: str | None, client_secret: str | None) -> bool:
        clients = self._config.oauth_clients
        if not clients:
            return True
        return any(c.client_id == client_id and c.client_secret == client_secret for c in clients)


def _oauth_error(error: str, description: str) -> dict[str, Any]:
    return {"error": error, "error_description": description}

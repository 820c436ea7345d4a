"""OAuth token files and the refresh-token grant, as gemini-cli's `oauth_creds.json` uses them.

Operations:
    OAuthToken                          access/refresh token, expiry, client id/secret, token
                                        URI, plus every other field of the file (kept on write)
    OAuthToken.from_json(data) / .to_json() / .expires_within(margin, now)
    read_token_file(path) -> OAuthToken
    write_token_file(path, token)       atomic: temp file in the same directory, fsync, rename;
                                        owner-only permissions
    refresh_access_token(client, token, token_uri=, client_id=, client_secret=, now=)
                                        POST grant_type=refresh_token → a new OAuthToken
    OAuthError                          unreadable file, missing field, refused refresh;
                                        `.transient` when the token endpoint could not answer

File shape accepted: `access_token` (or `token`), `refresh_token`, expiry as `expiry_date`
(epoch milliseconds, gemini-cli) or `expiry` (ISO 8601 or epoch seconds, google-auth),
optional `client_id`, `client_secret`, `token_uri`. Secrets never appear in reprs or error
messages.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from server.credentials.errors import CredentialError

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"


class OAuthError(CredentialError):
    """An OAuth credential that cannot be read or refreshed.

    `transient`: the token endpoint was unreachable or answered 429/5xx, so a later refresh
    may work; otherwise the refresh itself was refused (a bad refresh token or client).
    """

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True, slots=True)
class OAuthToken:
    """One OAuth credential. `expiry` is epoch seconds (None: unknown, treat as expired)."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expiry: float | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    token_uri: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OAuthToken:
        """Parse the file's JSON object; raise OAuthError on a missing or mistyped field."""
        if not isinstance(data, Mapping):
            raise OAuthError("OAuth credential file must hold a JSON object")
        access = data.get("access_token", data.get("token"))
        refresh = data.get("refresh_token")
        if not isinstance(access, str) and not isinstance(refresh, str):
            raise OAuthError("OAuth credential file has neither access_token nor refresh_token")
        for name in ("client_id", "client_secret", "token_uri"):
            if data.get(name) is not None and not isinstance(data.get(name), str):
                raise OAuthError(f"OAuth credential field {name} must be a string")
        return cls(
            access_token=access if isinstance(access, str) else "",
            refresh_token=refresh if isinstance(refresh, str) else None,
            expiry=_parse_expiry(data),
            client_id=data.get("client_id"),
            client_secret=data.get("client_secret"),
            token_uri=data.get("token_uri"),
            extra={
                k: v
                for k, v in data.items()
                if k
                not in (
                    "access_token",
                    "token",
                    "refresh_token",
                    "client_id",
                    "client_secret",
                    "token_uri",
                    "expiry_date",
                    "expiry",
                )
            },
        )

    def to_json(self) -> dict[str, Any]:
        """The file's JSON object, in gemini-cli's shape (expiry_date in ms), extras kept."""
        data: dict[str, Any] = dict(self.extra)
        data["access_token"] = self.access_token
        if self.refresh_token is not None:
            data["refresh_token"] = self.refresh_token
        if self.expiry is not None:
            data["expiry_date"] = int(self.expiry * 1000)
        for name in ("client_id", "client_secret", "token_uri"):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        return data

    def expires_within(self, margin: float, now: float) -> bool:
        """Whether the access token is missing, expired or expires within `margin` seconds."""
        return not self.access_token or self.expiry is None or self.expiry - margin <= now


def _parse_expiry(data: Mapping[str, Any]) -> float | None:
    millis = data.get("expiry_date")
    if millis is not None:
        if isinstance(millis, bool) or not isinstance(millis, (int, float)):
            raise OAuthError("OAuth credential field expiry_date must be epoch milliseconds")
        return float(millis) / 1000.0
    expiry = data.get("expiry")
    if expiry is None:
        return None
    if isinstance(expiry, (int, float)) and not isinstance(expiry, bool):
        return float(expiry)
    if isinstance(expiry, str):
        try:
            moment = datetime.fromisoformat(expiry.replace("Z", "+00:00"))
        except ValueError:
            raise OAuthError("OAuth credential field expiry is not an ISO 8601 time") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    raise OAuthError("OAuth credential field expiry must be a time")


def read_token_file(path: Path) -> OAuthToken:
    """Load an OAuth credential file; OAuthError names the file, never its secrets. The type
    is checked before opening: a FIFO nobody writes would block."""
    if path.exists() and not path.is_file():
        kind = "a directory" if path.is_dir() else "not a regular file"
        raise OAuthError(f"OAuth credential file {path} is {kind}")
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise OAuthError(f"OAuth credential file {path} does not exist") from None
    except (OSError, ValueError, RecursionError) as exc:
        raise OAuthError(
            f"OAuth credential file {path} is unreadable: {type(exc).__name__}"
        ) from None
    try:
        return OAuthToken.from_json(data)
    except OAuthError as exc:
        raise OAuthError(f"{path}: {exc}") from None


def write_token_file(path: Path, token: OAuthToken) -> None:
    """Replace the file atomically, so a crash never leaves half a credential behind."""
    payload = json.dumps(token.to_json(), indent=2).encode()
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temp, 0o600)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


async def refresh_access_token(
    client: httpx.AsyncClient,
    token: OAuthToken,
    *,
    token_uri: str | None,
    client_id: str | None,
    client_secret: str | None,
    now: float,
) -> OAuthToken:
    """Exchange the refresh token for a new access token (RFC 6749 §6).

    `token_uri` (from config, so tests can point it at an emulator) wins over the file's;
    the file's client id/secret win over the arguments (defaults from config).
    """
    if not token.refresh_token:
        raise OAuthError("cannot refresh: the credential has no refresh_token")
    client_id = token.client_id or client_id
    client_secret = token.client_secret or client_secret
    if not client_id:
        raise OAuthError("cannot refresh: no client_id in the file or in upstream.oauth_client_id")
    form = {
        "grant_type": "refresh_token",
        "refresh_token": token.refresh_token,
        "client_id": client_id,
    }
    if client_secret:
        form["client_secret"] = client_secret
    uri = token_uri or token.token_uri or GOOGLE_TOKEN_URI
    try:
        response = await client.post(uri, data=form, headers={"accept": "application/json"})
    except httpx.HTTPError as exc:
        raise OAuthError(
            f"token refresh at {uri} failed: {type(exc).__name__}", transient=True
        ) from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200 or not isinstance(body, dict):
        error = body.get("error") if isinstance(body, dict) else None
        raise OAuthError(
            f"token refresh at {uri} answered {response.status_code}"
            + (f" ({error})" if isinstance(error, str) else ""),
            transient=response.status_code == 429 or response.status_code >= 500,
        )
    access = body.get("access_token")
    if not isinstance(access, str) or not access:
        raise OAuthError(f"token refresh at {uri} returned no access_token")
    expires_in = body.get("expires_in")
    expiry = now + float(expires_in) if isinstance(expires_in, (int, float)) else None
    extra = dict(token.extra)
    for name in ("id_token", "scope", "token_type"):
        if isinstance(body.get(name), str):
            extra[name] = body[name]
    new_refresh = body.get("refresh_token")
    return replace(
        token,
        access_token=access,
        refresh_token=new_refresh if isinstance(new_refresh, str) else token.refresh_token,
        expiry=expiry,
        extra=extra,
    )

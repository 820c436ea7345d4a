"""Upstream credentials: Gemini API keys and Code Assist OAuth credentials.

Operations:
    Credential                                   what the scheduler leases and the upstream
        .id / .kind / .refreshable               client authenticates with
        await .auth_headers(client) -> headers   (refreshing an OAuth token first if needed)
        .report_refused(headers)                 the upstream refused these headers: an OAuth
                                                 token is refreshed before its next use
        await .project(client) -> str | None     Code Assist project (None for API keys)
        .describe() -> dict                      for the admin API, secrets masked
        .problem(now) -> str | None              why it cannot serve as configured (an OAuth
                                                 token expired with no way to refresh it)
        .redact(text) -> str                     `text` with this credential's secrets masked
                                                 (Google quotes a refused key in its message)
    ApiKeyCredential(api_key)                    `x-goog-api-key`
    OAuthCredential(path, token_uri=, client_id=, client_secret=, endpoint=, ...)
                                                 `Authorization: Bearer`, refreshed through the
                                                 token endpoint REFRESH_MARGIN s before expiry,
                                                 once for all concurrent callers (a lock), and
                                                 written back to its file atomically
    load_credentials(upstream_config, clock=) -> list[Credential]
    CredentialUnusable                           a credential that cannot authenticate a
                                                 call now, with the upstream answer behind it

Ids are stable across restarts (the store keys health and cooldowns by them) and reveal
nothing: a hash of the API key, or the credential file's name plus a hash of its path.
The HTTP client is a parameter of every call that talks to the network.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

import compat
from server.config import UpstreamConfig, mask_secret
from server.credentials.code_assist_setup import (
    CodeAssistEndpoint,
    CodeAssistSetupError,
    discover_project,
)
from server.credentials.errors import CredentialError
from server.credentials.oauth import (
    OAuthError,
    OAuthToken,
    read_token_file,
    refresh_access_token,
    write_token_file,
)

log = logging.getLogger("compatkit.server.credentials")

REFRESH_MARGIN = 60.0
"""Seconds before expiry at which an access token is refreshed."""


class CredentialUnusable(CredentialError):
    """A credential that could not authenticate a call now: its token refresh or its Code
    Assist setup failed.

    `status` / `error`: the upstream answer behind it, as a generate call would have got it
    (a setup call's status and body; 401 for a refused refresh; 0 when the token endpoint or
    the setup call got no answer). `refresh_refused`: the token endpoint refused the refresh
    token or the client, so refreshing again cannot help.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 401,
        error: compat.GoogleError | None = None,
        refresh_refused: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.refresh_refused = refresh_refused


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:10]


class Credential(ABC):
    """One upstream identity."""

    id: str
    kind: str
    refreshable: bool = False

    @abstractmethod
    async def auth_headers(self, client: httpx.AsyncClient) -> dict[str, str]:
        """Headers that authenticate a request with this credential."""

    def report_refused(self, headers: dict[str, str]) -> None:  # noqa: B027 (optional hook)
        """The upstream refused a request sent with `headers` (a credential without a token to
        refresh has nothing to do)."""

    def redact(self, text: str) -> str:
        """`text` with every secret of this credential masked."""
        return text

    async def project(self, client: httpx.AsyncClient) -> str | None:
        """The Code Assist project to send with requests (None when there is none)."""
        return None

    def describe(self) -> dict[str, Any]:
        """Safe facts for the admin API."""
        return {"id": self.id, "kind": self.kind}

    def problem(self, now: float) -> str | None:
        """Why this credential cannot serve as configured, or None (said at start, /readyz)."""
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id}>"


class ApiKeyCredential(Credential):
    """A Gemini API key."""

    kind = "api_key"

    def __init__(self, api_key: str) -> None:
        if not api_key:
            raise CredentialError("an API key must not be empty")
        self._api_key = api_key
        self.id = f"key-{_short_hash(api_key)}"

    async def auth_headers(self, client: httpx.AsyncClient) -> dict[str, str]:
        """`x-goog-api-key: <key>`."""
        return {"x-goog-api-key": self._api_key}

    def redact(self, text: str) -> str:
        """`text` with the key masked (`***` and its last 4 characters)."""
        return text.replace(self._api_key, mask_secret(self._api_key))

    def describe(self) -> dict[str, Any]:
        """Id, kind and the masked key."""
        return {**super().describe(), "key": mask_secret(self._api_key)}


class OAuthCredential(Credential):
    """A gemini-cli style OAuth credential file for Code Assist."""

    kind = "oauth"
    refreshable = True

    def __init__(
        self,
        path: Path,
        *,
        token_uri: str,
        client_id: str | None = None,
        client_secret: str | None = None,
        endpoint: CodeAssistEndpoint | None = None,
        configured_project: str | None = None,
        onboard_timeout: float = 30.0,
        onboard_poll_interval: float = 5.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self.path = Path(path)
        self.id = f"oauth-{self.path.stem}-{_short_hash(str(self.path.resolve()))[:6]}"
        try:
            self._token: OAuthToken = read_token_file(self.path)
        except OAuthError as exc:
            raise CredentialError(str(exc)) from None
        self._token_uri = token_uri
        self._client_id = client_id
        self._client_secret = client_secret
        self._endpoint = endpoint
        self._configured_project = configured_project
        self._onboard_timeout = onboard_timeout
        self._onboard_poll_interval = onboard_poll_interval
        self._clock = clock
        self._sleep = sleep
        self._refresh_lock = asyncio.Lock()
        self._refused: str | None = None  # an access token the upstream refused
        self._project_lock = asyncio.Lock()
        self._project: str | None = None
        self._project_known = False

    @property
    def token(self) -> OAuthToken:
        """The current token (its repr hides the secrets)."""
        return self._token

    async def auth_headers(self, client: httpx.AsyncClient) -> dict[str, str]:
        """`Authorization: Bearer <access token>`, refreshed first when near expiry or refused.

        Concurrent callers share one refresh: whoever waited on the lock finds the token
        already fresh.
        """
        if self._needs_refresh():
            async with self._refresh_lock:
                if self._needs_refresh():
                    await self._refresh_locked(client)
        return {"Authorization": f"Bearer {self._token.access_token}"}

    def report_refused(self, headers: dict[str, str]) -> None:
        """The upstream refused these headers: refresh before the next use, unless the token
        was refreshed since they were made (requests sent with the old token all report it,
        and one refresh answers them all)."""
        if headers.get("Authorization") == f"Bearer {self._token.access_token}":
            self._refused = self._token.access_token

    def redact(self, text: str) -> str:
        """`text` with the access and refresh tokens masked."""
        for secret in (self._token.access_token, self._token.refresh_token):
            if secret:
                text = text.replace(secret, mask_secret(secret))
        return text

    def _needs_refresh(self) -> bool:
        return self._refused == self._token.access_token or self._token.expires_within(
            REFRESH_MARGIN, self._clock()
        )

    async def _refresh_locked(self, client: httpx.AsyncClient) -> None:
        refused = self._refused == self._token.access_token
        log.debug(
            "token refresh for %s: %s",
            self.id,
            "the upstream refused the access token" if refused else "the access token expires",
        )
        try:
            token = await refresh_access_token(
                client,
                self._token,
                token_uri=self._token_uri,
                client_id=self._client_id,
                client_secret=self._client_secret,
                now=self._clock(),
            )
        except OAuthError as exc:
            log.debug("token refresh for %s failed: %s", self.id, self.redact(str(exc)))
            raise CredentialUnusable(
                f"{self.id}: {exc}",
                status=0 if exc.transient else 401,
                refresh_refused=not exc.transient,
            ) from None
        self._token = token
        self._refused = None
        expiry = (
            "no expiry"
            if token.expiry is None
            else f"expires in {token.expiry - self._clock():.0f}s"
        )
        log.debug("token refreshed for %s: %s", self.id, expiry)
        try:
            await asyncio.to_thread(write_token_file, self.path, token)
        except OSError as exc:
            # The new token works in memory; the file catches up on the next refresh.
            log.warning("%s: could not write back %s: %s", self.id, self.path, exc.strerror)

    async def project(self, client: httpx.AsyncClient) -> str | None:
        """The Code Assist project, found once through loadCodeAssist / onboardUser."""
        if self._project_known:
            return self._project
        async with self._project_lock:
            if not self._project_known:
                if self._endpoint is None:
                    self._project = self._configured_project
                else:
                    self._project = await self._discover(client)
                self._project_known = True
        return self._project

    async def _discover(self, client: httpx.AsyncClient) -> str | None:
        assert self._endpoint is not None
        headers = await self.auth_headers(client)
        try:
            return await discover_project(
                client,
                self._endpoint,
                headers,
                configured_project=self._configured_project,
                poll_interval=self._onboard_poll_interval,
                timeout=self._onboard_timeout,
                sleep=self._sleep,
                credential_id=self.id,
            )
        except CodeAssistSetupError as exc:
            raise CredentialUnusable(
                f"{self.id}: Code Assist setup: {exc}", status=exc.status, error=exc.error
            ) from None

    def problem(self, now: float) -> str | None:
        """An expired access token that cannot be refreshed: no refresh token, or no client id
        (neither in the file nor upstream.oauth_client_id)."""
        if not self._token.expires_within(0.0, now):
            return None
        if not self._token.refresh_token:
            return f"{self.id}: the access token expired and {self.path} has no refresh_token"
        if not (self._token.client_id or self._client_id):
            return (
                f"{self.id}: the access token expired and no OAuth client id is configured to "
                f"refresh it (set upstream.oauth_client_id, COMPATKIT_OAUTH_CLIENT_ID)"
            )
        return None

    def describe(self) -> dict[str, Any]:
        """Id, kind, file, expiry and project (when known)."""
        return {
            **super().describe(),
            "file": str(self.path),
            "expiry": self._token.expiry,
            "project": self._project,
        }


def load_credentials(
    upstream: UpstreamConfig, *, clock: Callable[[], float] = time.time
) -> list[Credential]:
    """The credentials the config names; CredentialError for an unusable OAuth file."""
    if upstream.kind == "gemini":
        return [ApiKeyCredential(key) for key in upstream.api_keys]
    endpoint = CodeAssistEndpoint(upstream.code_assist_base_url, upstream.code_assist_api_version)
    return [
        OAuthCredential(
            path,
            token_uri=upstream.oauth_token_uri,
            client_id=upstream.oauth_client_id,
            client_secret=upstream.oauth_client_secret,
            endpoint=endpoint,
            configured_project=upstream.project,
            onboard_timeout=upstream.onboard_timeout,
            onboard_poll_interval=upstream.onboard_poll_interval,
            clock=clock,
        )
        for path in upstream.oauth_files
    ]

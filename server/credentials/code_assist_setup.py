"""Code Assist user setup: find (or create by onboarding) the project a credential works in.

Operations:
    CodeAssistEndpoint(base_url, api_version)      `.method_url(name)`, `.operation_url(name)`
    project_id_from(value) -> str | None           the project id from any shape seen in the
                                                   wild: "my-proj", {"id": ..., "name": ...},
                                                   "projects/my-proj/locations/global"
    discover_project(client, endpoint, headers, configured_project=, poll_interval=,
                     timeout=, sleep=, clock=, credential_id=) -> str | None
                                                   (each step a debug line naming the
                                                   credential)
    CodeAssistSetupError                           a setup call failed or never finished;
                                                   `.status` / `.error`: the upstream answer

Plan (gemini-cli `setup.ts`): `loadCodeAssist`; a user with a `currentTier` is set up, and
the project is the one returned, else the configured one. Otherwise `onboardUser` with the
default allowed tier (free-tier: the project is omitted, or the server answers Precondition
Failed); the answer is a long-running operation, polled with `GET /{version}/{name}` until
`done` or `timeout`: first after FIRST_POLL_DELAY seconds, each wait then doubling up to
`poll_interval` (gemini-cli waits the full 5 s before its first poll; an operation that is
done at once, as the emulator's is, then costs the first request half a second, not five). A free-tier user may end with no project
(None): requests then carry none.

Sleeping and the clock are parameters so tests never wait.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

import compat
from server.credentials.errors import CredentialError

log = logging.getLogger("compatkit.server.credentials")

FIRST_POLL_DELAY = 0.5
"""Seconds before the first poll of the onboarding operation; later waits double."""

FREE_TIER = "free-tier"
LEGACY_TIER = "legacy-tier"

_METADATA = {
    "ideType": "IDE_UNSPECIFIED",
    "platform": "PLATFORM_UNSPECIFIED",
    "pluginType": "GEMINI",
}


class CodeAssistSetupError(CredentialError):
    """loadCodeAssist / onboardUser failed, or onboarding did not finish in time.

    `status` is the failed call's HTTP status (0 when it got none: unreachable, no answer in
    time) and `error` its parsed body, so a caller tells a refused token (401) from a
    passing outage (503) as it would for a generate call.
    """

    def __init__(
        self, message: str, *, status: int = 0, error: compat.GoogleError | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error


@dataclass(frozen=True, slots=True)
class CodeAssistEndpoint:
    """Where the Code Assist API lives (`https://cloudcode-pa.googleapis.com`, `v1internal`)."""

    base_url: str
    api_version: str = "v1internal"

    def method_url(self, method: str) -> str:
        """`{base}/{version}:{method}`, e.g. `.../v1internal:loadCodeAssist`."""
        return f"{self.base_url.rstrip('/')}/{self.api_version}:{method}"

    def operation_url(self, name: str) -> str:
        """`{base}/{version}/{operation name}` for getOperation."""
        return f"{self.base_url.rstrip('/')}/{self.api_version}/{name.lstrip('/')}"


def project_id_from(value: Any) -> str | None:
    """The project id in `cloudaicompanionProject`, whatever its shape; None if absent."""
    if isinstance(value, Mapping):
        value = value.get("id") or value.get("projectId") or value.get("name")
    if not isinstance(value, str) or not value.strip():
        return None
    text: str = value.strip()
    if text.startswith("projects/"):
        parts = text.split("/")
        return parts[1] or None
    return text


async def discover_project(
    client: httpx.AsyncClient,
    endpoint: CodeAssistEndpoint,
    headers: Mapping[str, str],
    *,
    configured_project: str | None = None,
    poll_interval: float = 5.0,
    timeout: float = 30.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
    credential_id: str = "-",
) -> str | None:
    """Run the setup flow for one credential (auth `headers`) and return its project id."""
    load_body: dict[str, Any] = {"metadata": _metadata(configured_project)}
    if configured_project:
        load_body["cloudaicompanionProject"] = configured_project
    _step(credential_id, "loadCodeAssist (configured project: %s)", configured_project or "none")
    loaded = await _post(client, endpoint, "loadCodeAssist", load_body, headers)
    if loaded.get("currentTier"):
        project = project_id_from(loaded.get("cloudaicompanionProject")) or configured_project
        _step(credential_id, "already set up: tier present, project %s", project or "none")
        return project
    tier = _onboard_tier(loaded)
    _step(credential_id, "no current tier: onboardUser with tier %s", tier)
    onboard_body: dict[str, Any] = {"tierId": tier}
    if tier == FREE_TIER:
        onboard_body["metadata"] = _metadata(None)
    else:
        onboard_body["cloudaicompanionProject"] = configured_project
        onboard_body["metadata"] = _metadata(configured_project)
    operation = await _post(client, endpoint, "onboardUser", onboard_body, headers)
    operation = await _wait_done(
        client,
        endpoint,
        headers,
        operation,
        onboard_body,
        poll_interval,
        timeout,
        sleep,
        clock,
        credential_id,
    )
    response = operation.get("response")
    found = (
        project_id_from(response.get("cloudaicompanionProject"))
        if isinstance(response, Mapping)
        else None
    )
    _step(credential_id, "onboarded: project %s", found or configured_project or "none")
    return found or configured_project


def _step(credential_id: str, message: str, *args: object) -> None:
    log.debug("Code Assist setup for %s: " + message, credential_id, *args)


def _metadata(project: str | None) -> dict[str, str]:
    return {**_METADATA, "duetProject": project} if project else dict(_METADATA)


def _onboard_tier(loaded: Mapping[str, Any]) -> str:
    """The allowed tier marked default, else legacy-tier (as setup.ts does)."""
    tiers = loaded.get("allowedTiers")
    if isinstance(tiers, list):
        for tier in tiers:
            if (
                isinstance(tier, Mapping)
                and tier.get("isDefault")
                and isinstance(tier.get("id"), str)
            ):
                return str(tier["id"])
    return LEGACY_TIER


async def _wait_done(
    client: httpx.AsyncClient,
    endpoint: CodeAssistEndpoint,
    headers: Mapping[str, str],
    operation: dict[str, Any],
    onboard_body: dict[str, Any],
    poll_interval: float,
    timeout: float,
    sleep: Callable[[float], Awaitable[None]],
    clock: Callable[[], float],
    credential_id: str,
) -> dict[str, Any]:
    """Poll the onboarding operation until done; re-ask onboardUser if it has no name."""
    deadline = clock() + timeout
    delay = min(FIRST_POLL_DELAY, poll_interval)
    while not operation.get("done"):
        if clock() + delay > deadline:
            raise CodeAssistSetupError(f"onboarding did not finish within {timeout:g}s")
        await sleep(delay)
        name = operation.get("name")
        if isinstance(name, str) and name:
            _step(credential_id, "onboarding not done after %gs: polling %s", delay, name)
            operation = await _get(client, endpoint.operation_url(name), headers)
        else:
            _step(credential_id, "onboarding not done after %gs: onboardUser again", delay)
            operation = await _post(client, endpoint, "onboardUser", onboard_body, headers)
        delay = min(delay * 2, poll_interval)
    if isinstance(operation.get("error"), Mapping):
        message = operation["error"].get("message", "unknown error")
        raise CodeAssistSetupError(f"onboarding failed: {message}")
    return operation


async def _post(
    client: httpx.AsyncClient,
    endpoint: CodeAssistEndpoint,
    method: str,
    body: Mapping[str, Any],
    headers: Mapping[str, str],
) -> dict[str, Any]:
    try:
        response = await client.post(endpoint.method_url(method), json=body, headers=dict(headers))
    except httpx.HTTPError as exc:
        raise CodeAssistSetupError(f"{method} failed: {type(exc).__name__}") from None
    return _json_object(response, method)


async def _get(client: httpx.AsyncClient, url: str, headers: Mapping[str, str]) -> dict[str, Any]:
    try:
        response = await client.get(url, headers=dict(headers))
    except httpx.HTTPError as exc:
        raise CodeAssistSetupError(f"getOperation failed: {type(exc).__name__}") from None
    return _json_object(response, "getOperation")


def _json_object(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200:
        error = compat.parse_google_error(response.status_code, response.content)
        message = ""
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            message = str(body["error"].get("message", ""))
        raise CodeAssistSetupError(
            f"{what} answered {response.status_code}" + (f": {message}" if message else ""),
            status=response.status_code,
            error=error,
        )
    if not isinstance(body, dict):
        raise CodeAssistSetupError(f"{what} answered with a body that is not a JSON object")
    return body

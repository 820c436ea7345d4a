"""One upstream attempt: one HTTP exchange with one leased credential.

Operations:
    Attempt(surface, transports, call, lease, number)
        await .send() -> httpx.Response   the response of a 2xx answer, its body unread;
                                          anything else raises AttemptFailed
        await .close()                    release the connection (and the baseline arm's
                                          per-attempt transport)
    AttemptFailed(outcome, message)       a failed attempt, as a `retry_policy.UpstreamOutcome`
    TurnFailed(error, usage)              the upstream answered, but its turn failed
                                          (compat.turn_failure): not retried here
    await read_capped(response, limit) -> bytes
    transport_message(exc) -> str         a transport error as the client is told it

Plan: authenticate (an OAuth token may be refreshed first, and a Code Assist credential set
up), wrap the body for the surface, send it on the arm's transport; a non-2xx answer has its
error body read (capped) and parsed by compat into the outcome the retry policy decides on. A
failed setup or refresh is an outcome like any other: its own status and error (a refused
token is a 401 wherever it was refused). Messages pass through the credential's `redact`:
Google quotes a refused key in its message.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx

import compat
from server.credentials.credential import Credential, CredentialUnusable
from server.credentials.scheduler import Lease
from server.upstream.call import UpstreamCall
from server.upstream.errors import UpstreamError
from server.upstream.retry_policy import UpstreamOutcome
from server.upstream.surfaces import Surface
from server.upstream.transports import Transports

MAX_ERROR_BODY_BYTES = 1 << 20


class AttemptFailed(UpstreamError):
    """One attempt failed; `outcome` is what the retry policy decides on."""

    def __init__(self, outcome: UpstreamOutcome, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.message = message


class TurnFailed(UpstreamError):
    """The attempt succeeded (the credential served), but the model's turn failed: Gemini
    ended it on MALFORMED_FUNCTION_CALL before anything reached the client. Not retried by
    the proxy: a client that wants another sample asks again (the SDKs retry a 5xx), and a
    proxy retry would multiply full generations with the client's."""

    def __init__(self, error: compat.GoogleError, usage: dict[str, Any] | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.usage = usage or {}


class Attempt:
    """One HTTP exchange with one leased credential; owns its response until finished."""

    def __init__(
        self,
        surface: Surface,
        transports: Transports,
        call: UpstreamCall,
        lease: Lease,
        number: int,
    ) -> None:
        self.surface = surface
        self.transports = transports
        self.number = number
        self.call = call
        self.lease = lease
        self.pooled = call.flags.ff_http2_pool_tuning
        self.transport: httpx.AsyncBaseTransport | None = None
        self.response: httpx.Response | None = None
        self.headers: dict[str, str] = {}  # the credential's, as sent (report_refused)

    async def send(self) -> httpx.Response:
        """Send the call; a non-2xx answer or a transport error raises AttemptFailed."""
        credential = self.lease.credential
        transports = self.transports
        control = transports.control
        try:
            self.headers = await credential.auth_headers(control)
            project = await credential.project(control)
        except CredentialUnusable as exc:
            message = credential.redact(str(exc))
            error = exc.error
            if error is not None:
                error = replace(error, message=credential.redact(error.message))
            elif exc.status:  # a refused refresh: no upstream body, the reason is ours
                error = compat.GoogleError(exc.status, "UNAUTHENTICATED", message)
            outcome = UpstreamOutcome(
                status=exc.status,
                error=error,
                refreshable=credential.refreshable and not exc.refresh_refused,
            )
            raise AttemptFailed(outcome, message) from None
        headers = {**self.headers, "content-type": "application/json"}
        body = compat.dumps(self.surface.body(self.call, project))
        self.transport = transports.pooled if self.pooled else transports.new_transport()
        request = transports.request(self.surface.url(self.call), body, headers)
        try:
            response = await self.transport.handle_async_request(request)
            response.request = request
        except httpx.TimeoutException as exc:
            raise AttemptFailed(UpstreamOutcome(status=0), transport_message(exc)) from None
        except httpx.HTTPError as exc:
            raise AttemptFailed(UpstreamOutcome(status=0), transport_message(exc)) from None
        self.response = response
        if response.status_code >= 300:
            await self._fail_with_body(response, credential)
        return response

    async def _fail_with_body(self, response: httpx.Response, credential: Credential) -> None:
        try:
            body = await read_capped(response, MAX_ERROR_BODY_BYTES)
        except httpx.HTTPError:
            body = b""
        error = compat.parse_google_error(response.status_code, body)
        error = replace(error, message=credential.redact(error.message))
        outcome = UpstreamOutcome(
            status=response.status_code,
            error=error,
            retry_after=_retry_after(response.headers.get("retry-after")),
            refreshable=credential.refreshable,
        )
        raise AttemptFailed(outcome, error.message)

    async def close(self) -> None:
        """Release the connection (and the per-attempt client of the baseline arm)."""
        if self.response is not None:
            await self.response.aclose()
        if self.transport is not None and not self.pooled:
            await self.transport.aclose()


async def read_capped(response: httpx.Response, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    return b"".join(chunks)


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def transport_message(exc: httpx.HTTPError) -> str:
    """`upstream <what failed> (<exception>: <detail>)`: what failed in words (`connect
    refused`, `timed out`, ...), then httpx's own account."""
    detail = str(exc).strip()
    return f"upstream {_what_failed(exc, detail)} ({type(exc).__name__}{': ' + detail[:200] if detail else ''})"


def _what_failed(exc: httpx.HTTPError, detail: str) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return "connect timed out"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError):
        refused = "Errno 111" in detail or "refused" in detail.lower()
        return "connect refused" if refused else "connect failed"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
        return "connection dropped"
    return "unreachable"

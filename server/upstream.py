"""The upstream client: one client request becomes one or more upstream attempts.

Operations:
    Upstream(config, board, schedulers, metrics, ...)   one per app; `await .aclose()` at shutdown
    await upstream.generate(call) -> dict              generateContent / countTokens, JSON body
                                                       (Code Assist envelope already unwrapped)
    await upstream.open_stream(call, new_translator) -> OpenStream
                                                       streamGenerateContent, returned once the
                                                       translator has produced its first events
    OpenStream.first_events / .translator / .chunks() / await .finish(...)
    UpstreamCall(model, method, request, flags, started_at)
    UpstreamTimeouts, POOL_LIMITS

Goals:
    - Both arms of `ff_http2_pool_tuning`: on, one long-lived pooled HTTP/2 `httpx.AsyncClient`
      per upstream with tuned limits; off, a new HTTP/1.1 client per attempt (the baseline).
    - Both surfaces: the Gemini API (`/v1beta/models/{model}:{method}`, `x-goog-api-key`) and
      Code Assist (`/{version}:{method}`, the `{model, project, request}` envelope, OAuth).
    - One retry layer, the loop of `server.retry`'s plan: the policy of the request's flags
      decides, the scheduler of the request's flags leases credentials and counts outcomes.
    - A stream attempt counts as started only when the translator emitted its first event
      (`message_start`, or the first OpenAI chunk), so everything before it (an HTTP error,
      an error object as first chunk, a connection dropped before any byte) is still retried
      or answered with a proper HTTP status; nothing is retried after that.
Plan: `_Attempt` is one HTTP exchange; a failure becomes a `retry.UpstreamOutcome` carried by
`_AttemptFailed`; the loop in `_run` decides, sleeps, re-leases; the last failure becomes a
`ProxyError` in the client's vocabulary.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import httpx

import compat
from server.asyncio_network import pool_transport
from server.config import Config as ProxyConfig
from server.config import UpstreamConfig
from server.credentials import Credential, CredentialError
from server.errors import ProxyError
from server.flags import Flags
from server.metrics import ProxyMetrics
from server.retry import OutcomeKind, RetryDecision, UpstreamOutcome, outcome_kind, retry_policy
from server.scheduler import Lease, NoCredentialAvailable, RandomScheduler, Schedulers

log = logging.getLogger("compatkit.server.upstream")
_T = TypeVar("_T")

POOL_LIMITS = httpx.Limits(
    max_connections=512, max_keepalive_connections=128, keepalive_expiry=120.0
)
"""Pooled arm: HTTP/2 multiplexes streams, so few connections serve many requests; the
ceiling only bounds a burst of new connections while the first handshakes are in flight."""

_env_proxies = bool(urllib.request.getproxies())  # what httpx's trust_env would act on

MAX_ERROR_BODY_BYTES = 1 << 20
MAX_REPLY_BYTES = 64 << 20


@dataclass(frozen=True, slots=True)
class UpstreamTimeouts:
    """Seconds. `read` is the longest upstream silence tolerated inside a reply."""

    connect: float = 10.0
    read: float = 300.0
    write: float = 30.0
    pool: float = 30.0

    def httpx(self) -> httpx.Timeout:
        return httpx.Timeout(connect=self.connect, read=self.read, write=self.write, pool=self.pool)


@dataclass(frozen=True, slots=True)
class UpstreamCall:
    """What to ask upstream. `request` is a Gemini request (`compat.to_gemini_request`);
    `started_at` is the monotonic time the client request arrived (the retry deadline)."""

    model: str
    method: str  # generateContent | streamGenerateContent | countTokens
    request: dict[str, Any]
    flags: Flags
    started_at: float


class Translator(Protocol):
    """What the stream path needs of compat's StreamTranslator / OpenAIStreamTranslator."""

    @property
    def started(self) -> bool: ...
    @property
    def finished(self) -> bool: ...
    def feed(self, data: bytes) -> list[dict[str, Any]]: ...
    def close(self) -> list[dict[str, Any]]: ...


def translator_error(translator: Translator) -> compat.GoogleError | None:
    """The upstream error a translator ended with (the two translators name it differently)."""
    error = getattr(translator, "error", None) or getattr(translator, "upstream_error", None)
    return error if isinstance(error, compat.GoogleError) else None


class UpstreamBroken(Exception):
    """The upstream connection failed in the middle of a stream already sent to the client."""


class _AttemptFailed(Exception):
    def __init__(self, outcome: UpstreamOutcome, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.message = message


# --- surfaces: where a call goes and how its body is wrapped ---------------------------------


class _Surface:
    """The Gemini API: `{base}/v1beta/models/{model}:{method}`."""

    def __init__(self, base_url: str) -> None:
        self._base = base_url.rstrip("/")

    def url(self, call: UpstreamCall) -> str:
        suffix = "?alt=sse" if call.method == "streamGenerateContent" else ""
        return f"{self._base}/v1beta/models/{call.model}:{call.method}{suffix}"

    def body(self, call: UpstreamCall, project: str | None) -> dict[str, Any]:
        if call.method == "countTokens":
            return {"generateContentRequest": {"model": f"models/{call.model}", **call.request}}
        return call.request

    def unwrap(self, reply: Any) -> dict[str, Any]:
        return reply if isinstance(reply, dict) else {}


class _CodeAssistSurface(_Surface):
    """Code Assist: `{base}/{version}:{method}` with the `{model, project, request}` envelope."""

    def __init__(self, base_url: str, api_version: str) -> None:
        super().__init__(base_url)
        self._version = api_version
        self._session_id = str(uuid.uuid4())

    def url(self, call: UpstreamCall) -> str:
        suffix = "?alt=sse" if call.method == "streamGenerateContent" else ""
        return f"{self._base}/{self._version}:{call.method}{suffix}"

    def body(self, call: UpstreamCall, project: str | None) -> dict[str, Any]:
        if call.method == "countTokens":
            contents = call.request.get("contents", [])
            return {"request": {"model": f"models/{call.model}", "contents": contents}}
        envelope: dict[str, Any] = {
            "model": call.model,
            "user_prompt_id": uuid.uuid4().hex,
            "request": {**call.request, "session_id": self._session_id},
        }
        if project:
            envelope["project"] = project
        return envelope

    def unwrap(self, reply: Any) -> dict[str, Any]:
        if isinstance(reply, dict) and "response" in reply and "candidates" not in reply:
            inner = reply["response"]
            return inner if isinstance(inner, dict) else {}
        return reply if isinstance(reply, dict) else {}


def _surface_for(config: UpstreamConfig) -> _Surface:
    if config.kind == "code_assist":
        return _CodeAssistSurface(config.code_assist_base_url, config.code_assist_api_version)
    return _Surface(config.gemini_base_url)


# --- transport: the two arms of ff_http2_pool_tuning ------------------------------------------


class _Transport:
    """Both arms' httpx transports (the pooled HTTP/2 one, a fresh HTTP/1.1 one per attempt)
    and a control client for token refreshes and Code Assist setup (rare; in neither arm).

    Attempts go straight to a transport (`send`): httpx's client layers (auth and redirect
    flows, cookie jar, event hooks) do nothing for the proxy and cost ~0.1 ms per request.
    The transports run on the loop's own sockets (`server.asyncio_network`) unless proxy
    environment variables ask for httpx's proxy support. Each arm has its own TLS context:
    httpcore sets the context's ALPN protocols on every connect.
    """

    def __init__(
        self, verify: Callable[[], ssl.SSLContext | bool], timeouts: UpstreamTimeouts
    ) -> None:
        self._verify = {True: verify(), False: verify()}  # by arm: pooled HTTP/2 or not
        self._timeout = timeouts.httpx()
        self._extensions = {"timeout": self._timeout.as_dict()}
        self._pooled: httpx.AsyncBaseTransport | None = None
        self._control: httpx.AsyncClient | None = None

    @property
    def control(self) -> httpx.AsyncClient:
        if self._control is None:
            self._control = httpx.AsyncClient(timeout=self._timeout, verify=self._verify[False])
        return self._control

    @property
    def pooled(self) -> httpx.AsyncBaseTransport:
        if self._pooled is None:
            self._pooled = self._transport(http2=True, limits=POOL_LIMITS)
        return self._pooled

    def new_transport(self) -> httpx.AsyncBaseTransport:
        """The baseline arm: a fresh HTTP/1.1 transport, closed after its one exchange."""
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=0)
        return self._transport(http2=False, limits=limits)

    def _transport(self, *, http2: bool, limits: httpx.Limits) -> httpx.AsyncBaseTransport:
        verify = self._verify[http2]
        if _env_proxies:
            client = httpx.AsyncClient(
                http2=http2, limits=limits, timeout=self._timeout, verify=verify
            )
            return _ClientTransport(client)
        return pool_transport(http2=http2, limits=limits, verify=verify)

    def request(self, url: str, body: bytes, headers: dict[str, str]) -> httpx.Request:
        """A POST with httpx's default headers and the upstream timeouts."""
        return httpx.Request(
            "POST", url, content=body, headers={**_DEFAULT_HEADERS, **headers},
            extensions=self._extensions,
        )  # fmt: skip

    async def aclose(self) -> None:
        if self._pooled is not None:
            await self._pooled.aclose()
        if self._control is not None:
            await self._control.aclose()
        self._pooled = self._control = None


_DEFAULT_HEADERS = {
    "accept": "*/*",
    "accept-encoding": "gzip, deflate",
    "user-agent": f"python-httpx/{httpx.__version__}",
}
"""What an httpx client would have added to each upstream request."""


class _ClientTransport(httpx.AsyncBaseTransport):
    """A full httpx client seen as a transport (environment proxies, NO_PROXY)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._client.send(request, stream=True)

    async def aclose(self) -> None:
        await self._client.aclose()


def _ssl_verify(config: UpstreamConfig) -> ssl.SSLContext | bool:
    context = ssl.create_default_context()
    if config.ca_file is not None:
        context.load_verify_locations(cafile=str(config.ca_file))
    return context


# --- one attempt ------------------------------------------------------------------------------


class _Attempt:
    """One HTTP exchange with one leased credential; owns its response until finished."""

    def __init__(self, upstream: Upstream, call: UpstreamCall, lease: Lease, number: int) -> None:
        self.upstream = upstream
        self.number = number
        self.call = call
        self.lease = lease
        self.pooled = call.flags.ff_http2_pool_tuning
        self.transport: httpx.AsyncBaseTransport | None = None
        self.response: httpx.Response | None = None

    async def send(self) -> httpx.Response:
        """Send the call; a non-2xx answer or a transport error raises _AttemptFailed."""
        upstream = self.upstream
        credential = self.lease.credential
        control = upstream.transport.control
        try:
            headers = await credential.auth_headers(control)
            project = await credential.project(control)
        except CredentialError as exc:
            raise _AttemptFailed(UpstreamOutcome(status=401), str(exc)) from None
        headers["content-type"] = "application/json"
        body = compat.dumps(upstream.surface.body(self.call, project))
        transports = upstream.transport
        self.transport = transports.pooled if self.pooled else transports.new_transport()
        request = transports.request(upstream.surface.url(self.call), body, headers)
        try:
            response = await self.transport.handle_async_request(request)
            response.request = request
        except httpx.TimeoutException as exc:
            raise _AttemptFailed(UpstreamOutcome(status=0), _transport_message(exc)) from None
        except httpx.HTTPError as exc:
            raise _AttemptFailed(UpstreamOutcome(status=0), _transport_message(exc)) from None
        self.response = response
        if response.status_code >= 300:
            await self._fail_with_body(response, credential)
        return response

    async def _fail_with_body(self, response: httpx.Response, credential: Credential) -> None:
        try:
            body = await _read_capped(response, MAX_ERROR_BODY_BYTES)
        except httpx.HTTPError:
            body = b""
        error = compat.parse_google_error(response.status_code, body)
        outcome = UpstreamOutcome(
            status=response.status_code,
            error=error,
            retry_after=_retry_after(response.headers.get("retry-after")),
            refreshable=credential.refreshable,
        )
        raise _AttemptFailed(outcome, error.message)

    async def close(self) -> None:
        """Release the connection (and the per-attempt client of the baseline arm)."""
        if self.response is not None:
            await self.response.aclose()
        if self.transport is not None and not self.pooled:
            await self.transport.aclose()


async def _read_capped(response: httpx.Response, limit: int) -> bytes:
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


def _transport_message(exc: httpx.HTTPError) -> str:
    detail = str(exc).strip()
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "unreachable"
    return f"upstream {kind} ({type(exc).__name__}{': ' + detail[:200] if detail else ''})"


# --- the open stream handed to the route --------------------------------------------------------


class OpenStream:
    """An upstream stream whose first events are ready; the route sends them, then the rest."""

    def __init__(
        self,
        attempt: _Attempt,
        iterator: AsyncIterator[bytes],
        translator: Translator,
        first_events: list[dict[str, Any]],
        scheduler: RandomScheduler,
    ) -> None:
        self.translator = translator
        self.first_events = first_events
        self.credential_id = attempt.lease.credential.id
        self._attempt = attempt
        self._iterator = iterator
        self._scheduler = scheduler
        self._finished = False
        self.spawn = attempt.upstream.spawn

    async def next_chunk(self) -> bytes | None:
        """The next upstream bytes, None at the end; UpstreamBroken if the connection fails."""
        try:
            return await self._iterator.__anext__()
        except StopAsyncIteration:
            return None
        except httpx.HTTPError as exc:
            raise UpstreamBroken(_transport_message(exc)) from None

    async def finish(self, *, ok: bool, input_tokens: int = 0, output_tokens: int = 0) -> None:
        """Close the upstream response and return the credential's lease (idempotent)."""
        if self._finished:
            return
        self._finished = True
        try:
            await self._attempt.close()
        finally:
            kind = OutcomeKind.SUCCESS if ok else OutcomeKind.ERROR
            await self._scheduler.release(
                self._attempt.lease,
                kind,
                error=None if ok else "stream broken after it started",
                input_tokens=input_tokens,
                output_tokens=output_tokens,
            )


# --- the client --------------------------------------------------------------------------------


class Upstream:
    """All upstream traffic of one app: surfaces, transports, the attempt loop."""

    def __init__(
        self,
        config: ProxyConfig,
        upstream_config: UpstreamConfig,
        schedulers: Schedulers,
        metrics: ProxyMetrics,
        *,
        timeouts: UpstreamTimeouts | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.config = config
        self.surface = _surface_for(upstream_config)
        self.transport = _Transport(
            lambda: _ssl_verify(upstream_config), timeouts or UpstreamTimeouts()
        )
        self.schedulers = schedulers
        self.metrics = metrics
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._background: set[asyncio.Task[None]] = set()

    def spawn(self, work: Awaitable[None]) -> None:
        """Run cleanup work after a response went out, without delaying the client."""
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def aclose(self) -> None:
        """Finish background cleanups, close the clients."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        await self.transport.aclose()

    async def generate(self, call: UpstreamCall) -> dict[str, Any]:
        """A non-stream call (generateContent, countTokens): the decoded upstream reply."""

        async def complete(attempt: _Attempt, response: httpx.Response) -> dict[str, Any]:
            try:
                raw = await _read_capped(response, MAX_REPLY_BYTES)
            except httpx.HTTPError as exc:
                raise _AttemptFailed(UpstreamOutcome(status=0), _transport_message(exc)) from None
            try:
                reply = self.surface.unwrap(compat.loads(raw))
            except compat.JSONError:
                error = compat.parse_google_error(502, b"upstream reply is not valid JSON")
                raise _AttemptFailed(
                    UpstreamOutcome(status=502, error=error), error.message
                ) from None
            await attempt.close()
            usage = reply.get("usageMetadata") or {}
            await self._release_success(attempt, usage)
            return reply

        return await self._run(call, complete)

    async def open_stream(
        self, call: UpstreamCall, new_translator: Callable[[], Translator]
    ) -> OpenStream:
        """A streamGenerateContent call, returned once its translator produced events."""

        async def start(attempt: _Attempt, response: httpx.Response) -> OpenStream:
            translator = new_translator()
            iterator = response.aiter_bytes().__aiter__()
            events: list[dict[str, Any]] = []
            while not events:
                try:
                    data = await iterator.__anext__()
                except StopAsyncIteration:
                    events = translator.close()
                    break
                except httpx.HTTPError as exc:
                    outcome = UpstreamOutcome(status=0)
                    raise _AttemptFailed(outcome, _transport_message(exc)) from None
                events = translator.feed(data)
            if not translator.started:
                error = translator_error(translator) or compat.parse_google_error(502, b"")
                outcome = UpstreamOutcome(status=error.http_status, error=error)
                raise _AttemptFailed(outcome, error.message)
            return OpenStream(attempt, iterator, translator, events, self._scheduler_of(attempt))

        return await self._run(call, start)

    # --- the retry loop ---------------------------------------------------------------------

    def _scheduler_for(self, call: UpstreamCall) -> RandomScheduler:
        scarce = self.config.models.is_scarce(call.model)
        return self.schedulers.for_request(call.flags, scarce=scarce)

    def _scheduler_of(self, attempt: _Attempt) -> RandomScheduler:
        return self._scheduler_for(attempt.call)

    async def _run(
        self,
        call: UpstreamCall,
        complete: Callable[[_Attempt, httpx.Response], Awaitable[_T]],
    ) -> _T:
        policy = retry_policy(call.flags, self.config.retry, self._rng)
        scheduler = self._scheduler_for(call)
        tried: set[str] = set()
        attempt_number = 1
        # v2 may wait for a cooling credential (up to one backoff cap); v1 never waits.
        first_wait = self.config.retry.max_delay if call.flags.ff_retry_policy_v2 else 0.0
        lease = await self._acquire(scheduler, call, exclude=(), max_wait=first_wait)
        while True:
            if lease.wait > 0:
                await self._sleep(lease.wait)
            attempt = _Attempt(self, call, lease, attempt_number)
            labels = (lease.credential.id, call.model)
            if attempt_number > 1:
                self.metrics.upstream_retries.labels(*labels).inc()
            try:
                response = await attempt.send()
                result = await complete(attempt, response)
            except _AttemptFailed as failed:
                failure = failed
                await attempt.close()
                decision = await self._settle_failure(policy, scheduler, call, attempt, failure)
                if not decision.retry:
                    raise _client_error(failure) from None
            except BaseException:
                # Client gone (cancelled) or a bug: free the connection and the lease, which
                # says nothing about the credential's health.
                await attempt.close()
                await scheduler.release(lease, OutcomeKind.CANCELLED)
                raise
            else:
                self.metrics.upstream_attempts.labels(*labels, "success").inc()
                return result
            log.info("upstream retry %d for %s: %s", attempt_number, call.model, decision.reason)
            await self._sleep(decision.delay)
            attempt_number += 1
            tried.add(lease.credential.id)
            if not decision.rotate:  # the same credential again (v1 always; v2 after a wait)
                lease = self.schedulers.board.open_lease(lease.credential, call.model)
                continue
            remaining = self.config.retry.deadline - (time.monotonic() - call.started_at)
            max_wait = max(0.0, min(self.config.retry.max_delay, remaining))
            try:
                lease = await scheduler.acquire(call.model, exclude=tried, max_wait=max_wait)
            except NoCredentialAvailable as exc:
                raise _client_error(failure, exc.retry_after) from None

    async def _settle_failure(
        self,
        policy: Any,
        scheduler: RandomScheduler,
        call: UpstreamCall,
        attempt: _Attempt,
        failure: _AttemptFailed,
    ) -> RetryDecision:
        outcome = failure.outcome
        elapsed = time.monotonic() - call.started_at
        decision: RetryDecision = policy.decide(outcome, attempt=attempt.number, elapsed=elapsed)
        kind = outcome_kind(outcome)
        credential = attempt.lease.credential
        labels = (credential.id, call.model)
        self.metrics.upstream_attempts.labels(*labels, str(kind)).inc()
        if kind is OutcomeKind.CAPACITY:
            self.metrics.upstream_capacity_errors.labels(*labels).inc()
        elif outcome.status == 429:
            self.metrics.upstream_rate_limited.labels(*labels).inc()
        await scheduler.release(
            attempt.lease,
            kind,
            cooldown=decision.cooldown,
            disable=decision.disable,
            error=failure.message[:200],
        )
        if decision.refresh:
            try:
                await credential.refresh(self.transport.control)
            except CredentialError as exc:
                await self.schedulers.board.disable(credential.id, str(exc)[:200])
        return decision

    async def _acquire(
        self,
        scheduler: RandomScheduler,
        call: UpstreamCall,
        *,
        exclude: Any,
        max_wait: float,
    ) -> Lease:
        try:
            return await scheduler.acquire(call.model, exclude=exclude, max_wait=max_wait)
        except NoCredentialAvailable as exc:
            if exc.retry_after is None:
                raise ProxyError(503, "api_error", "No upstream credential is enabled") from None
            retry_after = max(1, int(exc.retry_after + 0.999))
            raise ProxyError(
                529,
                "overloaded_error",
                f"Every upstream credential is cooling down for {call.model}",
                headers={"retry-after": str(retry_after)},
            ) from None

    async def _release_success(self, attempt: _Attempt, usage: dict[str, Any]) -> None:
        scheduler = self._scheduler_of(attempt)
        await scheduler.release(
            attempt.lease,
            OutcomeKind.SUCCESS,
            input_tokens=_int(usage.get("promptTokenCount")),
            output_tokens=_int(usage.get("candidatesTokenCount")),
        )


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _client_error(failure: _AttemptFailed, wait: float | None = None) -> ProxyError:
    """The answer for a request whose last attempt failed; `wait` is how long until a
    credential frees up, when that is why no further attempt was made."""
    outcome = failure.outcome
    if outcome.error is not None:
        error = ProxyError.from_google(outcome.error)  # type: ignore[arg-type]
        hint = wait if wait is not None else outcome.retry_after
        if "retry-after" not in error.headers and hint is not None:
            error.headers["retry-after"] = str(max(1, int(hint + 0.999)))
        return error
    if outcome.status == 0 and "timed out" in failure.message:
        return ProxyError(504, "timeout_error", failure.message)
    if outcome.status == 401:
        return ProxyError(502, "api_error", "Upstream credential unusable: " + failure.message)
    return ProxyError(502, "api_error", failure.message)

"""The upstream client: one client request becomes one or more upstream attempts.

Operations:
    Upstream(config, upstream_config, schedulers, metrics, ...)
                                                       one per app; `await .aclose()` at shutdown
    await upstream.generate(call) -> dict              generateContent / countTokens, JSON body
                                                       (Code Assist envelope already unwrapped)
    await upstream.open_stream(call, new_translator) -> OpenStream
                                                       streamGenerateContent, returned once the
                                                       translator has produced its first events

Goals:
    - Both arms of `ff_http2_pool_tuning` (server.upstream.transports) and both surfaces, the
      Gemini API and Code Assist (server.upstream.surfaces).
    - One retry layer, the loop of `server.upstream.retry_policy`'s plan: the policy of the
      request's flags decides, the scheduler of the request's flags leases credentials and
      counts outcomes.
    - A stream attempt counts as started only when the translator emitted its first event
      (`message_start`, or the first OpenAI chunk), so everything before it (an HTTP error,
      an error object as first chunk, a connection dropped before any byte) is still retried
      or answered with a proper HTTP status; nothing is retried after that.
    - A reply whose turn failed (MALFORMED_FUNCTION_CALL, `compat.turn_failure`) is answered
      as an upstream error (502 api_error) and not retried: the credential served it.
Plan: an `Attempt` is one HTTP exchange; a failure becomes a `retry_policy.UpstreamOutcome`
carried by `AttemptFailed`; the loop in `_run` decides, sleeps, re-leases; the last failure
becomes a `ProxyError` in the client's vocabulary.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import httpx

import compat
from server.config import Config as ProxyConfig
from server.config import UpstreamConfig
from server.credentials.scheduler import (
    Lease,
    NoCredentialAvailable,
    OutcomeKind,
    RandomScheduler,
    Schedulers,
)
from server.errors import ProxyError
from server.metrics import ProxyMetrics
from server.upstream.attempt import (
    Attempt,
    AttemptFailed,
    TurnFailed,
    read_capped,
    transport_message,
)
from server.upstream.call import UpstreamCall
from server.upstream.retry_policy import (
    RetryDecision,
    UpstreamOutcome,
    outcome_kind,
    refusal_cause,
    refused_reason,
    retry_policy,
)
from server.upstream.stream import OpenStream, Translator, translator_error
from server.upstream.surfaces import surface_for
from server.upstream.transports import Transports, UpstreamTimeouts, ssl_verify

log = logging.getLogger("compatkit.server.upstream")
_T = TypeVar("_T")

MAX_REPLY_BYTES = 64 << 20


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
        self.surface = surface_for(upstream_config)
        self.transport = Transports(
            lambda: ssl_verify(upstream_config),
            timeouts or UpstreamTimeouts(),
            http2_prior_knowledge=upstream_config.http2_prior_knowledge,
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

        async def complete(attempt: Attempt, response: httpx.Response) -> dict[str, Any]:
            try:
                raw = await read_capped(response, MAX_REPLY_BYTES)
            except httpx.HTTPError as exc:
                raise AttemptFailed(UpstreamOutcome(status=0), transport_message(exc)) from None
            try:
                reply = self.surface.unwrap(compat.loads(raw))
            except compat.JSONError:
                error = compat.parse_google_error(502, b"upstream reply is not valid JSON")
                raise AttemptFailed(
                    UpstreamOutcome(status=502, error=error), error.message
                ) from None
            usage = reply.get("usageMetadata") or {}
            failure = compat.turn_failure(reply)
            if failure is not None:
                raise TurnFailed(failure, usage)
            await attempt.close()
            await self._release_success(attempt, usage)
            return reply

        return await self._run(call, complete)

    async def open_stream(
        self, call: UpstreamCall, new_translator: Callable[[], Translator]
    ) -> OpenStream:
        """A streamGenerateContent call, returned once its translator produced events."""

        async def start(attempt: Attempt, response: httpx.Response) -> OpenStream:
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
                    raise AttemptFailed(outcome, transport_message(exc)) from None
                events = translator.feed(data)
            if not translator.started:
                error = translator_error(translator) or compat.parse_google_error(502, b"")
                if error.is_failed_turn:
                    raise TurnFailed(error)
                outcome = UpstreamOutcome(status=error.http_status, error=error)
                raise AttemptFailed(outcome, error.message)
            scheduler = self._scheduler_of(attempt)
            return OpenStream(attempt, iterator, translator, events, scheduler, self.spawn)

        return await self._run(call, start)

    # --- the retry loop ---------------------------------------------------------------------

    def _scheduler_for(self, call: UpstreamCall) -> RandomScheduler:
        scarce = self.config.models.is_scarce(call.model)
        return self.schedulers.for_request(call.flags, scarce=scarce)

    def _scheduler_of(self, attempt: Attempt) -> RandomScheduler:
        return self._scheduler_for(attempt.call)

    async def _run(
        self,
        call: UpstreamCall,
        complete: Callable[[Attempt, httpx.Response], Awaitable[_T]],
    ) -> _T:
        policy = retry_policy(call.flags, self.config.retry, self._rng)
        scheduler = self._scheduler_for(call)
        tally = _Tally()
        # v2 may wait for a cooling credential (up to one backoff cap); v1 never waits.
        first_wait = self.config.retry.max_delay if call.flags.ff_retry_policy_v2 else 0.0
        lease = await self._acquire(scheduler, call, exclude=(), max_wait=first_wait)
        while True:
            if lease.wait > 0:
                await self._sleep(lease.wait)
            attempt = Attempt(self.surface, self.transport, call, lease, tally.attempts + 1)
            call.trace.credential, call.trace.attempts = lease.credential.id, attempt.number
            labels = (lease.credential.id, call.model)
            if attempt.number > 1:
                self.metrics.upstream_retries.labels(*labels).inc()
            try:
                response = await attempt.send()
                result = await complete(attempt, response)
            except TurnFailed as failed:
                await attempt.close()
                await self._release_success(attempt, failed.usage)
                self.metrics.upstream_attempts.labels(*labels, "success").inc()
                raise ProxyError.from_google(failed.error) from None
            except AttemptFailed as failed:
                failure = failed
                await attempt.close()
                decision = await self._settle_failure(
                    policy, scheduler, call, attempt, failure, tally
                )
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
                await self._convict(tally)
                return result
            _log_retry(call, attempt, failure, decision)
            await self._sleep(decision.delay)
            tally.tried.add(lease.credential.id)
            if not decision.rotate:  # the same credential again (v1 always; v2 after a wait)
                try:
                    lease = await self.schedulers.board.lease_again(lease.credential, call.model)
                except NoCredentialAvailable as exc:
                    raise _client_error(failure, exc.retry_after) from None
                continue
            remaining = self.config.retry.deadline - (time.monotonic() - call.started_at)
            max_wait = max(0.0, min(self.config.retry.max_delay, remaining))
            try:
                lease = await scheduler.acquire(call.model, exclude=tally.tried, max_wait=max_wait)
            except NoCredentialAvailable as exc:
                raise _client_error(failure, exc.retry_after) from None
            if decision.suspect is not None and lease.credential.id in tally.tried:
                # Every credential refused this request without saying why: it is the
                # request that is refused, not a credential.
                await scheduler.release(lease, OutcomeKind.CANCELLED)
                raise _client_error(failure) from None

    async def _settle_failure(
        self,
        policy: Any,
        scheduler: RandomScheduler,
        call: UpstreamCall,
        attempt: Attempt,
        failure: AttemptFailed,
        tally: _Tally,
    ) -> RetryDecision:
        credential = attempt.lease.credential
        outcome = failure.outcome
        if credential.id in tally.refreshed:  # a token is refreshed once per request
            outcome = replace(outcome, refreshable=False)
        elapsed = time.monotonic() - call.started_at
        decision: RetryDecision = policy.decide(outcome, attempt=tally.counted + 1, elapsed=elapsed)
        tally.count(decision)
        kind = outcome_kind(outcome)
        labels = (credential.id, call.model)
        self.metrics.upstream_attempts.labels(*labels, str(kind)).inc()
        if kind is OutcomeKind.CAPACITY:
            self.metrics.upstream_capacity_errors.labels(*labels).inc()
        elif outcome.status == 429:
            self.metrics.upstream_rate_limited.labels(*labels).inc()
        if decision.refused is not None:
            self.metrics.credentials_refused.labels(credential.id, decision.refused).inc()
        await scheduler.release(
            attempt.lease,
            kind,
            cooldown=decision.cooldown,
            disable=decision.disable,
            error=failure.message[:200],
        )
        if decision.refresh:
            credential.report_refused(attempt.headers)
            tally.refreshed.add(credential.id)
        if decision.suspect is not None:
            tally.suspects[credential.id] = decision.suspect
        return decision

    async def _convict(self, tally: _Tally) -> None:
        """The request was served: the credentials that refused it without a reason refused
        something another credential could do, so they are taken out of rotation."""
        for credential, reason in tally.suspects.items():
            await self.schedulers.board.disable(credential, reason)
            self.metrics.credentials_refused.labels(credential, "forbidden").inc()

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
                raise ProxyError(
                    503,
                    "api_error",
                    "No upstream credential is enabled (each was taken out of rotation; "
                    "the operator sees why in GET /admin/credentials)",
                ) from None
            retry_after = max(1, int(exc.retry_after + 0.999))
            if exc.busy:
                raise ProxyError(
                    529,
                    "overloaded_error",
                    f"Every upstream credential is at its concurrency limit for {call.model} "
                    "(upstream.max_in_flight)",
                    headers={"retry-after": str(retry_after)},
                ) from None
            raise ProxyError(
                529,
                "overloaded_error",
                f"Every upstream credential is cooling down for {call.model}",
                headers={"retry-after": str(retry_after)},
            ) from None

    async def _release_success(self, attempt: Attempt, usage: dict[str, Any]) -> None:
        self.metrics.count_tokens(attempt.call.model, usage)
        trace = attempt.call.trace
        trace.input_tokens = _int(usage.get("promptTokenCount"))
        trace.output_tokens = _int(usage.get("candidatesTokenCount"))
        scheduler = self._scheduler_of(attempt)
        await scheduler.release(
            attempt.lease,
            OutcomeKind.SUCCESS,
            input_tokens=_int(usage.get("promptTokenCount")),
            output_tokens=_int(usage.get("candidatesTokenCount")),
        )


@dataclass(slots=True)
class _Tally:
    """What one client request's attempts have done so far."""

    attempts: int = 0  # every attempt made
    counted: int = 0  # those counted against max_attempts (not decisions about a credential)
    tried: set[str] = field(default_factory=set)
    refreshed: set[str] = field(default_factory=set)  # credentials whose token was refreshed
    suspects: dict[str, str] = field(default_factory=dict)  # credential -> reason (bare 403)

    def count(self, decision: RetryDecision) -> None:
        self.attempts += 1
        if not decision.about_credential:
            self.counted += 1


def _log_retry(
    call: UpstreamCall, attempt: Attempt, failure: AttemptFailed, decision: RetryDecision
) -> None:
    """One line per retry: whose request, which attempt on which credential, what failed
    (`upstream connect refused (...)`, `status 429 RESOURCE_EXHAUSTED: ...`), what comes next."""
    what, outcome = failure.message, failure.outcome
    if outcome.status:  # else the message says what failed (transport_message)
        reason = outcome.error.reason if outcome.error is not None else None
        what = f"status {outcome.status}{' ' + reason if reason else ''}: {what}"
    credential = attempt.lease.credential.id
    log.info(
        "upstream retry %d for %s (%s): attempt %d on %s failed: %s; %s, in %.3g s",
        attempt.number,
        call.model,
        call.request_id or "-",
        attempt.number,
        credential,
        what[:300],
        decision.reason,
        decision.delay,
        extra={
            "request_id": call.request_id,
            "model": call.model,
            "credential": credential,
            "attempt": attempt.number,
            "failure": what[:300],
            "decision": decision.reason,
            "delay_ms": round(decision.delay * 1000, 3),
        },
    )


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _client_error(failure: AttemptFailed, wait: float | None = None) -> ProxyError:
    """The answer for a request whose last attempt failed; `wait` is how long until a
    credential frees up, when that is why no further attempt was made."""
    outcome = failure.outcome
    google = outcome.error
    cause = refusal_cause(outcome)
    if cause is not None:
        # The proxy's own credential was refused: say so (compat answers it as a 502,
        # never as the client's fault).
        if google is None:
            google = compat.GoogleError(401, "UNAUTHENTICATED", failure.message)
        google = replace(google, message=refused_reason(cause, google.message))  # type: ignore[type-var]
    if google is not None:
        error = ProxyError.from_google(google)  # type: ignore[arg-type]
        hint = wait if wait is not None else outcome.retry_after
        if "retry-after" not in error.headers and hint is not None:
            error.headers["retry-after"] = str(max(1, int(hint + 0.999)))
        return error
    if outcome.status == 0 and "timed out" in failure.message:
        return ProxyError(504, "timeout_error", failure.message)
    return ProxyError(502, "api_error", failure.message)

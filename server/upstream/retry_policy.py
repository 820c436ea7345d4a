"""Retry policies: pure decisions about what to do after an upstream call failed.

Operations:
    UpstreamOutcome(status, error=None, bytes_sent=False, retry_after=None, refreshable=False)
                                    what happened on one attempt (status 0 = transport error)
    RetryDecision(retry, delay, rotate, cooldown, disable, reason, refresh)
    RetryPolicyV1(config, rng).decide(outcome, attempt=, elapsed=) -> RetryDecision
                                    the baseline (`ff_retry_policy_v2` off): fixed interval,
                                    same credential every attempt, RetryInfo ignored
    RetryPolicyV2(config, rng).decide(outcome, attempt=, elapsed=) -> RetryDecision
                                    the candidate: full-jitter exponential backoff capped at
                                    `max_delay`, RetryInfo / retry-after honoured up to the cap,
                                    a total deadline, rotation and cooldowns by error class
    retry_policy(flags, config, rng) -> RetryPolicy     the policy for one request's flags
    outcome_kind(outcome) -> OutcomeKind                the scheduler's name for an outcome

Plan: a policy never sleeps or reads a clock. The caller runs the attempt loop:

    attempt = 1
    while True:
        outcome = ...call upstream with lease...
        decision = policy.decide(outcome, attempt=attempt, elapsed=clock() - start)
        await scheduler.release(lease, outcome_kind(outcome), cooldown=decision.cooldown,
                                disable=decision.disable)
        if not decision.retry: answer the client with this outcome
        if decision.refresh: force a token refresh of that credential
        await sleep(decision.delay); attempt += 1
        lease = await scheduler.acquire(model, exclude=tried if decision.rotate else ...)

The error classes come from `compat.parse_google_error` (GoogleError: http_status, status,
message, reason, retry_delay, quota_id, is_capacity, is_terminal_quota); this module only
needs those attributes, so it states them as the ParsedGoogleError protocol.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from server.config import RetryConfig
from server.credentials.scheduler import OutcomeKind

if TYPE_CHECKING:
    from server.flags import Flags

# Statuses worth another attempt when nothing more specific is known (python-genai's list,
# plus 499 CANCELLED which Code Assist returns under load). 0 = no HTTP answer at all.
TRANSIENT_STATUSES = frozenset({0, 408, 429, 499, 500, 502, 503, 504})
AUTH_STATUSES = frozenset({401, 403})
PER_MINUTE_QUOTA_DELAY = 60.0


class ParsedGoogleError(Protocol):
    """The parsed Google error of a failed call (what compat.GoogleError provides)."""

    @property
    def reason(self) -> str | None: ...
    @property
    def message(self) -> str: ...
    @property
    def retry_delay(self) -> float | None: ...
    @property
    def quota_id(self) -> str | None: ...
    @property
    def is_capacity(self) -> bool: ...
    @property
    def is_terminal_quota(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class UpstreamOutcome:
    """One failed attempt.

    status: the upstream HTTP status, 0 when the call failed without one (connect error,
        reset, timeout). error: the parsed error body, if any. bytes_sent: whether any byte
        of the response already reached the client. retry_after: a `retry-after` header in
        seconds. refreshable: the credential can get a fresh token (OAuth), so an auth error
        is first answered by a refresh rather than by disabling it.
    """

    status: int
    error: ParsedGoogleError | None = None
    bytes_sent: bool = False
    retry_after: float | None = None
    refreshable: bool = False


@dataclass(frozen=True, slots=True)
class RetryDecision:
    """What to do next.

    retry: make another attempt after `delay` seconds. rotate: use another credential for
    it. cooldown: keep the failed (credential, model) out of rotation this many seconds.
    disable: take the failed credential out of rotation, with this reason. refresh: force a
    token refresh of the failed credential. These bookkeeping fields apply even when
    `retry` is False.
    """

    retry: bool
    delay: float
    rotate: bool
    cooldown: float | None
    disable: str | None
    reason: str
    refresh: bool = False


def outcome_kind(outcome: UpstreamOutcome) -> OutcomeKind:
    """Classify a failed attempt for the scheduler (successes are OutcomeKind.SUCCESS)."""
    if outcome.error is not None and outcome.error.is_capacity:
        return OutcomeKind.CAPACITY
    if outcome.status == 429:
        return OutcomeKind.RATE_LIMITED
    if outcome.status in AUTH_STATUSES:
        return OutcomeKind.AUTH_ERROR
    if 200 <= outcome.status < 300:
        return OutcomeKind.SUCCESS
    return OutcomeKind.ERROR


class RetryPolicy(Protocol):
    """Decides, after a failed attempt, whether and how to try again."""

    def decide(self, outcome: UpstreamOutcome, *, attempt: int, elapsed: float) -> RetryDecision:
        """`attempt` counts from 1 (the attempt that just failed); `elapsed` is seconds since
        the client request arrived."""
        ...


def _stop(
    reason: str, *, cooldown: float | None = None, disable: str | None = None
) -> RetryDecision:
    return RetryDecision(
        retry=False, delay=0.0, rotate=False, cooldown=cooldown, disable=disable, reason=reason
    )


class RetryPolicyV1:
    """Baseline: retry transient statuses at a fixed interval with the same credential."""

    def __init__(self, config: RetryConfig, rng: random.Random | None = None) -> None:
        self._config = config

    def decide(self, outcome: UpstreamOutcome, *, attempt: int, elapsed: float) -> RetryDecision:
        """Fixed `v1_interval` delay for 429/5xx/transport errors, up to `max_attempts`.

        RetryInfo is ignored, no credential is rotated, cooled or disabled. Like v2 it never
        retries once bytes reached the client: a second response spliced into the first
        would corrupt it.
        """
        if outcome.bytes_sent:
            return _stop("bytes already sent to the client")
        if outcome.status not in TRANSIENT_STATUSES:
            return _stop(f"status {outcome.status} is not retried")
        if attempt >= self._config.max_attempts:
            return _stop(f"gave up after {attempt} attempts")
        return RetryDecision(
            retry=True,
            delay=self._config.v1_interval,
            rotate=False,
            cooldown=None,
            disable=None,
            reason=f"status {outcome.status}: fixed-interval retry",
        )


class RetryPolicyV2:
    """Candidate: one retry layer, jittered backoff, server hints, rotation by error class."""

    def __init__(self, config: RetryConfig, rng: random.Random | None = None) -> None:
        self._config = config
        self._rng = rng or random.Random()

    def decide(self, outcome: UpstreamOutcome, *, attempt: int, elapsed: float) -> RetryDecision:
        """Rules, first match wins (bookkeeping — cooldown/disable — kept even when stopping):

        - capacity (MODEL_CAPACITY_EXHAUSTED, 503 no capacity): cool (credential, model) for
          the server's delay or `capacity_cooldown`, rotate, retry at once;
        - terminal quota (QUOTA_EXHAUSTED, PerDay, `limit: 0`): cool for the server's delay or
          `quota_cooldown`, rotate, retry at once;
        - 401/403: refresh the token (OAuth) or disable the credential; rotate;
        - 429 with a server delay above the cap (a PerMinute quota without RetryInfo counts
          as 60 s): cool for that delay, rotate;
        - 429 otherwise: wait the server's delay (or backoff), same credential;
        - other transient (408, 499, 5xx, transport): full-jitter backoff;
        - anything else (400, 404, ...): no retry.
        A retry is refused once bytes reached the client, after `max_attempts`, or when its
        delay would pass the total `deadline`.
        """
        plan = self._plan(outcome, attempt)
        if not plan.retry:
            return plan
        if outcome.bytes_sent:
            return _stop(
                "bytes already sent to the client", cooldown=plan.cooldown, disable=plan.disable
            )
        if attempt >= self._config.max_attempts:
            return _stop(
                f"gave up after {attempt} attempts", cooldown=plan.cooldown, disable=plan.disable
            )
        remaining = self._config.deadline - elapsed
        if plan.delay > remaining or remaining <= 0:
            return _stop("retry deadline reached", cooldown=plan.cooldown, disable=plan.disable)
        return plan

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(max_delay, base_delay * 2**(attempt-1))]."""
        ceiling = min(self._config.max_delay, self._config.base_delay * 2 ** min(attempt - 1, 32))
        return self._rng.uniform(0.0, ceiling)

    def _server_delay(self, outcome: UpstreamOutcome) -> float | None:
        """RetryInfo, else retry-after, else 60 s for a per-minute quota (googleQuotaErrors.ts)."""
        error = outcome.error
        delay = error.retry_delay if error is not None else None
        if delay is None:
            delay = outcome.retry_after
        if delay is None and error is not None and "PerMinute" in (error.quota_id or ""):
            delay = PER_MINUTE_QUOTA_DELAY
        return max(0.0, delay) if delay is not None else None

    def _plan(self, outcome: UpstreamOutcome, attempt: int) -> RetryDecision:
        error = outcome.error
        server_delay = self._server_delay(outcome)
        cap = self._config.max_delay
        if error is not None and error.is_capacity:
            cooldown = server_delay or self._config.capacity_cooldown
            return _rotate(cooldown, f"capacity exhausted ({error.reason or outcome.status})")
        if error is not None and error.is_terminal_quota:
            cooldown = server_delay or self._config.quota_cooldown
            return _rotate(cooldown, f"quota exhausted ({error.reason or outcome.status})")
        if outcome.status in AUTH_STATUSES:
            return self._auth_plan(outcome)
        if outcome.status == 429 and server_delay is not None and server_delay > cap:
            return _rotate(server_delay, f"rate limited for {server_delay:g}s, above the cap")
        if outcome.status == 429:
            delay = server_delay if server_delay is not None else self.backoff(attempt)
            return RetryDecision(
                retry=True,
                delay=delay,
                rotate=False,
                cooldown=delay if delay > 0 else None,
                disable=None,
                reason="rate limited: waiting the server's delay"
                if server_delay is not None
                else "rate limited: backoff",
            )
        if outcome.status in TRANSIENT_STATUSES:
            delay = self.backoff(attempt)
            if server_delay is not None:
                delay = min(server_delay, cap)
            return RetryDecision(
                retry=True,
                delay=delay,
                rotate=False,
                cooldown=None,
                disable=None,
                reason=f"status {outcome.status}: backoff",
            )
        return _stop(f"status {outcome.status} is not retried")

    def _auth_plan(self, outcome: UpstreamOutcome) -> RetryDecision:
        if outcome.refreshable:
            return RetryDecision(
                retry=True,
                delay=0.0,
                rotate=True,
                cooldown=None,
                disable=None,
                reason=f"status {outcome.status}: token refresh",
                refresh=True,
            )
        message = outcome.error.message if outcome.error is not None else ""
        reason = f"upstream answered {outcome.status}" + (f": {message}" if message else "")
        return RetryDecision(
            retry=True,
            delay=0.0,
            rotate=True,
            cooldown=None,
            disable=reason[:200],
            reason=f"status {outcome.status}: credential disabled",
        )


def _rotate(cooldown: float, reason: str) -> RetryDecision:
    return RetryDecision(
        retry=True, delay=0.0, rotate=True, cooldown=cooldown, disable=None, reason=reason
    )


def retry_policy(
    flags: Flags, config: RetryConfig, rng: random.Random | None = None
) -> RetryPolicyV1 | RetryPolicyV2:
    """The policy of the arm `flags.ff_retry_policy_v2` selects."""
    if flags.ff_retry_policy_v2:
        return RetryPolicyV2(config, rng)
    return RetryPolicyV1(config, rng)

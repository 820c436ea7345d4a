"""Retry policies: pure decisions about what to do after an upstream call failed.

Operations:
    UpstreamOutcome(status, error=None, bytes_sent=False, retry_after=None, refreshable=False)
                                    what happened on one attempt (status 0 = transport error)
    RetryDecision(retry, delay, rotate, cooldown, disable, reason, refresh, suspect, refused)
    credential_decision(outcome) -> RetryDecision | None
                                    both arms: the upstream refused the credential, not the
                                    request: refresh an OAuth token once, else take the
                                    credential out of rotation; a bare 403 makes it a suspect
    RetryPolicyV1(config, rng).decide(outcome, attempt=, elapsed=) -> RetryDecision
                                    the baseline (`ff_retry_policy_v2` off): fixed interval,
                                    same credential every attempt, RetryInfo ignored, except
                                    that a server delay beyond what it would still wait ends
                                    the retries at once
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
        if decision.refresh: report the token refused (refreshed before its next use)
        if decision.suspect: disable the credential if another one then serves the request
        await sleep(decision.delay); attempt += 1 (not for a decision about the credential)
        lease = await scheduler.acquire(model, exclude=tried if decision.rotate else ...)

A server delay the client would have to wait anyway is never slept through first: when it is
longer than the policy's remaining budget, the client gets the 429 (or 5xx) with its
`retry-after` at once, so a client's own retries (the SDKs honour `retry-after`) do not
multiply with the proxy's.

The error classes come from `compat.parse_google_error` (GoogleError: http_status, status,
message, reason, retry_delay, quota_id, is_capacity, is_terminal_quota, refused_credential,
is_bare_denial); this module only needs those attributes, so it states them as the
ParsedGoogleError protocol.
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
PER_MINUTE_QUOTA_DELAY = 60.0
MAX_REASON_CHARS = 200


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
    @property
    def refused_credential(self) -> str | None: ...
    @property
    def is_bare_denial(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class UpstreamOutcome:
    """One failed attempt.

    status: the upstream HTTP status, 0 when the call failed without one (connect error,
        reset, timeout). error: the parsed error body, if any. bytes_sent: whether any byte
        of the response already reached the client. retry_after: a `retry-after` header in
        seconds. refreshable: the credential can get a fresh token (OAuth) and has not had
        one for this request yet, so a refused token is answered by a refresh rather than
        by taking the credential out of rotation.
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
    disable: take the failed credential out of rotation, with this reason. refresh: the
    credential's token was refused; refresh it before the retry. suspect: a 403 that names
    no reason: take the credential out with this reason only if another credential then
    serves the request (it may be the request that is refused). refused: the cause, when the
    upstream refused the credential (for metrics). These bookkeeping fields apply even when
    `retry` is False.
    """

    retry: bool
    delay: float
    rotate: bool
    cooldown: float | None
    disable: str | None
    reason: str
    refresh: bool = False
    suspect: str | None = None
    refused: str | None = None

    @property
    def about_credential(self) -> bool:
        """A decision about the credential rather than the request: its retry is not counted
        against `max_attempts` (each credential is refreshed or taken out at most once)."""
        return self.refresh or self.suspect is not None or self.refused is not None


def outcome_kind(outcome: UpstreamOutcome) -> OutcomeKind:
    """Classify a failed attempt for the scheduler (successes are OutcomeKind.SUCCESS)."""
    if outcome.error is not None and outcome.error.is_capacity:
        return OutcomeKind.CAPACITY
    if outcome.status == 429:
        return OutcomeKind.RATE_LIMITED
    if refusal_cause(outcome) is not None or _bare_denial(outcome):
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


def refusal_cause(outcome: UpstreamOutcome) -> str | None:
    """Why the upstream refused the credential itself (`GoogleError.refused_credential`); any
    401 counts, also one without a body (a refused token refresh)."""
    if outcome.error is not None and outcome.error.refused_credential is not None:
        return outcome.error.refused_credential
    return "unauthenticated" if outcome.status == 401 else None


def _bare_denial(outcome: UpstreamOutcome) -> bool:
    if outcome.error is not None:
        return outcome.error.is_bare_denial
    return outcome.status == 403


def credential_decision(outcome: UpstreamOutcome) -> RetryDecision | None:
    """Both arms, before any other rule: the upstream refused the credential, not the request.

    A refused OAuth token that was not refreshed for this request yet is refreshed and the
    call retried on the same credential; any other refusal takes the credential out of
    rotation with the reason and retries on another. A 403 without a reason makes the
    credential a suspect and retries on another. None when the failure is not about the
    credential.
    """
    cause = refusal_cause(outcome)
    message = outcome.error.message if outcome.error is not None else ""
    if cause is not None and outcome.refreshable:
        return RetryDecision(
            retry=True,
            delay=0.0,
            rotate=False,
            cooldown=None,
            disable=None,
            reason=f"token refused ({cause}): refreshing it, then retrying",
            refresh=True,
        )
    if cause is not None:
        return RetryDecision(
            retry=True,
            delay=0.0,
            rotate=True,
            cooldown=None,
            disable=refused_reason(cause, message),
            reason=f"credential refused ({cause}): out of rotation",
            refused=cause,
        )
    if _bare_denial(outcome):
        return RetryDecision(
            retry=True,
            delay=0.0,
            rotate=True,
            cooldown=None,
            disable=None,
            reason="403 without a reason: trying another credential",
            suspect=refused_reason("forbidden", message),
        )
    return None


def refused_reason(cause: str, message: str) -> str:
    """The disabling reason the admin API shows for a refused credential."""
    text = f"upstream refused the credential ({cause})" + (f": {message}" if message else "")
    return text[:MAX_REASON_CHARS]


def server_delay(outcome: UpstreamOutcome) -> float | None:
    """How long the upstream asks to wait: RetryInfo, else retry-after, else 60 s for a
    per-minute quota (googleQuotaErrors.ts); None when it does not say."""
    error = outcome.error
    delay = error.retry_delay if error is not None else None
    if delay is None:
        delay = outcome.retry_after
    if delay is None and error is not None and "PerMinute" in (error.quota_id or ""):
        delay = PER_MINUTE_QUOTA_DELAY
    return max(0.0, delay) if delay is not None else None


def _stop(
    reason: str, *, cooldown: float | None = None, disable: str | None = None
) -> RetryDecision:
    return RetryDecision(
        retry=False, delay=0.0, rotate=False, cooldown=cooldown, disable=disable, reason=reason
    )


def _about_credential(outcome: UpstreamOutcome) -> RetryDecision | None:
    """`credential_decision`, stopped (its bookkeeping kept) once bytes reached the client."""
    decision = credential_decision(outcome)
    if decision is not None and outcome.bytes_sent:
        return _stop("bytes already sent to the client", disable=decision.disable)
    return decision


class RetryPolicyV1:
    """Baseline: retry transient statuses at a fixed interval with the same credential."""

    def __init__(self, config: RetryConfig, rng: random.Random | None = None) -> None:
        self._config = config

    def decide(self, outcome: UpstreamOutcome, *, attempt: int, elapsed: float) -> RetryDecision:
        """Fixed `v1_interval` delay for 429/5xx/transport errors, up to `max_attempts`.

        A refused credential is handled as in v2 (`credential_decision`); otherwise no
        credential is rotated, cooled or disabled, and RetryInfo does not set the delay. But
        a server delay longer than the retries left would wait in all (attempts left x
        interval) ends them at once: retrying before it is over is futile, and the client
        gets the delay as `retry-after` now. Like v2 it never retries once bytes reached
        the client: a second response spliced into the first would corrupt it.
        """
        about_credential = _about_credential(outcome)
        if about_credential is not None:
            return about_credential
        if outcome.bytes_sent:
            return _stop("bytes already sent to the client")
        if outcome.status not in TRANSIENT_STATUSES:
            return _stop(f"status {outcome.status} is not retried")
        if attempt >= self._config.max_attempts:
            return _stop(f"gave up after {attempt} attempts")
        budget = (self._config.max_attempts - attempt) * self._config.v1_interval
        wait = server_delay(outcome)
        if wait is not None and wait > budget:
            return _stop(f"the upstream asks to wait {wait:g}s, beyond the {budget:g}s left")
        return RetryDecision(
            retry=True,
            delay=self._config.v1_interval,
            rotate=False,
            cooldown=None,
            disable=None,
            reason=f"{_answer(outcome)}: fixed-interval retry",
        )


class RetryPolicyV2:
    """Candidate: one retry layer, jittered backoff, server hints, rotation by error class."""

    def __init__(self, config: RetryConfig, rng: random.Random | None = None) -> None:
        self._config = config
        self._rng = rng or random.Random()

    def decide(self, outcome: UpstreamOutcome, *, attempt: int, elapsed: float) -> RetryDecision:
        """Rules, first match wins (bookkeeping — cooldown/disable — kept even when stopping):

        - a refused credential (`credential_decision`, both arms): refresh or take out;
        - capacity (MODEL_CAPACITY_EXHAUSTED, 503 no capacity): cool (credential, model) for
          the server's delay or `capacity_cooldown`, rotate, retry at once;
        - terminal quota (QUOTA_EXHAUSTED, PerDay, `limit: 0`): cool for the server's delay or
          `quota_cooldown`, rotate, retry at once;
        - 429 with a server delay above the cap (a PerMinute quota without RetryInfo counts
          as 60 s): cool for that delay, rotate;
        - 429 otherwise: wait the server's delay (or backoff), same credential;
        - other transient (408, 499, 5xx, transport): full-jitter backoff;
        - anything else (400, 404, ...): no retry.
        A retry is refused once bytes reached the client, after `max_attempts`, or when its
        delay would pass the total `deadline`; a retry on the same credential also when the
        server's own delay would (the capped wait would only meet the same answer).
        """
        about_credential = _about_credential(outcome)
        if about_credential is not None and elapsed >= self._config.deadline:
            return _stop("retry deadline reached", disable=about_credential.disable)
        if about_credential is not None:
            return about_credential
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
        wait = server_delay(outcome)
        if not plan.rotate and wait is not None and wait > remaining:
            return _stop(
                f"the upstream asks to wait {wait:g}s, beyond the {remaining:g}s left",
                cooldown=plan.cooldown,
            )
        return plan

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(max_delay, base_delay * 2**(attempt-1))]."""
        ceiling = min(self._config.max_delay, self._config.base_delay * 2 ** min(attempt - 1, 32))
        return self._rng.uniform(0.0, ceiling)

    def _plan(self, outcome: UpstreamOutcome, attempt: int) -> RetryDecision:
        error = outcome.error
        hint = server_delay(outcome)
        cap = self._config.max_delay
        if error is not None and error.is_capacity:
            cooldown = hint or self._config.capacity_cooldown
            return _rotate(cooldown, f"capacity exhausted ({error.reason or outcome.status})")
        if error is not None and error.is_terminal_quota:
            cooldown = hint or self._config.quota_cooldown
            return _rotate(cooldown, f"quota exhausted ({error.reason or outcome.status})")
        if outcome.status == 429 and hint is not None and hint > cap:
            return _rotate(hint, f"rate limited for {hint:g}s, above the cap")
        if outcome.status == 429:
            delay = hint if hint is not None else self.backoff(attempt)
            return RetryDecision(
                retry=True,
                delay=delay,
                rotate=False,
                cooldown=delay if delay > 0 else None,
                disable=None,
                reason="rate limited: waiting the server's delay"
                if hint is not None
                else "rate limited: backoff",
            )
        if outcome.status in TRANSIENT_STATUSES:
            delay = self.backoff(attempt)
            if hint is not None:
                delay = min(hint, cap)
            return RetryDecision(
                retry=True,
                delay=delay,
                rotate=False,
                cooldown=None,
                disable=None,
                reason=f"{_answer(outcome)}: backoff",
            )
        return _stop(f"status {outcome.status} is not retried")


def _answer(outcome: UpstreamOutcome) -> str:
    """The upstream's answer in a reason: `status 503`, or `no answer` (connect refused, reset,
    timeout: the log line's failure says which)."""
    return f"status {outcome.status}" if outcome.status else "no answer"


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

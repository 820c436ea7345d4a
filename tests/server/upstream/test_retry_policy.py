"""Retry policies: one test per rule, and properties over any outcome, attempt and time."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.config import RetryConfig
from server.flags import Flags
from server.upstream.retry_policy import (
    OutcomeKind,
    RetryPolicyV1,
    RetryPolicyV2,
    UpstreamOutcome,
    outcome_kind,
    retry_policy,
)
from tests.real_google_errors import CAPACITY_429, FREE_TIER_429, PER_DAY_429, QUOTA_EXHAUSTED_429

CONFIG = RetryConfig(
    base_delay=0.5,
    max_delay=12.0,
    deadline=60.0,
    max_attempts=5,
    v1_interval=1.0,
    capacity_cooldown=30.0,
    quota_cooldown=300.0,
)


@dataclass(frozen=True)
class FakeGoogleError:
    """The attributes of compat.GoogleError the policies read."""

    reason: str | None = None
    message: str = ""
    retry_delay: float | None = None
    quota_id: str | None = None
    is_capacity: bool = False
    is_terminal_quota: bool = False
    refused_credential: str | None = None
    is_bare_denial: bool = False


CAPACITY = FakeGoogleError(reason="MODEL_CAPACITY_EXHAUSTED", is_capacity=True)
QUOTA = FakeGoogleError(reason="QUOTA_EXHAUSTED", is_terminal_quota=True)


def v2(seed: int = 0, config: RetryConfig = CONFIG) -> RetryPolicyV2:
    return RetryPolicyV2(config, random.Random(seed))


def decide_v2(outcome: UpstreamOutcome, attempt: int = 1, elapsed: float = 0.0):
    return v2().decide(outcome, attempt=attempt, elapsed=elapsed)


# --- v1: the baseline ------------------------------------------------------------------------


@pytest.mark.parametrize("status", [0, 429, 500, 502, 503, 504])
def test_v1_retries_transient_statuses_at_the_fixed_interval(status: int) -> None:
    decision = RetryPolicyV1(CONFIG).decide(UpstreamOutcome(status), attempt=1, elapsed=0)
    assert decision.retry and decision.delay == 1.0


def test_v1_ignores_retry_info_within_its_budget_and_never_rotates_cools_or_disables() -> None:
    outcome = UpstreamOutcome(429, FakeGoogleError(retry_delay=3.0, is_capacity=True))
    decision = RetryPolicyV1(CONFIG).decide(outcome, attempt=1, elapsed=0)
    assert (decision.retry, decision.delay, decision.rotate) == (True, 1.0, False)
    assert decision.cooldown is None and decision.disable is None


@pytest.mark.parametrize("hint", ["retry_info", "retry_after", "per_minute_quota"])
def test_v1_answers_at_once_when_the_server_delay_is_beyond_the_retries_left(hint: str) -> None:
    # 4 attempts left at 1 s: 4 s of retrying cannot outlast a 26 s (or 60 s) delay.
    outcome = {
        "retry_info": UpstreamOutcome(429, FakeGoogleError(retry_delay=26.0)),
        "retry_after": UpstreamOutcome(503, retry_after=26.0),
        "per_minute_quota": UpstreamOutcome(429, FakeGoogleError(quota_id="X-PerMinute")),
    }[hint]
    decision = RetryPolicyV1(CONFIG).decide(outcome, attempt=1, elapsed=0)
    assert not decision.retry and "beyond" in decision.reason
    assert (
        RetryPolicyV1(CONFIG)
        .decide(UpstreamOutcome(429, FakeGoogleError(retry_delay=4.0)), attempt=1, elapsed=0)
        .retry
    )


@pytest.mark.parametrize("status", [400, 404])
def test_v1_does_not_retry_client_errors(status: int) -> None:
    assert not RetryPolicyV1(CONFIG).decide(UpstreamOutcome(status), attempt=1, elapsed=0).retry


def test_v1_stops_at_max_attempts() -> None:
    policy = RetryPolicyV1(CONFIG)
    assert policy.decide(UpstreamOutcome(503), attempt=4, elapsed=0).retry
    assert not policy.decide(UpstreamOutcome(503), attempt=5, elapsed=0).retry


def test_v1_never_retries_after_bytes_reached_the_client() -> None:
    outcome = UpstreamOutcome(503, bytes_sent=True)
    assert not RetryPolicyV1(CONFIG).decide(outcome, attempt=1, elapsed=0).retry


# --- v2: the candidate -----------------------------------------------------------------------


def test_v2_capacity_cools_the_credential_for_the_model_and_rotates_at_once() -> None:
    decision = decide_v2(UpstreamOutcome(429, CAPACITY))
    assert decision.retry and decision.rotate and decision.delay == 0.0
    assert decision.cooldown == CONFIG.capacity_cooldown


def test_v2_capacity_as_503_is_treated_the_same() -> None:
    decision = decide_v2(UpstreamOutcome(503, CAPACITY))
    assert decision.rotate and decision.cooldown == CONFIG.capacity_cooldown


def test_v2_capacity_cooldown_uses_the_servers_retry_delay() -> None:
    error = FakeGoogleError(reason="MODEL_CAPACITY_EXHAUSTED", retry_delay=40.0, is_capacity=True)
    assert decide_v2(UpstreamOutcome(429, error)).cooldown == 40.0


def test_v2_terminal_quota_cools_and_rotates() -> None:
    decision = decide_v2(UpstreamOutcome(429, QUOTA))
    assert decision.retry and decision.rotate and decision.cooldown == CONFIG.quota_cooldown


def test_v2_terminal_quota_cooldown_uses_the_servers_reset_delay() -> None:
    error = FakeGoogleError(reason="QUOTA_EXHAUSTED", retry_delay=68940.0, is_terminal_quota=True)
    assert decide_v2(UpstreamOutcome(429, error)).cooldown == 68940.0


def test_v2_rate_limit_waits_the_servers_retry_delay_with_the_same_credential() -> None:
    decision = decide_v2(UpstreamOutcome(429, FakeGoogleError(retry_delay=2.5)))
    assert decision.retry and not decision.rotate and decision.delay == 2.5
    assert decision.cooldown == 2.5


def test_v2_rate_limit_honours_a_retry_after_header() -> None:
    decision = decide_v2(UpstreamOutcome(429, retry_after=3.0))
    assert decision.delay == 3.0


def test_v2_retry_info_wins_over_retry_after() -> None:
    decision = decide_v2(UpstreamOutcome(429, FakeGoogleError(retry_delay=2.0), retry_after=9.0))
    assert decision.delay == 2.0


def test_v2_rate_limit_delay_above_the_cap_cools_and_rotates_instead_of_waiting() -> None:
    decision = decide_v2(UpstreamOutcome(429, FakeGoogleError(retry_delay=26.0)))
    assert decision.retry and decision.rotate and decision.delay == 0.0
    assert decision.cooldown == 26.0


def test_v2_a_per_minute_quota_without_retry_info_cools_for_a_minute_and_rotates() -> None:
    error = FakeGoogleError(quota_id="GenerateContentInputTokensPerModelPerMinute-FreeTier")
    decision = decide_v2(UpstreamOutcome(429, error))
    assert decision.rotate and decision.cooldown == 60.0


def test_v2_rate_limit_without_a_hint_backs_off_with_jitter() -> None:
    delays = {
        v2(seed).decide(UpstreamOutcome(429), attempt=3, elapsed=0).delay for seed in range(20)
    }
    assert len(delays) > 1 and all(0 <= d <= 2.0 for d in delays)


@pytest.mark.parametrize("status", [0, 408, 499, 500, 502, 503, 504])
def test_v2_transient_errors_back_off_without_rotating(status: int) -> None:
    decision = decide_v2(UpstreamOutcome(status), attempt=2)
    assert decision.retry and not decision.rotate and 0 <= decision.delay <= 1.0
    assert decision.cooldown is None


def test_v2_backoff_grows_exponentially_and_stops_at_the_cap() -> None:
    policy = v2()
    ceilings = [max(policy.backoff(attempt) for _ in range(200)) for attempt in (1, 2, 3, 10)]
    assert ceilings[0] <= 0.5 < ceilings[1] <= 1.0 < ceilings[2] <= 2.0
    assert 6.0 < ceilings[3] <= 12.0


POLICIES = [
    pytest.param(lambda: RetryPolicyV1(CONFIG), id="v1"),
    pytest.param(lambda: v2(), id="v2"),
]


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize(
    "error", [None, FakeGoogleError(refused_credential="expired")], ids=["bare", "expired"]
)
def test_a_refused_token_is_refreshed_and_retried_on_the_same_credential(policy, error) -> None:
    decision = policy().decide(UpstreamOutcome(401, error, refreshable=True), attempt=9, elapsed=0)
    assert decision.retry and decision.refresh and not decision.rotate
    assert decision.disable is None and decision.about_credential


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize(
    ("status", "error", "cause"),
    [
        (
            400,
            FakeGoogleError(message="API key not valid", refused_credential="invalid"),
            "invalid",
        ),
        (403, FakeGoogleError(message="suspended", refused_credential="forbidden"), "forbidden"),
        (401, None, "unauthenticated"),  # a token whose refresh was refused
    ],
)
def test_a_refused_credential_is_taken_out_and_the_call_rotated(
    policy, status: int, error: FakeGoogleError | None, cause: str
) -> None:
    decision = policy().decide(UpstreamOutcome(status, error), attempt=9, elapsed=0)
    assert decision.retry and decision.rotate and not decision.refresh
    assert decision.disable is not None
    assert decision.disable.startswith(f"upstream refused the credential ({cause})")
    assert decision.refused == cause and decision.about_credential


@pytest.mark.parametrize("policy", POLICIES)
def test_a_403_without_a_reason_only_makes_the_credential_a_suspect(policy) -> None:
    outcome = UpstreamOutcome(403, FakeGoogleError(message="no", is_bare_denial=True))
    decision = policy().decide(outcome, attempt=1, elapsed=0)
    assert decision.retry and decision.rotate and decision.disable is None
    assert decision.suspect == "upstream refused the credential (forbidden): no"


@pytest.mark.parametrize("policy", POLICIES)
def test_a_refused_credential_is_not_retried_once_bytes_were_sent_but_still_taken_out(
    policy,
) -> None:
    outcome = UpstreamOutcome(401, bytes_sent=True)
    decision = policy().decide(outcome, attempt=1, elapsed=0)
    assert not decision.retry and decision.disable is not None


@pytest.mark.parametrize("status", [400, 404, 413, 422])
def test_v2_does_not_retry_client_errors(status: int) -> None:
    decision = decide_v2(UpstreamOutcome(status))
    assert not decision.retry and decision.cooldown is None and decision.disable is None


def test_v2_never_retries_after_bytes_reached_the_client_but_still_cools() -> None:
    decision = decide_v2(UpstreamOutcome(429, CAPACITY, bytes_sent=True))
    assert not decision.retry and decision.cooldown == CONFIG.capacity_cooldown


def test_v2_stops_at_max_attempts_but_keeps_the_bookkeeping() -> None:
    decision = decide_v2(UpstreamOutcome(429, CAPACITY), attempt=CONFIG.max_attempts)
    assert not decision.retry and decision.cooldown == CONFIG.capacity_cooldown


def test_v2_answers_at_once_when_the_server_delay_on_the_same_credential_passes_the_deadline() -> (
    None
):
    outcome = UpstreamOutcome(503, retry_after=120.0)  # v2 would wait the cap, 12 s, for nothing
    decision = decide_v2(outcome, elapsed=1.0)
    assert not decision.retry and "beyond" in decision.reason
    assert decide_v2(UpstreamOutcome(503, retry_after=30.0), elapsed=1.0).retry


def test_v2_refuses_a_retry_whose_delay_passes_the_deadline() -> None:
    outcome = UpstreamOutcome(429, FakeGoogleError(retry_delay=10.0))
    assert decide_v2(outcome, elapsed=49.0).retry
    assert not decide_v2(outcome, elapsed=51.0).retry


def test_v2_refuses_any_retry_once_the_deadline_passed() -> None:
    assert not decide_v2(UpstreamOutcome(429, CAPACITY), elapsed=60.0).retry


# --- with the error bodies Google sends, parsed by compat -----------------------------------


def google(status: int, body: dict) -> UpstreamOutcome:
    import compat

    return UpstreamOutcome(status, compat.parse_google_error(status, compat.dumps(body)))


def test_v2_with_googles_free_tier_429_cools_26s_and_rotates() -> None:
    decision = decide_v2(google(429, FREE_TIER_429))
    assert decision.retry and decision.rotate and decision.cooldown == 26.0


def test_v2_with_code_assists_capacity_error_rotates() -> None:
    decision = decide_v2(google(429, CAPACITY_429))
    assert decision.rotate and decision.cooldown == CONFIG.capacity_cooldown


def test_v2_with_quota_exhausted_cools_for_the_reset_delay_and_rotates() -> None:
    decision = decide_v2(google(429, QUOTA_EXHAUSTED_429))
    assert decision.rotate and decision.cooldown == pytest.approx(0.539477544)


def test_v2_with_a_per_day_zero_limit_quota_cools_for_the_quota_cooldown() -> None:
    decision = decide_v2(google(429, PER_DAY_429))
    assert decision.rotate and decision.cooldown == CONFIG.quota_cooldown


def test_v2_with_a_400_invalid_argument_does_not_retry() -> None:
    body = {"error": {"code": 400, "message": "bad", "status": "INVALID_ARGUMENT"}}
    assert not decide_v2(google(400, body)).retry


# --- selection and classification ------------------------------------------------------------


def test_the_flag_selects_the_policy() -> None:
    assert isinstance(retry_policy(Flags(), CONFIG), RetryPolicyV1)
    assert isinstance(retry_policy(Flags(ff_retry_policy_v2=True), CONFIG), RetryPolicyV2)


@pytest.mark.parametrize(
    ("outcome", "kind"),
    [
        (UpstreamOutcome(200), OutcomeKind.SUCCESS),
        (UpstreamOutcome(429), OutcomeKind.RATE_LIMITED),
        (UpstreamOutcome(429, CAPACITY), OutcomeKind.CAPACITY),
        (UpstreamOutcome(503, CAPACITY), OutcomeKind.CAPACITY),
        (UpstreamOutcome(401), OutcomeKind.AUTH_ERROR),
        (UpstreamOutcome(403), OutcomeKind.AUTH_ERROR),
        (UpstreamOutcome(500), OutcomeKind.ERROR),
        (UpstreamOutcome(0), OutcomeKind.ERROR),
    ],
)
def test_outcome_kind_names_the_outcome_for_the_scheduler(
    outcome: UpstreamOutcome, kind: OutcomeKind
) -> None:
    assert outcome_kind(outcome) is kind


# --- properties ------------------------------------------------------------------------------

errors = st.one_of(
    st.none(),
    st.builds(
        FakeGoogleError,
        reason=st.sampled_from([None, "RATE_LIMIT_EXCEEDED", "MODEL_CAPACITY_EXHAUSTED"]),
        message=st.text(max_size=20),
        retry_delay=st.one_of(st.none(), st.floats(0, 100_000, allow_nan=False)),
        quota_id=st.sampled_from([None, "RequestsPerMinute", "RequestsPerDay"]),
        is_capacity=st.booleans(),
        is_terminal_quota=st.booleans(),
    ),
)
outcomes = st.builds(
    UpstreamOutcome,
    status=st.sampled_from([0, 200, 400, 401, 403, 404, 408, 429, 499, 500, 502, 503, 504]),
    error=errors,
    bytes_sent=st.booleans(),
    retry_after=st.one_of(st.none(), st.floats(0, 1000, allow_nan=False)),
    refreshable=st.booleans(),
)
configs = st.builds(
    RetryConfig,
    base_delay=st.floats(0.01, 2.0),
    max_delay=st.floats(2.0, 30.0),
    deadline=st.floats(1.0, 120.0),
    max_attempts=st.integers(1, 10),
    v1_interval=st.floats(0.01, 5.0),
)
attempts = st.integers(1, 40)
elapsed_times = st.floats(0, 200, allow_nan=False)


@given(outcomes, configs, attempts, elapsed_times, st.integers(0, 2**32))
def test_v2_delay_stays_within_the_cap_and_the_remaining_deadline(
    outcome: UpstreamOutcome, config: RetryConfig, attempt: int, elapsed: float, seed: int
) -> None:
    decision = v2(seed, config).decide(outcome, attempt=attempt, elapsed=elapsed)
    assert 0.0 <= decision.delay <= config.max_delay
    if decision.retry:
        assert elapsed + decision.delay <= config.deadline
        # A decision about the credential refreshes or takes out one credential: not counted.
        assert attempt < config.max_attempts or decision.about_credential


@given(outcomes, configs, attempts, elapsed_times, st.integers(0, 2**32))
def test_no_policy_ever_retries_after_bytes_were_sent(
    outcome: UpstreamOutcome, config: RetryConfig, attempt: int, elapsed: float, seed: int
) -> None:
    sent = UpstreamOutcome(
        outcome.status, outcome.error, True, outcome.retry_after, outcome.refreshable
    )
    for policy in (RetryPolicyV1(config), v2(seed, config)):
        assert not policy.decide(sent, attempt=attempt, elapsed=elapsed).retry


@given(outcomes, configs, attempts, elapsed_times)
def test_v1_always_waits_the_fixed_interval_with_the_same_credential(
    outcome: UpstreamOutcome, config: RetryConfig, attempt: int, elapsed: float
) -> None:
    decision = RetryPolicyV1(config).decide(outcome, attempt=attempt, elapsed=elapsed)
    if decision.about_credential or decision.disable is not None:
        return  # a refused credential: handled as in v2
    assert not decision.rotate and decision.cooldown is None
    if decision.retry:
        assert decision.delay == config.v1_interval


@given(outcomes, configs, attempts, elapsed_times, st.integers(0, 2**32))
def test_v2_cooldowns_are_positive_and_come_with_a_rotation_or_a_wait(
    outcome: UpstreamOutcome, config: RetryConfig, attempt: int, elapsed: float, seed: int
) -> None:
    decision = v2(seed, config).decide(outcome, attempt=attempt, elapsed=elapsed)
    if decision.cooldown is not None:
        assert decision.cooldown > 0
    if decision.retry and decision.cooldown is not None and not decision.rotate:
        assert decision.delay >= decision.cooldown

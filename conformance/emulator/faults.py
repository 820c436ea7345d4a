"""Scripted failures: which request fails, and the Google error it gets.

Operations:
- `FaultPicker.pick(scenario, credential)`: count the scenario's requests and return the first of its
  faults that fires on this one (by request number, every n-th, or seeded probability; only for its
  credentials when it lists some), or None.
- `fault_rejection(fault, model=..., surface=...)`: the error a status fault answers with, in the
  shape the surface really uses (Gemini API quota bodies vs Code Assist ErrorInfo reasons).
- `capacity_rejection(...)`: the 429 a drained token bucket answers with.

Goals: deterministic across runs (the probability draws come from an RNG seeded by the scenario's seed
and the request number, so the n-th request of a run always meets the same fate), and bodies built
only by `google_errors`, so every error has the envelope real clients classify.
"""

from __future__ import annotations

import random
import time
from collections import Counter

from conformance.emulator import google_errors
from conformance.emulator.google_errors import Rejection
from conformance.emulator.scenarios import Fault, Scenario


class FaultPicker:
    """Counts requests per scenario; picks the fault (if any) for the next one."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()

    def pick(self, scenario: Scenario, credential: str | None = None) -> tuple[int, Fault | None]:
        """The 1-based request number within `scenario`, and the fault that fires on it (made
        with `credential`, an id: faults limited to other credentials do not fire)."""
        self._counts[scenario.name] += 1
        number = self._counts[scenario.name]
        if not scenario.faults:
            return number, None
        rng = random.Random(f"{scenario.name}/{scenario.seed}/{number}")
        for fault in scenario.faults:
            if fault.fires(number, rng, credential):
                return number, fault
        return number, None

    def reset(self) -> None:
        self._counts.clear()


def fault_rejection(fault: Fault, *, model: str, surface: str) -> Rejection:
    """The error body and status of a status fault (`fault.kind` in STATUS_FAULTS)."""
    code_assist = surface == "code_assist"
    delay = fault.retry_delay_s
    if fault.kind == "rate_limit":
        if code_assist:
            return google_errors.rate_limit_exceeded(model, delay)
        return google_errors.quota_exceeded(model, delay)
    if fault.kind == "quota_exhausted":
        if code_assist:
            reset_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + delay))
            return google_errors.quota_exhausted(model, delay, reset_at)
        return google_errors.quota_exceeded(
            model,
            delay,
            quota_id="GenerateRequestsPerDayPerProjectPerModel-FreeTier",
            quota_metric="generativelanguage.googleapis.com/generate_content_free_tier_requests",
            quota_value="250",
        )
    if fault.kind in {"capacity_429", "capacity_503"}:
        return google_errors.model_capacity_exhausted(
            model,
            http_status=429 if fault.kind == "capacity_429" else 503,
            retry_delay_seconds=delay,
        )
    if fault.kind == "invalid_argument":
        return google_errors.invalid_argument(
            fault.message or "Request contains an invalid argument."
        )
    if fault.kind == "unauthenticated":
        return google_errors.unauthenticated()
    if fault.kind == "not_found":
        return google_errors.not_found(fault.message or "Requested entity was not found.")
    if fault.kind == "internal":
        return google_errors.internal(fault.message) if fault.message else google_errors.internal()
    if fault.kind == "unavailable":
        return (
            google_errors.unavailable(fault.message)
            if fault.message
            else google_errors.unavailable()
        )
    if fault.kind == "permission_denied":
        return (
            google_errors.permission_denied(fault.message)
            if fault.message
            else google_errors.permission_denied()
        )
    raise ValueError(f"{fault.kind} is a stream fault, not a status fault")


def capacity_rejection(*, model: str, surface: str, retry_after_s: float) -> Rejection:
    """The 429 for a request refused by a credential's or a model's token bucket."""
    delay = round(max(retry_after_s, 0.001), 3)
    if surface == "code_assist":
        return google_errors.rate_limit_exceeded(model, delay)
    return google_errors.quota_exceeded(
        model,
        delay,
        quota_id="GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
        quota_metric="generativelanguage.googleapis.com/generate_content_free_tier_requests",
        quota_value="10",
    )

"""Capacity: token buckets per credential and per model, so hot credentials get 429 and cool ones don't.

Operations:
- `CapacityLedger.admit(scenario, credential=..., model=...)`: take one token from the credential's
  bucket and the model's bucket (as the scenario sizes them; a credential outside the scenario's
  `capacity.credentials`, when it lists some, has no credential bucket); None if admitted, else the
  seconds until a token is back (the RetryInfo the 429 carries).
- `CapacityLedger.reset()`: refill everything.

Plan: classic token buckets refilled lazily from a monotonic clock (injectable for tests). A request
refused by one bucket takes nothing from the other.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from conformance.emulator.scenarios import BucketSpec, Scenario


@dataclass
class TokenBucket:
    """`rate` tokens per second, at most `burst`; starts full."""

    rate: float
    burst: float
    tokens: float
    updated: float

    def refill(self, now: float) -> None:
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def wait_for_one(self) -> float:
        """Seconds until one token is available (0 if one is there now)."""
        if self.tokens >= 1:
            return 0.0
        return float("inf") if self.rate <= 0 else (1 - self.tokens) / self.rate


class CapacityLedger:
    """All buckets of a running emulator, keyed by (scenario, kind, credential or model)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[tuple[str, str, str], TokenBucket] = {}

    def admit(self, scenario: Scenario, *, credential: str, model: str) -> float | None:
        """None when admitted (one token taken from each bucket), else seconds to wait."""
        limited = not scenario.bucket_credentials or credential in scenario.bucket_credentials
        buckets = [
            self._bucket(
                scenario.name,
                "credential",
                credential,
                scenario.credential_bucket if limited else None,
            ),
            self._bucket(scenario.name, "model", model, scenario.model_bucket),
        ]
        live = [b for b in buckets if b is not None]
        if not live:
            return None
        now = self._clock()
        for bucket in live:
            bucket.refill(now)
        wait = max(b.wait_for_one() for b in live)
        if wait > 0:
            return wait
        for bucket in live:
            bucket.tokens -= 1
        return None

    def _bucket(
        self, scenario: str, kind: str, key: str, spec: BucketSpec | None
    ) -> TokenBucket | None:
        if spec is None:
            return None
        ident = (scenario, kind, key)
        bucket = self._buckets.get(ident)
        if bucket is None:
            bucket = TokenBucket(spec.rate, spec.burst, spec.burst, self._clock())
            self._buckets[ident] = bucket
        return bucket

    def reset(self) -> None:
        self._buckets.clear()

"""Slows down guessing the admin key at the panel's login form.

Operations:
    LoginThrottle(limit=5, window=60.0, clock=time.monotonic)
        .wait(client) -> float      seconds the client must wait before trying again (0: go)
        .failed(client) / .succeeded(client)

Plan: per client address, at most `limit` wrong keys per `window` seconds; the next try inside
the window is refused (429) without the key being compared. One process, in memory: enough to
turn an online guess of a random key from hopeless into more hopeless.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class LoginThrottle:
    """Wrong-key counts per client over a sliding window."""

    def __init__(
        self, limit: int = 5, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limit = limit
        self._window = window
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def wait(self, client: str) -> float:
        """Seconds until `client` may try again; 0.0 when it may try now."""
        failures = self._recent(client)
        if len(failures) < self._limit:
            return 0.0
        return max(failures[0] + self._window - self._clock(), 0.0)

    def failed(self, client: str) -> None:
        """Count one wrong key from `client`."""
        self._recent(client).append(self._clock())

    def succeeded(self, client: str) -> None:
        """Forget `client`'s failures."""
        self._failures.pop(client, None)

    def _recent(self, client: str) -> deque[float]:
        failures = self._failures.setdefault(client, deque())
        horizon = self._clock() - self._window
        while failures and failures[0] <= horizon:
            failures.popleft()
        if len(self._failures) > 10_000:  # many addresses: drop the idle ones
            for idle in [c for c, f in self._failures.items() if not f and c != client]:
                del self._failures[idle]
        return failures

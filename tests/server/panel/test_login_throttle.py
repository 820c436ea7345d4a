"""server.panel.login_throttle: five wrong keys a minute per client, then a wait."""

from __future__ import annotations

from server.panel.login_throttle import LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_sixth_try_in_a_minute_waits_until_the_first_failure_is_a_minute_old() -> None:
    clock = Clock()
    throttle = LoginThrottle(limit=5, window=60.0, clock=clock)
    for _ in range(5):
        assert throttle.wait("10.0.0.1") == 0.0
        throttle.failed("10.0.0.1")
        clock.now += 1
    assert throttle.wait("10.0.0.1") == 55.0
    assert throttle.wait("10.0.0.2") == 0.0  # per client
    clock.now = 160.0
    assert throttle.wait("10.0.0.1") == 0.0


def test_a_success_forgets_the_failures() -> None:
    throttle = LoginThrottle(limit=2, window=60.0, clock=Clock())
    throttle.failed("a")
    throttle.succeeded("a")
    throttle.failed("a")
    assert throttle.wait("a") == 0.0

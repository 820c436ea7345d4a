"""Load shapes: how many users over time, as Locust LoadTestShape classes.

Operations (each shape's tick() -> (users, spawn rate) or None to stop)
    Steady        -u users at -r per second for -t (forever without -t): plain Locust
    Ramp          -u in 8 equal steps, each held for -t / 8 (30 s without -t): the knee,
                  where latency bends as users grow
    Spike         a quarter of -u, then all of -u at once for the middle fifth of -t, then a
                  quarter again (120 s without -t): what a burst does, and whether the proxy
                  recovers after it
    Soak          Steady for -t (an hour without -t), logging every minute the window's
                  requests, error rate and median E2E, and with --compatkit-proxy-pid the
                  proxy's resident memory and CPU, so drift shows while it runs
    Storm         Steady with the emulator's `rate_limited` scenario on every request (a 429
                  from upstream each time, through the proxy): typed RateLimited failures,
                  and how fast the proxy answers them
    LongStreams   Steady with the `long_text` scenario (200 tokens in small chunks)
    CompatkitShape    the shape --compatkit-shape names (steady by default), so that
                  `locust -f loadtests --headless -u 32 -r 8 -t 60s` is a plain run

Goals
    Every shape reads Locust's own -u / -r / -t (`use_common_options`), so one command line
    scales any of them, and the web UI's user count and spawn rate apply. A shape that picks
    a scenario says it in `scenario`; users send it unless --compatkit-scenario says another.

Plan
    Locust uses the first LoadTestShape of the locustfiles, or the one picked in the web UI
    (`--class-picker`): loadtests/shapes.py imports CompatkitShape first.
"""

from __future__ import annotations

import logging
import time
from typing import Any, ClassVar

from locust import LoadTestShape

from loadtests._common._resources import cpu_seconds, process_tree, rss_bytes

__all__ = [
    "CompatkitShape",
    "LongStreams",
    "Ramp",
    "ScenarioShape",
    "Soak",
    "Spike",
    "Steady",
    "Storm",
]

DEFAULT_USERS = 32
RAMP_STEPS = 8
RAMP_STEP_S = 30.0
SPIKE_S = 120.0
SOAK_S = 3600.0
SOAK_WINDOW_S = 60.0
logger = logging.getLogger("compatkit")

Tick = tuple[int, float] | None


class ScenarioShape(LoadTestShape):
    """A shape sized by -u, -r and -t, which may ask for a scenario (abstract)."""

    abstract = True
    use_common_options = True
    scenario: ClassVar[str | None] = None
    default_seconds: ClassVar[float | None] = None  # how long without -t (None: forever)

    def __init__(self) -> None:  # LoadTestShape's own, typed
        self.start_time = time.perf_counter()

    def reset_time(self) -> None:
        self.start_time = time.perf_counter()

    def current_scenario(self) -> str | None:
        """The scenario marker this shape asks the users to send."""
        return self.scenario

    def tick(self) -> Tick:
        users, rate, seconds = self.sizes()
        elapsed = time.perf_counter() - self.start_time
        if seconds is not None and elapsed >= seconds:
            return None
        return self.at(elapsed, users, rate, seconds)

    def at(self, elapsed: float, users: int, rate: float, seconds: float | None) -> Tick:
        return users, rate

    def sizes(self) -> tuple[int, float, float | None]:
        """(-u, -r, -t) of the run, with the shape's defaults where none was given."""
        options = self.runner.environment.parsed_options if self.runner else None
        users = getattr(options, "num_users", None) or DEFAULT_USERS
        rate = float(getattr(options, "spawn_rate", None) or max(1, users // 4))
        seconds = getattr(options, "run_time", None) or self.default_seconds
        return int(users), rate, float(seconds) if seconds else None


class Steady(ScenarioShape):
    """-u users at -r per second, for -t."""


class Ramp(ScenarioShape):
    """Up in equal steps to -u, each step held for an eighth of -t."""

    default_seconds = RAMP_STEPS * RAMP_STEP_S

    def at(self, elapsed: float, users: int, rate: float, seconds: float | None) -> Tick:
        step_s = (seconds or RAMP_STEPS * RAMP_STEP_S) / RAMP_STEPS
        step = min(RAMP_STEPS, int(elapsed // step_s) + 1)
        return max(1, round(users * step / RAMP_STEPS)), rate


class Spike(ScenarioShape):
    """A quarter of -u, all of it for the middle fifth of -t, then a quarter again."""

    default_seconds = SPIKE_S

    def at(self, elapsed: float, users: int, rate: float, seconds: float | None) -> Tick:
        total = seconds or SPIKE_S
        base = max(1, users // 4)
        if 0.4 * total <= elapsed < 0.6 * total:
            return users, float(max(rate, users))  # all at once
        return base, float(max(rate, users))


class Soak(ScenarioShape):
    """Steady for a long time, logging each window's requests, error rate and median E2E."""

    default_seconds = SOAK_S

    def __init__(self) -> None:
        super().__init__()
        self._window_end = SOAK_WINDOW_S
        self._seen = (0, 0)
        self._first_rss_mb: float | None = None

    def reset_time(self) -> None:
        super().reset_time()
        self._window_end, self._seen, self._first_rss_mb = SOAK_WINDOW_S, (0, 0), None

    def at(self, elapsed: float, users: int, rate: float, seconds: float | None) -> Tick:
        if elapsed >= self._window_end:
            self._window_end += SOAK_WINDOW_S
            self._log_window(elapsed)
        return users, rate

    def _log_window(self, elapsed: float) -> None:
        if self.runner is None:
            return
        total = self.runner.stats.total
        requests, failures = total.num_requests, total.num_failures
        window_requests = requests - self._seen[0]
        window_failures = failures - self._seen[1]
        self._seen = (requests, failures)
        rate = window_failures / window_requests if window_requests else 0.0
        median = _current_median(self.runner.stats)
        logger.info(
            "soak at %.0f s: %d requests in the last window, error rate %.2f %%, "
            "median E2E now %s ms%s", elapsed, window_requests, 100 * rate, median,
            self._proxy_use(),
        )  # fmt: skip

    def _proxy_use(self) -> str:
        """`; proxy RSS 120.5 MB (+3.1 since the first window), CPU 12.3 s` with a pid."""
        options = self.runner.environment.parsed_options if self.runner else None
        pid = getattr(options, "compatkit_proxy_pid", 0)
        if not pid:
            return ""
        pids = process_tree(pid)
        rss_mb = rss_bytes(pids) / 1e6
        if self._first_rss_mb is None:
            self._first_rss_mb = rss_mb
        drift = rss_mb - self._first_rss_mb
        return f"; proxy RSS {rss_mb:.1f} MB ({drift:+.1f} since the first window), CPU {cpu_seconds(pids):.1f} s"


def _current_median(stats: Any) -> str:
    """The median of the E2E rows' recent response times (Locust's moving window)."""
    medians = [
        entry.get_current_response_time_percentile(0.5)
        for (name, method), entry in stats.entries.items()
        if method == "E2E"
    ]
    found = [m for m in medians if m is not None]
    return f"{max(found):g}" if found else "n/a"


class Storm(ScenarioShape):
    """Steady, every request scripted to meet a 429 upstream (the emulator's rate_limited)."""

    scenario = "rate_limited"


class LongStreams(ScenarioShape):
    """Steady, every reply a long stream (the emulator's long_text: 200 tokens)."""

    scenario = "long_text"


_BY_NAME: dict[str, type[ScenarioShape]] = {
    "steady": Steady, "ramp": Ramp, "spike": Spike, "soak": Soak, "storm": Storm,
    "long_streams": LongStreams,
}  # fmt: skip


class CompatkitShape(ScenarioShape):
    """The shape --compatkit-shape names (steady: a plain -u / -r / -t run)."""

    def __init__(self) -> None:
        super().__init__()
        self._chosen: ScenarioShape | None = None

    @property
    def chosen(self) -> ScenarioShape:
        options = self.runner.environment.parsed_options if self.runner else None
        name = getattr(options, "compatkit_shape", None) or "steady"
        if self._chosen is None or type(self._chosen) is not _BY_NAME[name]:
            self._chosen = _BY_NAME[name]()
        self._chosen.start_time, self._chosen.runner = self.start_time, self.runner
        return self._chosen

    def current_scenario(self) -> str | None:
        return self.chosen.current_scenario()

    def tick(self) -> Tick:
        return self.chosen.tick()

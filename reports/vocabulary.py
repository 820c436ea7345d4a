"""The gate's vocabulary: metric names, their units, and statistic names like `p99.9`.

Operations
    LATENCY_METRICS                 ttfb, ttft, itl, tpot, e2e (per request, in ms)
    CPU_METRIC                      cpu_per_request (proxy CPU ms per request, a mean per round)
    RATE_METRICS                    error_rate, success_rate (proportions of requests)
    THROUGHPUT_METRIC               throughput (successful responses per second)
    METRICS                         all of them, in report order
    parse_quantile("p99.9") -> 0.999    strict: ValueError with a one-line reason
    describe(metric) -> str         a phrase for reports ("time to first token")

The names are docs/design.md#metric-names: TTFB (sent -> headers), TTFT (sent -> first content
delta), ITL (gaps between content deltas), TPOT ((E2E - TTFT) / (output tokens - 1)), E2E (sent ->
message_stop).
"""

from __future__ import annotations

import re

LATENCY_METRICS = ("ttfb", "ttft", "itl", "tpot", "e2e")
CPU_METRIC = "cpu_per_request"
RATE_METRICS = ("error_rate", "success_rate")
THROUGHPUT_METRIC = "throughput"
METRICS = (*LATENCY_METRICS, CPU_METRIC, *RATE_METRICS, THROUGHPUT_METRIC)

_DESCRIPTIONS = {
    "ttfb": "time to first byte (response headers)",
    "ttft": "time to first token",
    "itl": "inter-token latency (gaps between content deltas)",
    "tpot": "time per output token after the first",
    "e2e": "end-to-end latency",
    "cpu_per_request": "proxy CPU time per request",
    "error_rate": "share of requests that failed",
    "success_rate": "share of requests that succeeded",
    "throughput": "successful responses per second",
}

_QUANTILE = re.compile(r"p(\d{1,2}(?:\.\d+)?)")


def parse_quantile(name: str) -> float:
    """`p50` -> 0.5, `p99.9` -> 0.999; anything else is a ValueError naming what is allowed."""
    match = _QUANTILE.fullmatch(name)
    if match is None or not 0 < float(match.group(1)) < 100:
        raise ValueError(
            f"{name!r} is not a quantile: write p followed by a percentage below 100 "
            f"(p50, p90, p99, p99.9)"
        )
    return float(match.group(1)) / 100


def describe(metric: str) -> str:
    """A phrase for a reader of a report."""
    return _DESCRIPTIONS[metric]

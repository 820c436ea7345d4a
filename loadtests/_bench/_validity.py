"""Whether a block measured the proxy or the measuring side: INCONCLUSIVE with the reasons.

Operations
    rates(intended, sent) -> (intended rate, achieved rate)     per second, from send times
    reasons(limits, *, client_cpu_share, intended_rate, achieved_rate, send_lag_p99_ms,
            samples) -> [str]                                  empty when the block is valid

A block is inconclusive when the client used more than its share of a core (it measured
itself), sent slower than asked (the schedule was not honoured: an open loop that fell
behind), sent late (send lag p99: the event loop or the machine was busy), or has no samples.
Errors from the proxy are not reasons: they are measurements, counted in the samples.

The send lag's limit is the plan's `send_lag_p99_ms` or a tenth of the schedule's mean gap
between sends, whichever is larger. An idle two-core VM wakes a sleeping event loop 1-2 ms late
at the median and ~6 ms late at p99 with nothing else running (docs/bench.md § 6), so at 8
requests per second a fixed 5 ms limit judged the machine's timer, not a busy client; a send
late by a tenth of its gap still leaves the arrival process the plan asked for.
"""

from __future__ import annotations

from collections.abc import Sequence

from loadtests._bench._plan import Limits

__all__ = ["rates", "reasons", "send_lag_limit_ms"]

SEND_LAG_SHARE_OF_GAP = 0.1


def _rate(times: Sequence[float]) -> float | None:
    if len(times) < 2:
        return None
    span = max(times) - min(times)
    return (len(times) - 1) / span if span > 0 else None


def rates(intended: Sequence[float], sent: Sequence[float]) -> tuple[float | None, float | None]:
    """The intended and the achieved send rate of one block (requests per second)."""
    return _rate(intended), _rate(sent)


def send_lag_limit_ms(limits: Limits, intended_rate: float | None) -> float:
    """The send lag p99 a block may have: the plan's limit or a tenth of the mean send gap."""
    if not intended_rate:
        return limits.send_lag_p99_ms
    return max(limits.send_lag_p99_ms, SEND_LAG_SHARE_OF_GAP * 1000 / intended_rate)


def reasons(
    limits: Limits,
    *,
    client_cpu_share: float,
    intended_rate: float | None,
    achieved_rate: float | None,
    send_lag_p99_ms: float | None,
    samples: int,
) -> list[str]:
    """Why the block cannot be judged (none: it can)."""
    found = []
    if samples == 0:
        found.append("no measured requests")
    if client_cpu_share > limits.client_cpu_share:
        found.append(
            f"the client used {client_cpu_share:.0%} of a core (limit {limits.client_cpu_share:.0%})"
        )
    if intended_rate and achieved_rate is not None:
        ratio = achieved_rate / intended_rate
        if ratio < limits.achieved_rate_ratio:
            found.append(
                f"achieved {achieved_rate:.1f}/s, {ratio:.0%} of the intended {intended_rate:.1f}/s"
                f" (limit {limits.achieved_rate_ratio:.0%})"
            )
    lag_limit = send_lag_limit_ms(limits, intended_rate)
    if send_lag_p99_ms is not None and send_lag_p99_ms > lag_limit:
        found.append(f"send lag p99 {send_lag_p99_ms:.2f} ms > {lag_limit:.3g} ms")
    return found

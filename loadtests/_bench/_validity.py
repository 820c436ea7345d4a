"""Whether a block measured the proxy or the measuring side: INCONCLUSIVE with the reasons.

Operations
    rates(intended, sent) -> (intended rate, achieved rate)     per second, from send times
    reasons(limits, *, client_cpu_share, intended_rate, achieved_rate, send_lag_p99_ms,
            samples) -> [str]                                  empty when the block is valid

A block is inconclusive when the client used more than its share of a core (it measured
itself), sent slower than asked (the schedule was not honoured: an open loop that fell
behind), sent late (send lag p99: the event loop or the machine was busy), or has no samples.
Errors from the proxy are not reasons: they are measurements, counted in the samples.
"""

from __future__ import annotations

from collections.abc import Sequence

from loadtests._bench._plan import Limits

__all__ = ["rates", "reasons"]


def _rate(times: Sequence[float]) -> float | None:
    if len(times) < 2:
        return None
    span = max(times) - min(times)
    return (len(times) - 1) / span if span > 0 else None


def rates(intended: Sequence[float], sent: Sequence[float]) -> tuple[float | None, float | None]:
    """The intended and the achieved send rate of one block (requests per second)."""
    return _rate(intended), _rate(sent)


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
    if send_lag_p99_ms is not None and send_lag_p99_ms > limits.send_lag_p99_ms:
        found.append(f"send lag p99 {send_lag_p99_ms:.2f} ms > {limits.send_lag_p99_ms:g} ms")
    return found

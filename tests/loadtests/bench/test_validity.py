"""Validity: a block that measured the client or the machine is INCONCLUSIVE, with reasons."""

from __future__ import annotations

import pytest

from loadtests._bench._plan import Limits
from loadtests._bench._validity import rates, reasons, send_lag_limit_ms

LIMITS = Limits(client_cpu_share=0.85, achieved_rate_ratio=0.95, send_lag_p99_ms=5.0)


def _reasons(**overrides: object) -> list[str]:
    values: dict[str, object] = {"client_cpu_share": 0.1, "intended_rate": 10.0,
                                 "achieved_rate": 10.0, "send_lag_p99_ms": 0.5, "samples": 100}  # fmt: skip
    values.update(overrides)
    return reasons(LIMITS, **values)  # type: ignore[arg-type]


def test_a_healthy_block_is_valid() -> None:
    assert _reasons() == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"client_cpu_share": 0.9}, "the client used 90% of a core (limit 85%)"),
        ({"achieved_rate": 9.0}, "achieved 9.0/s, 90% of the intended 10.0/s (limit 95%)"),
        ({"send_lag_p99_ms": 10.5}, "send lag p99 10.50 ms > 10 ms"),
        (
            {"intended_rate": 60.0, "achieved_rate": 60.0, "send_lag_p99_ms": 7.25},
            "send lag p99 7.25 ms > 5 ms",
        ),
        ({"samples": 0}, "no measured requests"),
    ],
)
def test_each_limit_gives_its_reason(overrides: dict[str, object], expected: str) -> None:
    assert _reasons(**overrides) == [expected]


@pytest.mark.parametrize(
    ("intended_rate", "limit_ms"),
    [(None, 5.0), (1000.0, 5.0), (60.0, 5.0), (20.0, 5.0), (10.0, 10.0), (8.0, 12.5), (1.0, 100.0)],
)
def test_the_lag_limit_is_the_plans_or_a_tenth_of_the_mean_send_gap(
    intended_rate: float | None, limit_ms: float
) -> None:
    assert send_lag_limit_ms(LIMITS, intended_rate) == pytest.approx(limit_ms)


def test_a_slow_schedule_tolerates_a_late_wake_up_that_a_fast_one_does_not() -> None:
    assert _reasons(intended_rate=8.0, achieved_rate=8.0, send_lag_p99_ms=11.0) == []
    assert _reasons(intended_rate=60.0, achieved_rate=60.0, send_lag_p99_ms=11.0) == [
        "send lag p99 11.00 ms > 5 ms"
    ]


def test_a_closed_loop_has_no_rate_or_lag_to_judge() -> None:
    assert _reasons(intended_rate=None, send_lag_p99_ms=None) == []


def test_rates_count_gaps_between_sends() -> None:
    assert rates([0.0, 1.0, 2.0], [0.0, 1.0, 3.0]) == (1.0, pytest.approx(2 / 3))
    assert rates([0.0], [0.0]) == (None, None)

"""The soak's short variant (benchmarks/soak.py; its 60 s and 30 min runs are in
docs/performance.md): 20 streams for 10 s of normal, fault and hang-up requests against a real
`compatkit serve` in front of the emulator process, and the verdict that fails the soak."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.soak import Load, run_soak, verdict

CLEAN: dict[str, Any] = {
    "normal_failure_count": 0,
    "faults_unanswered_count": 0,
    "rss_growth_pct": 2.0,
    "fds_settled": 14,
    "fds_idle_before": 14,
}


def test_a_short_soak_leaves_no_request_unanswered_and_the_descriptors_at_idle() -> None:
    figures = run_soak(Load(seconds=10, streams=20, hang_ups=0.05))
    assert figures["normal_failures"] == []
    assert figures["faults_unanswered"] == []
    assert figures["fds_settled"] <= figures["fds_idle_before"]
    assert {kind.split(":")[0] for kind in figures["outcomes"]} == {"normal", "fault", "hang_up"}


def test_a_clean_soak_has_no_reason_to_fail() -> None:
    assert verdict(CLEAN, max_rss_growth_pct=10.0) == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"normal_failure_count": 1}, "1 normal requests failed"),
        ({"faults_unanswered_count": 3}, "3 fault requests got no answer"),
        ({"rss_growth_pct": 10.5}, "RSS grew 10.5 % after the warm-up"),
        ({"fds_settled": 15}, "15 descriptors 30 s after the load, 14 before it"),
    ],
)
def test_each_breach_is_a_reason_to_fail(change: dict[str, Any], reason: str) -> None:
    assert verdict({**CLEAN, **change}, max_rss_growth_pct=10.0) == [reason]

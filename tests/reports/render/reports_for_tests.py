"""Reports built from synthetic comparisons, shared by the renderers' tests."""

from __future__ import annotations

import dataclasses
from functools import cache

from reports.assert_latency import evaluate, parse_objective
from reports.measurements import Source
from reports.policy import load_policy
from reports.report import Report
from reports.rollout_guard import judge
from tests.reports.synthetic import Arms, comparison


@cache
def gate_report() -> Report:
    """Two comparisons: a slowdown (ROLLBACK) and a retry track with its win (two conditions)."""
    book = load_policy()
    fast = dataclasses.replace(book.for_track(None), resamples=300)
    slow = judge(
        [Source("slow.json", comparison(1, Arms(factor=1.25), rounds=3, requests=150))],
        fast,
        name="code change",
    )
    storm = comparison(
        2,
        Arms(baseline_errors=0.3, candidate_errors=0.02),
        rounds=3,
        requests=150,
        mode="open",
        track="ff_retry_policy_v2",
        inconclusive={("candidate", 2): "achieved rate 90 % of the target"},
    )
    retry = judge(
        [Source("storm.json", storm)],
        dataclasses.replace(book.for_track("ff_retry_policy_v2"), resamples=300),
    )
    return Report("compatkit gate", [slow, retry], command=["compatkit", "gate", "--quick"])


@cache
def slo_report() -> Report:
    source = Source("r.json", comparison(3, rounds=2, requests=100))
    outcomes, notes = evaluate(
        source,
        [
            parse_objective("candidate.ttft.p50 <= 5ms"),
            parse_objective("candidate.error_rate <= 0.1%"),
        ],
    )
    return Report("assert-latency", outcomes=outcomes, notes=notes)

"""benchmarks.gate_validation: the plan the gate's rates are measured on (the runs are real
and long: docs/gate.md § "Validating the gate"; here only what the plan is)."""

from __future__ import annotations

from benchmarks.gate_validation import validation_plan
from loadtests._bench import track_plan

FAST_PATH_QUICK = track_plan("ff_converter_fast_path").quick_version().load


def test_the_validation_plan_runs_two_proxies_at_once_like_a_code_change() -> None:
    slow = {"PYTHONPATH": "/tmp/site", "GATE_VALIDATION_DELAY_MS": "0.5"}
    plan = validation_plan(slow, flags={"ff_http2_pool_tuning": True})
    baseline, candidate = plan.arms
    assert (baseline.kind, candidate.kind) == ("process", "process")
    assert plan.interleaved and plan.proxy.restart == "never"
    assert baseline.flags == candidate.flags == {"ff_http2_pool_tuning": True}
    assert dict(candidate.env) == slow and not baseline.env  # the slowdown is the candidate's
    quick = plan.quick_version().load  # a --baseline-root run of the fast path track's size
    assert (quick.rate, quick.requests, quick.warmup) == (120, 240, 40)  # twice a block's
    assert quick.rounds == FAST_PATH_QUICK.rounds == 4


def test_the_validation_plan_can_be_measured_in_abba_blocks_with_the_shipped_flags() -> None:
    plan = validation_plan({}, interleave="block")
    assert not plan.interleaved
    quick = plan.quick_version().load  # the fast path track's CI size
    fast_path = FAST_PATH_QUICK
    assert (quick.rate, quick.requests, quick.warmup, quick.rounds) == (
        fast_path.rate,
        fast_path.requests,
        fast_path.warmup,
        fast_path.rounds,
    )
    assert all(not arm.flags for arm in plan.arms)  # none named: the proxy's shipped defaults

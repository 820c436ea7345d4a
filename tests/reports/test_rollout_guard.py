"""reports.rollout_guard: verdicts on arms from known distributions.

The properties the issue states: identical arms never roll back (beyond the stated α when
they are merely alike); a shift of k times the tolerance rolls back; swapping the arms
mirrors the verdict. And the rules around them: expected wins, inconclusive blocks, errors.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from reports.measurements import Source
from reports.policy import Policy, load_policy
from reports.rollout_guard import Judgement, judge
from reports.verdicts import Verdict
from tests.reports.synthetic import Arms, comparison

DEFAULT = load_policy().for_track(None)
# each example judges a whole document: fewer examples than the ci profile's 200
JUDGED = settings(max_examples=60)
# one statistic per latency family, few resamples: fast enough for properties
LEAN = dataclasses.replace(
    DEFAULT, metrics=("ttft", "e2e"), quantiles=("p50", "p99"), resamples=300, min_rounds=2
)


def run(doc: dict[str, Any], policy: Policy = LEAN, **kwargs: Any) -> Judgement:
    return judge([Source("r.json", doc)], policy, **kwargs)


def latency_checks(judgement: Judgement) -> list:
    return [c for c in judgement.checks if c.unit == "ms"]


def copied_arm(doc: dict[str, Any]) -> dict[str, Any]:
    """The document with the candidate's blocks replaced by copies of the baseline's."""
    twin = copy.deepcopy(doc)
    baseline = [b for b in twin["blocks"] if b["arm"] == "baseline"]
    twin["blocks"] = baseline + [{**copy.deepcopy(b), "arm": "candidate"} for b in baseline]
    return twin


@JUDGED
@given(st.integers(0, 10_000), st.integers(2, 5), st.floats(0.05, 0.6))
def test_identical_arms_never_roll_back(seed: int, rounds: int, sigma: float) -> None:
    strict = dataclasses.replace(
        LEAN,
        tolerance={"p50": 0.0, "p99": 0.0, "mean": 0.0},
        floor_ms={"p50": 0.0, "p99": 0.0, "mean": 0.0},
    )
    judgement = run(copied_arm(comparison(seed, rounds=rounds, requests=60, sigma=sigma)), strict)
    assert judgement.verdict is not Verdict.ROLLBACK
    for check in latency_checks(judgement):
        assert check.interval.low <= 1 <= check.interval.high


def test_alike_arms_roll_back_a_check_no_more_often_than_its_alpha() -> None:
    # tolerance and floor 0: the check rolls back whenever its interval lies above 1, which
    # for alike arms should happen at most alpha/2 of the time (one side of a 90 % interval)
    policy = dataclasses.replace(
        LEAN,
        metrics=("ttft",),
        quantiles=("p50",),
        confidence=0.9,
        tolerance={"p50": 0.0, "mean": 0.0},
        floor_ms={"p50": 0.0, "mean": 0.0},
    )
    trials = 200
    rollbacks = sum(
        run(comparison(seed, rounds=4, requests=60, round_sd=0.05), policy).checks[0].verdict
        is Verdict.ROLLBACK
        for seed in range(trials)
    )
    assert stats.binomtest(rollbacks, trials, 0.05, alternative="greater").pvalue > 0.01


def test_alike_arms_under_the_default_policy_do_not_roll_back() -> None:
    # the runs' A/A rate is measured on real runs (benchmarks/gate_validation.py)
    policy = dataclasses.replace(DEFAULT, resamples=400)
    trials = 20
    rollbacks = sum(
        run(comparison(1000 + seed, rounds=4, requests=100, round_sd=0.05), policy).verdict
        is Verdict.ROLLBACK
        for seed in range(trials)
    )
    assert rollbacks == 0


@JUDGED
@given(st.integers(0, 10_000), st.floats(3, 6), st.floats(0.03, 0.15))
def test_a_shift_of_k_times_the_tolerance_rolls_back(seed: int, k: float, tolerance: float) -> None:
    policy = dataclasses.replace(
        LEAN,
        tolerance={"p50": tolerance, "p99": tolerance, "mean": tolerance},
        floor_ms={"p50": 0.0, "p99": 0.0, "mean": 0.0},
    )
    doc = comparison(seed, Arms(factor=1 + k * tolerance), rounds=4, requests=200)
    judgement = run(doc, policy)
    assert judgement.verdict is Verdict.ROLLBACK
    assert any(c.verdict is Verdict.ROLLBACK and c.stat == "p50" for c in judgement.checks)


@JUDGED
@given(st.integers(0, 10_000), st.floats(0.7, 1.4), st.floats(-0.5, 0.5))
def test_swapping_the_arms_mirrors_the_verdict(seed: int, factor: float, shift: float) -> None:
    doc = comparison(seed, Arms(factor=factor, shift_ms=shift), rounds=3, requests=80)
    forward = run(doc)
    backward = run(doc, baseline="candidate", candidate="baseline")
    for there, back in zip(latency_checks(forward), latency_checks(backward), strict=True):
        assert there.id == back.id
        assert abs(there.interval.low * back.interval.high - 1) < 1e-9
        assert abs(there.interval.high * back.interval.low - 1) < 1e-9
        if there.verdict is Verdict.ROLLBACK:
            assert back.verdict is Verdict.PROMOTE


def test_a_twenty_percent_slowdown_rolls_back_and_swapped_it_promotes() -> None:
    doc = comparison(7, Arms(factor=1.2), rounds=4, requests=300)
    assert run(doc, DEFAULT).verdict is Verdict.ROLLBACK
    swapped = run(doc, DEFAULT, baseline="candidate", candidate="baseline")
    assert swapped.verdict is Verdict.PROMOTE, [c.decision.reason for c in swapped.checks]


def test_the_tracks_expected_win_must_be_shown() -> None:
    retry = load_policy().for_track("ff_retry_policy_v2")
    storm = comparison(3, Arms(baseline_errors=0.2, candidate_errors=0.01), rounds=4, requests=200)
    win = next(c for c in run(storm, retry).checks if c.metric == "success_rate")
    assert (win.kind, win.verdict) == ("win", Verdict.PROMOTE)
    calm = comparison(3, Arms(baseline_errors=0.2, candidate_errors=0.25), rounds=4, requests=400)
    judgement = run(calm, retry)
    absent = next(c for c in judgement.checks if c.metric == "success_rate")
    assert absent.verdict is Verdict.ROLLBACK
    assert absent.decision.reason.startswith("expected win absent")
    assert judgement.verdict is Verdict.ROLLBACK


def test_a_latency_win_is_judged_instead_of_the_regression_check() -> None:
    pool = load_policy().for_track("ff_http2_pool_tuning")
    judgement = run(comparison(4, Arms(factor=0.8), rounds=4, requests=200), pool)
    ttfb_p50 = [c for c in judgement.checks if (c.metric, c.stat) == ("ttfb", "p50")]
    assert [(c.kind, c.verdict) for c in ttfb_p50] == [("win", Verdict.PROMOTE)]
    assert judgement.verdict is Verdict.PROMOTE


def test_more_errors_in_the_candidate_roll_back() -> None:
    judgement = run(comparison(5, Arms(candidate_errors=0.1), rounds=4, requests=200))
    errors = next(c for c in judgement.checks if c.metric == "error_rate")
    assert errors.verdict is Verdict.ROLLBACK
    assert judgement.verdict is Verdict.ROLLBACK


def test_cpu_per_request_is_judged_per_round_totals() -> None:
    judgement = run(
        comparison(6, Arms(candidate_cpu_ms=1.5), rounds=4, requests=100),
        dataclasses.replace(LEAN, metrics=("cpu_per_request",)),
    )
    [cpu] = [c for c in judgement.checks if c.metric == "cpu_per_request"]
    assert cpu.interval.ratio == pytest.approx(1.5)
    assert cpu.verdict is Verdict.ROLLBACK


def test_inconclusive_blocks_are_never_judged() -> None:
    # the candidate's slow rounds were marked inconclusive by the runner: they must not count
    doc = comparison(8, Arms(factor=1.5), rounds=4, requests=100)
    fast = comparison(8, rounds=4, requests=100)
    marked = [
        {**b, "validity": {"status": "inconclusive", "reasons": ["achieved rate 80 % of target"]}}
        if b["arm"] == "candidate" and b["round"] < 2
        else b
        for b in doc["blocks"]
    ]
    fast_rounds = [b for b in fast["blocks"] if b["round"] >= 2]
    doc["blocks"] = [b for b in marked if b["round"] < 2] + fast_rounds
    judgement = run(doc)
    assert judgement.rounds == 2
    assert (
        sum("inconclusive, not judged (achieved rate 80 % of target)" in n for n in judgement.notes)
        == 2
    )
    assert judgement.verdict is not Verdict.ROLLBACK
    everything_marked = copy.deepcopy(doc)
    for b in everything_marked["blocks"]:
        b["validity"] = {"status": "inconclusive", "reasons": ["loader CPU 95 %"]}
    nothing = run(everything_marked)
    assert (nothing.verdict, nothing.checks) == (Verdict.HOLD, [])
    assert "no condition has valid blocks of both arms in the same round" in nothing.notes


def test_too_few_rounds_hold_however_clear_the_intervals() -> None:
    judgement = run(comparison(9, Arms(factor=2.0), rounds=2, requests=200), DEFAULT)
    assert judgement.verdict is Verdict.HOLD
    assert judgement.decision.reason == "2 paired valid round(s), the policy needs 3 before judging"


def test_one_round_is_judged_with_a_note_on_what_it_cannot_show() -> None:
    judgement = run(comparison(10, rounds=1, requests=200), dataclasses.replace(LEAN, min_rounds=1))
    assert any("one round per arm" in note for note in judgement.notes)
    assert any("throughput needs two rounds or more" in note for note in judgement.notes)
    assert not [c for c in judgement.checks if c.metric == "throughput"]


def test_a_code_change_with_the_same_flags_is_not_asked_for_the_tracks_win() -> None:
    doc = comparison(11, rounds=3, requests=150)
    for arm in doc["arms"]:
        arm["flags"] = {"ff_http2_pool_tuning": True}
    judgement = run(doc, load_policy().for_track("ff_http2_pool_tuning"))
    assert not [c for c in judgement.checks if c.kind == "win"]
    assert any("the track's expected win (ttfb.p50) is not asked for" in n for n in judgement.notes)

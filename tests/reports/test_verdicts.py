"""reports.verdicts: what an interval means against a tolerance, a floor, an expected win."""

from __future__ import annotations

import math

import pytest

from reports import verdicts
from reports.statistics import Interval
from reports.verdicts import Decision, Verdict


def ratio(point: float, low: float, high: float, baseline: float = 10.0) -> Interval:
    """A ratio interval on a baseline of `baseline` ms (differences follow from it)."""
    return Interval(
        baseline,
        baseline * point,
        point,
        low,
        high,
        baseline * (point - 1),
        baseline * (low - 1),
        baseline * (high - 1),
        0.95,
    )


def points(baseline: float, candidate: float, low: float, high: float) -> Interval:
    difference = candidate - baseline
    return Interval(baseline, candidate, difference, low, high, difference, low, high, 0.95)


def test_exit_codes_are_the_commands_contract() -> None:
    assert [v.exit_code for v in Verdict] == [0, 3, 1]
    assert Verdict.worst([Verdict.PROMOTE, Verdict.HOLD]) is Verdict.HOLD
    assert Verdict.worst([Verdict.HOLD, Verdict.ROLLBACK, Verdict.PROMOTE]) is Verdict.ROLLBACK
    assert Verdict.worst([]) is Verdict.PROMOTE


def test_a_regression_established_beyond_tolerance_and_floor_rolls_back() -> None:
    decision = verdicts.regression(ratio(1.2, 1.12, 1.3), 0.05, 0.1, 4)
    assert decision.verdict is Verdict.ROLLBACK
    assert decision.reason == "slower: +20.0% [+12.0%, +30.0%], beyond +5.0% and 0.1 ms"


def test_an_interval_within_tolerance_promotes() -> None:
    decision = verdicts.regression(ratio(1.01, 0.98, 1.04), 0.05, 0.1, 4)
    assert decision.verdict is Verdict.PROMOTE
    assert decision.reason.startswith("within +5.0%")


def test_a_change_below_the_absolute_floor_is_immaterial() -> None:
    # +20 % of 0.2 ms is 0.04 ms: under a 0.05 ms floor, whatever the ratio says
    decision = verdicts.regression(ratio(1.2, 1.1, 1.24, baseline=0.2), 0.05, 0.05, 4)
    assert decision.verdict is Verdict.PROMOTE
    assert "0.05 ms floor" in decision.reason


def test_beyond_tolerance_but_not_beyond_the_floor_holds_and_says_so() -> None:
    decision = verdicts.regression(ratio(1.2, 1.1, 1.3, baseline=0.5), 0.05, 0.1, 4)
    assert decision.verdict is Verdict.HOLD
    assert "undecided against the 0.1 ms floor" in decision.reason


def test_an_interval_straddling_the_tolerance_holds_with_the_rounds_it_needs() -> None:
    decision = verdicts.regression(ratio(1.06, 1.02, 1.10), 0.05, 0.0, 4)
    assert decision.verdict is Verdict.HOLD
    assert decision.reason.startswith("undecided against +5.0%")
    assert 4 < decision.extra_rounds < 100


def test_no_interval_holds_with_no_promise_of_rounds() -> None:
    nan = math.nan
    decision = verdicts.regression(
        Interval(1, nan, nan, nan, nan, nan, nan, nan, 0.95), 0.05, 0.1, 4
    )
    assert decision == Decision(Verdict.HOLD, "no interval: too few values in an arm", math.inf)


@pytest.mark.parametrize(
    ("interval", "expected"),
    [
        (ratio(0.8, 0.75, 0.85), Verdict.PROMOTE),
        (ratio(1.0, 1.0, 1.03), Verdict.ROLLBACK),
        (ratio(0.97, 0.93, 1.01), Verdict.HOLD),
    ],
)
def test_an_expected_win_must_be_shown(interval: Interval, expected: Verdict) -> None:
    assert verdicts.win(interval, 0.0, 4).verdict is expected


def test_a_win_can_ask_for_a_minimum_improvement() -> None:
    assert verdicts.win(ratio(0.93, 0.9, 0.96), 0.05, 4).verdict is Verdict.HOLD
    assert verdicts.win(ratio(0.93, 0.9, 0.94), 0.05, 4).verdict is Verdict.PROMOTE


def test_a_throughput_win_reads_the_ratio_the_other_way() -> None:
    assert (
        verdicts.win(ratio(1.25, 1.2, 1.3), 0.0, 4, higher_is_better=True).verdict
        is Verdict.PROMOTE
    )
    assert (
        verdicts.win(ratio(0.9, 0.85, 0.95), 0.0, 4, higher_is_better=True).verdict
        is Verdict.ROLLBACK
    )


def test_a_success_rate_win_is_judged_in_points() -> None:
    up = points(0.8, 0.98, 0.15, 0.21)
    assert verdicts.rate_win(up, 0.0, 4, higher_is_better=True).verdict is Verdict.PROMOTE
    flat = points(0.8, 0.8, -0.03, 0.0)
    assert verdicts.rate_win(flat, 0.0, 4, higher_is_better=True).verdict is Verdict.ROLLBACK
    assert (
        verdicts.rate_win(points(0.2, 0.02, -0.21, -0.15), 0.0, 4, higher_is_better=False).verdict
        is Verdict.PROMOTE
    )


@pytest.mark.parametrize(
    ("interval", "expected"),
    [
        (points(0.0, 0.05, 0.03, 0.07), Verdict.ROLLBACK),  # established: five points more
        (points(0.0, 0.0, -0.004, 0.004), Verdict.PROMOTE),  # no error either side
        (points(0.0, 0.003, -0.002, 0.01), Verdict.HOLD),  # more, not established
        (points(0.2, 0.01, -0.21, -0.17), Verdict.PROMOTE),  # fewer errors
    ],
)
def test_errors_roll_back_only_on_evidence(interval: Interval, expected: Verdict) -> None:
    assert verdicts.errors(interval, 0.001, 4).verdict is expected


@pytest.mark.parametrize(
    ("interval", "expected"),
    [
        (ratio(0.8, 0.75, 0.85), Verdict.ROLLBACK),
        (ratio(0.99, 0.9, 1.05), Verdict.PROMOTE),
        (ratio(0.93, 0.88, 0.99), Verdict.HOLD),
    ],
)
def test_throughput_may_drop_only_by_its_tolerance(interval: Interval, expected: Verdict) -> None:
    assert verdicts.throughput(interval, 0.05, 4).verdict is expected


def test_overall_rolls_back_on_any_rollback_and_promotes_only_when_all_promote() -> None:
    promote, hold, rollback = (
        Decision(Verdict.PROMOTE, "ok"),
        Decision(Verdict.HOLD, "?", 3.2),
        Decision(Verdict.ROLLBACK, "no"),
    )
    assert verdicts.overall([promote, hold, rollback], 4, 3, 6).verdict is Verdict.ROLLBACK
    assert verdicts.overall([promote, promote], 4, 3, 6).verdict is Verdict.PROMOTE
    held = verdicts.overall([promote, hold], 4, 3, 6)
    assert (held.verdict, held.extra_rounds) == (Verdict.HOLD, 3.2)
    assert held.reason == "1 check(s) undecided; about 4 more round(s)"


def test_overall_holds_with_too_few_rounds_whatever_the_checks_say() -> None:
    rollback = Decision(Verdict.ROLLBACK, "no")
    decision = verdicts.overall([rollback], 2, 3, 6)
    assert (decision.verdict, decision.extra_rounds) == (Verdict.HOLD, 1)


def test_overall_says_when_the_policy_cannot_afford_the_rounds() -> None:
    decision = verdicts.overall([Decision(Verdict.HOLD, "?", 40)], 4, 3, 6)
    assert decision.verdict is Verdict.HOLD
    assert "more than the 6 extra rounds the policy allows" in decision.reason


def test_a_check_leaning_to_rollback_gets_its_rounds_when_all_would_need_too_many() -> None:
    leaning = verdicts.regression(ratio(1.12, 1.03, 1.22), 0.05, 0.1, 3)
    assert (leaning.verdict, leaning.leans_rollback) == (Verdict.HOLD, True)
    assert not verdicts.regression(ratio(1.02, 0.9, 1.15), 0.05, 0.1, 3).leans_rollback
    wide = Decision(Verdict.HOLD, "?", 40)
    decision = verdicts.overall([wide, leaning], 3, 3, 6)
    assert decision.verdict is Verdict.HOLD
    assert decision.extra_rounds == leaning.extra_rounds <= 6
    assert "might establish a regression" in decision.reason
    # within the policy's rounds, every check is worth deciding: the largest need stands
    assert verdicts.overall([Decision(Verdict.HOLD, "?", 5), leaning], 3, 3, 6).extra_rounds == 5
    # a leaning check that needs more than allowed changes nothing
    far = Decision(Verdict.HOLD, "?", 9, leans_rollback=True)
    assert "more than the 6 extra rounds" in verdicts.overall([wide, far], 3, 3, 6).reason


def test_nothing_to_judge_is_not_a_promotion() -> None:
    assert verdicts.overall([], 4, 3, 6).verdict is Verdict.HOLD

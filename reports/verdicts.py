"""Verdicts: what an interval means against a tolerance, per check and overall.

Operations
    Verdict                         PROMOTE, HOLD, ROLLBACK; `.exit_code` (0, 3, 1);
                                    Verdict.worst(verdicts)
    Decision(verdict, reason, extra_rounds, leans_rollback)
    regression(interval, tolerance, floor, rounds, *, unit) -> Decision
                                    a quantile (or mean) that must not get slower
    win(interval, min_improvement, rounds, *, higher_is_better=False) -> Decision
                                    a track's expected win: faster, cheaper (or more per second)
    rate_win(interval, min_improvement, rounds, *, higher_is_better) -> Decision
                                    an expected win on success (or error) rate
    errors(interval, max_increase, rounds) -> Decision
                                    the candidate's error rate must not grow beyond a tolerance
    throughput(interval, max_decrease, rounds) -> Decision
    overall(decisions, rounds, min_rounds, max_extra_rounds) -> Decision

Goals
    The rules a release owner can repeat: ROLLBACK when a regression beyond tolerance is
    established (the whole interval lies beyond it, and beyond the absolute floor), or errors
    got worse, or an expected win is established absent; PROMOTE when every check is
    established within tolerance; HOLD otherwise, with the rounds the evidence suggests
    (to decide every check, or, when that is more than the policy allows, to establish a
    regression a check leans toward). Reasons are one line of plain words with the numbers.

Plan
    Pure functions of intervals (reports.statistics.Interval) and policy numbers. A ratio
    interval is read on the log scale, a difference on the linear one; `extra_rounds` says
    how many more rounds the interval needs to clear the boundary it straddles.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable
from dataclasses import dataclass

from reports.statistics import Interval, extra_rounds


class Verdict(enum.Enum):
    """A check's or a comparison's outcome; `exit_code` is the commands' exit status."""

    PROMOTE = "PROMOTE"
    HOLD = "HOLD"
    ROLLBACK = "ROLLBACK"

    @property
    def exit_code(self) -> int:
        return {"PROMOTE": 0, "ROLLBACK": 1, "HOLD": 3}[self.value]

    @staticmethod
    def worst(verdicts: Iterable[Verdict]) -> Verdict:
        order = [Verdict.PROMOTE, Verdict.HOLD, Verdict.ROLLBACK]
        return max(verdicts, key=order.index, default=Verdict.PROMOTE)


@dataclass(frozen=True)
class Decision:
    """A verdict, why (one line), and for HOLD the rounds that might decide it (inf: none)
    and whether the estimate leans toward a rollback (beyond tolerance and floor, not yet
    established)."""

    verdict: Verdict
    reason: str
    extra_rounds: float = 0.0
    leans_rollback: bool = False


def regression(
    interval: Interval, tolerance: float, floor: float, rounds: int, *, unit: str = "ms"
) -> Decision:
    """Judge a quantile (or mean) that must not get slower than tolerance and floor allow."""
    if not _finite(interval.difference_low, interval.difference_high):
        return Decision(Verdict.HOLD, "no interval: too few values in an arm", math.inf)
    if not _finite(interval.low, interval.high):
        return _floor_only(interval, floor, rounds, unit)
    limit = 1 + tolerance
    shown = _changes(interval)
    beyond = f"+{tolerance:.1%} and {floor:g} {unit}"
    if interval.low > limit and interval.difference_low > floor:
        return Decision(Verdict.ROLLBACK, f"slower: {shown}, beyond {beyond}")
    if interval.high <= limit:
        return Decision(Verdict.PROMOTE, f"within +{tolerance:.1%}: {shown}")
    if interval.difference_high <= floor:
        return Decision(
            Verdict.PROMOTE,
            f"within the {floor:g} {unit} floor: {_difference(interval, unit)}",
        )
    if interval.low > limit:
        # slower beyond the tolerance, but not established beyond the absolute floor
        reason = f"slower by {shown}, undecided against the {floor:g} {unit} floor: " + (
            _difference(interval, unit)
        )
    else:
        reason = f"undecided against +{tolerance:.1%}: {shown}"
    by_ratio = extra_rounds(
        interval.low, interval.high, interval.ratio, limit, rounds, log_scale=True
    )
    by_floor = extra_rounds(
        interval.difference_low,
        interval.difference_high,
        interval.difference,
        floor,
        rounds,
        log_scale=False,
    )
    # rolling back needs both bounds cleared; promoting needs either
    worse = interval.ratio > limit and interval.difference > floor
    needed = max(by_ratio, by_floor) if worse else min(by_ratio, by_floor)
    return _hold(reason, needed, leans_rollback=worse)


def _floor_only(interval: Interval, floor: float, rounds: int, unit: str) -> Decision:
    """A ratio without meaning (a quantile of zero): the absolute floor alone decides."""
    shown = f"{_difference(interval, unit)} (a zero quantile: no ratio)"
    if interval.difference_low > floor:
        return Decision(Verdict.ROLLBACK, f"slower: {shown}, beyond {floor:g} {unit}")
    if interval.difference_high <= floor:
        return Decision(Verdict.PROMOTE, f"within the {floor:g} {unit} floor: {shown}")
    needed = extra_rounds(
        interval.difference_low,
        interval.difference_high,
        interval.difference,
        floor,
        rounds,
        log_scale=False,
    )
    return _hold(f"undecided against the {floor:g} {unit} floor: {shown}", needed)


def win(
    interval: Interval, min_improvement: float, rounds: int, *, higher_is_better: bool = False
) -> Decision:
    """Judge an expected win: the ratio must improve by at least `min_improvement`.

    Lower is better for latencies and CPU; `higher_is_better` for throughput (the interval
    is then read inverted, so the same rule applies).
    """
    if not _finite(interval.low, interval.high):
        return Decision(Verdict.HOLD, "expected win: no interval (too few values)", math.inf)
    shown = _changes(interval)
    if higher_is_better:
        interval = _inverted(interval)
    target = 1 - min_improvement
    wanted = "any improvement" if min_improvement == 0 else f"-{min_improvement:.1%}"
    if interval.high < target:
        return Decision(Verdict.PROMOTE, f"expected win shown: {shown}")
    if interval.low >= target:
        return Decision(Verdict.ROLLBACK, f"expected win absent ({wanted} wanted): {shown}")
    needed = extra_rounds(
        interval.low, interval.high, interval.ratio, target, rounds, log_scale=True
    )
    return _hold(f"expected win not established ({wanted} wanted): {shown}", needed)


def rate_win(
    interval: Interval, min_improvement: float, rounds: int, *, higher_is_better: bool
) -> Decision:
    """Judge an expected win on a rate: the difference must clear `min_improvement` points."""
    sign = 1 if higher_is_better else -1
    low, high = sorted((sign * interval.difference_low, sign * interval.difference_high))
    shown = _points(interval)
    wanted = "any improvement" if min_improvement == 0 else f"+{min_improvement * 100:.2g} points"
    if low > min_improvement:
        return Decision(Verdict.PROMOTE, f"expected win shown: {shown}")
    if high <= min_improvement:
        return Decision(Verdict.ROLLBACK, f"expected win absent ({wanted} wanted): {shown}")
    needed = extra_rounds(
        low, high, sign * interval.difference, min_improvement, rounds, log_scale=False
    )
    return _hold(f"expected win not established ({wanted} wanted): {shown}", needed)


def errors(interval: Interval, max_increase: float, rounds: int) -> Decision:
    """The error rate may not grow by more than `max_increase` (a proportion) on evidence.

    Errors are rare, so a small run cannot establish a difference below a tenth of a point:
    the check rolls back on an established increase, holds on an observed but unestablished
    one, and passes otherwise.
    """
    shown = _points(interval)
    allowed = f"+{max_increase * 100:.2g} points"
    if interval.difference_low > max_increase:
        return Decision(Verdict.ROLLBACK, f"more errors: {shown}, beyond {allowed}")
    if interval.difference <= max_increase:
        return Decision(Verdict.PROMOTE, f"within {allowed}: {shown}")
    needed = extra_rounds(
        interval.difference_low,
        interval.difference_high,
        interval.difference,
        max_increase,
        rounds,
        log_scale=False,
    )
    return _hold(f"more errors, not established beyond {allowed}: {shown}", needed)


def throughput(interval: Interval, max_decrease: float, rounds: int) -> Decision:
    """Successful responses per second may not drop by more than `max_decrease` on evidence."""
    if not _finite(interval.low, interval.high):
        return Decision(Verdict.HOLD, "no interval: no successful response in an arm", math.inf)
    floor = 1 - max_decrease
    shown = _changes(interval)
    if interval.high < floor:
        return Decision(Verdict.ROLLBACK, f"fewer successful responses per second: {shown}")
    if interval.ratio >= floor:
        return Decision(Verdict.PROMOTE, f"within -{max_decrease:.1%}: {shown}")
    needed = extra_rounds(
        interval.low, interval.high, interval.ratio, floor, rounds, log_scale=True
    )
    return _hold(f"fewer per second, not established: {shown}", needed)


def overall(
    decisions: Iterable[Decision], rounds: int, min_rounds: int, max_extra_rounds: int
) -> Decision:
    """The comparison's verdict from its checks, and the rounds to add on HOLD."""
    decisions = list(decisions)
    if rounds < min_rounds:
        return Decision(
            Verdict.HOLD,
            f"{rounds} paired valid round(s), the policy needs {min_rounds} before judging",
            min_rounds - rounds,
        )
    if not decisions:
        return Decision(Verdict.HOLD, "nothing to judge: no check has data in both arms", math.inf)
    counts = {v: sum(d.verdict is v for d in decisions) for v in Verdict}
    if counts[Verdict.ROLLBACK]:
        return Decision(Verdict.ROLLBACK, f"{counts[Verdict.ROLLBACK]} check(s) call for rollback")
    if not counts[Verdict.HOLD]:
        return Decision(Verdict.PROMOTE, f"all {len(decisions)} checks within policy")
    held = [d for d in decisions if d.verdict is Verdict.HOLD]
    needed = max(d.extra_rounds for d in held)
    undecided = f"{counts[Verdict.HOLD]} check(s) undecided"
    # one established regression decides the comparison: when deciding every check would
    # take more rounds than allowed, the rounds that might establish a leaning one are worth it
    rollback = min((d.extra_rounds for d in held if d.leans_rollback), default=math.inf)
    if needed > max_extra_rounds >= rollback:
        return _hold(
            f"{undecided}; about {math.ceil(rollback)} more round(s) might establish a "
            f"regression (deciding them all would need more than {max_extra_rounds})",
            rollback,
        )
    if needed > max_extra_rounds:
        return Decision(
            Verdict.HOLD,
            f"{undecided}; more than the {max_extra_rounds} extra rounds the policy allows "
            "would be needed",
            needed,
        )
    return _hold(f"{undecided}; about {math.ceil(needed)} more round(s)", needed)


def _hold(reason: str, needed: float, *, leans_rollback: bool = False) -> Decision:
    """HOLD, with at least one more round: an undecided check was not decided by this many."""
    return Decision(Verdict.HOLD, reason, max(1.0, needed), leans_rollback)


def _inverted(interval: Interval) -> Interval:
    """The baseline/candidate reading of a candidate/baseline interval."""
    return Interval(
        interval.candidate,
        interval.baseline,
        1 / interval.ratio,
        1 / interval.high,
        1 / interval.low,
        -interval.difference,
        -interval.difference_high,
        -interval.difference_low,
        interval.confidence,
    )


def _finite(*values: float) -> bool:
    return all(math.isfinite(v) for v in values)


def _change_of(ratio: float) -> str:
    return f"{ratio - 1:+.1%}"


def _changes(interval: Interval) -> str:
    """The ratio as a change with its interval: "+3.2% [+1.0%, +5.4%]"."""
    return f"{_change_of(interval.ratio)} [{_change_of(interval.low)}, {_change_of(interval.high)}]"


def _difference(interval: Interval, unit: str) -> str:
    return (
        f"{interval.difference:+.3g} {unit} "
        f"[{interval.difference_low:+.3g}, {interval.difference_high:+.3g}]"
    )


def _points(interval: Interval) -> str:
    return (
        f"{interval.baseline:.2%} -> {interval.candidate:.2%}, "
        f"{interval.difference * 100:+.2f} points "
        f"[{interval.difference_low * 100:+.2f}, {interval.difference_high * 100:+.2f}]"
    )

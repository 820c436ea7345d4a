"""How a check reads in every report: its change with the interval, and what was allowed.

Operations
    change(check) -> str        "+3.2 % [+1.0 %, +5.4 %]" or "+0.10 points [-0.20, +0.40]"
    allowed(check) -> str       "+5 % or 0.1 ms", "must improve", "+0.1 points", "-5 %"
    measured(check, side) -> str    the baseline's or the candidate's value with its unit
"""

from __future__ import annotations

from reports.report import format_value
from reports.rollout_guard import Check


def change(check: Check) -> str:
    interval = check.interval
    if check.unit == "%":
        return (
            f"{interval.difference * 100:+.2f} points "
            f"[{interval.difference_low * 100:+.2f}, {interval.difference_high * 100:+.2f}]"
        )
    return f"{_percent(interval.ratio)} [{_percent(interval.low)}, {_percent(interval.high)}]"


def allowed(check: Check) -> str:
    if check.kind == "win":
        if check.tolerance == 0:
            return "must improve"
        amount = (
            f"{check.tolerance * 100:.2g} points" if check.unit == "%" else f"{check.tolerance:.1%}"
        )
        return f"must improve by {amount}"
    if check.kind == "errors":
        return f"at most +{check.tolerance * 100:.2g} points"
    if check.kind == "throughput":
        return f"at most -{check.tolerance:.1%}"
    return f"at most +{check.tolerance:.1%} or {check.floor:g} {check.unit}"


def measured(check: Check, side: str) -> str:
    value = check.interval.baseline if side == "baseline" else check.interval.candidate
    return format_value(value, check.unit)


def _percent(ratio: float) -> str:
    if ratio != ratio:  # nan
        return "n/a"
    return f"{ratio - 1:+.1%}"

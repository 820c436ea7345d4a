"""assert_latency: absolute service-level objectives on one arm of a result file.

Operations
    parse_objective(text) -> Objective      the strict grammar below; ObjectiveError (one line)
    evaluate(source, objectives, *, coordinated_omission=True) -> list[Outcome]
                                            each objective on each condition its arm measured
    Objective                               arm, metric, statistic, operator, threshold
    Outcome                                 measured value, met or not, and a note when the
                                            sample is too small for the statistic

Grammar (spaces around the operator are optional)
    OBJECTIVE := ARM "." METRIC ["." STATISTIC] OPERATOR NUMBER [UNIT]
    METRIC    := ttfb | ttft | itl | tpot | e2e        STATISTIC: pNN[.N] | mean | max (required)
               | cpu_per_request                       STATISTIC: mean (optional)
               | error_rate | success_rate             no statistic; UNIT % or none (a fraction)
               | throughput                            no statistic; UNIT /s or rps (required)
    OPERATOR  := <= | < | >= | >
    UNIT      := ms | s | us | µs for times (required)
    e.g.  candidate.ttft.p50 <= 5ms    candidate.error_rate <= 0.1%    baseline.throughput >= 40/s

Goals
    An objective is checked on the arm's valid blocks only, once per condition (workload and
    load), so "p99 below 50 ms" must hold at every load measured, not on a blend of them.
    A typo is an error, never an objective silently checked on nothing.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from reports import statistics
from reports.measurements import ArmRef, RoundData, Source, measure_arm
from reports.vocabulary import (
    CPU_METRIC,
    LATENCY_METRICS,
    RATE_METRICS,
    THROUGHPUT_METRIC,
    parse_quantile,
)

_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
}
_TIME_UNITS = {"ms": 1.0, "s": 1000.0, "us": 0.001, "µs": 0.001}
_METRICS = (*LATENCY_METRICS, CPU_METRIC, *RATE_METRICS, THROUGHPUT_METRIC)
_SYNTAX = re.compile(
    r"\s*(?P<arm>[A-Za-z0-9_.-]+?)\.(?P<metric>" + "|".join(_METRICS) + r")"
    r"(?:\.(?P<stat>[A-Za-z0-9.]+))?"
    r"\s*(?P<op><=|>=|<|>)\s*(?P<number>[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)"
    r"\s*(?P<unit>[^\s0-9]*)\s*"
)


class ObjectiveError(ValueError):
    """An objective that does not parse or names nothing in the file; one line."""


@dataclass(frozen=True)
class Objective:
    """One service-level objective; the threshold is in ms, a fraction, or per second."""

    text: str
    arm: str
    metric: str
    stat: str | None
    operator: str
    threshold: float

    def holds(self, value: float) -> bool:
        return math.isfinite(value) and _OPERATORS[self.operator](value, self.threshold)


@dataclass(frozen=True)
class Outcome:
    """An objective measured on one condition."""

    objective: Objective
    condition: str
    value: float
    samples: int
    note: str = ""

    @property
    def met(self) -> bool:
        return self.objective.holds(self.value)


def parse_objective(text: str) -> Objective:
    """Parse one objective strictly; ObjectiveError says what is wrong and what is allowed."""
    match = _SYNTAX.fullmatch(text)
    if match is None:
        raise ObjectiveError(_why_not(text))
    metric, stat, unit = match["metric"], match["stat"], match["unit"]
    number = float(match["number"])
    where = f"{text!r}: {metric}"
    if metric in LATENCY_METRICS or metric == CPU_METRIC:
        stat = _statistic(where, metric, stat)
        if unit not in _TIME_UNITS:
            raise ObjectiveError(
                f"{where} is a time: give a unit (ms, s or us), not {unit or 'none'!r}"
            )
        threshold = number * _TIME_UNITS[unit]
    elif metric in RATE_METRICS:
        if stat is not None:
            raise ObjectiveError(f"{where} takes no statistic (drop .{stat})")
        if unit not in ("", "%"):
            raise ObjectiveError(
                f"{where} is a share: give a percentage (0.1%) or a fraction (0.001)"
            )
        threshold = number / 100 if unit == "%" else number
        if threshold > 1:
            raise ObjectiveError(f"{where}: {number:g}{unit} is more than all requests")
    else:
        if stat is not None:
            raise ObjectiveError(f"{where} takes no statistic (drop .{stat})")
        if unit not in ("/s", "rps"):
            raise ObjectiveError(f"{where} is a rate: give it per second (40/s or 40rps)")
        threshold = number
    return Objective(text.strip(), match["arm"], metric, stat, match["op"], threshold)


def evaluate(
    source: Source, objectives: Sequence[Objective], *, coordinated_omission: bool = True
) -> tuple[list[Outcome], list[str]]:
    """Every objective on every condition of its arm, and the notes on left-out blocks."""
    outcomes: list[Outcome] = []
    notes: list[str] = []
    for objective in objectives:
        arm = _arm(source, objective)
        conditions, arm_notes = measure_arm(
            [source], ArmRef(0, arm), coordinated_omission=coordinated_omission
        )
        notes += [n for n in arm_notes if n not in notes]
        if not conditions:
            outcomes.append(Outcome(objective, "(no valid block)", math.nan, 0, "nothing measured"))
        for condition, rounds in conditions.items():
            outcomes.append(_measure(objective, condition, rounds))
    return outcomes, notes


def _arm(source: Source, objective: Objective) -> str:
    if objective.arm in source.arm_names:
        return objective.arm
    by_role: list[str] = [a["name"] for a in source.document["arms"] if a["role"] == objective.arm]
    if len(by_role) == 1:
        return by_role[0]
    raise ObjectiveError(
        f"{objective.text!r}: {source.name} has no arm {objective.arm!r} "
        f"(arms: {', '.join(source.arm_names)})"
    )


def _measure(objective: Objective, condition: str, rounds: Sequence[RoundData]) -> Outcome:
    metric, stat = objective.metric, objective.stat
    requests = sum(r.requests for r in rounds)
    successes = sum(r.successes for r in rounds)
    if metric in LATENCY_METRICS:
        values = np.concatenate([r.clustered(metric).values for r in rounds])
        if values.size == 0:
            return Outcome(objective, condition, math.nan, 0, f"no {metric} measured")
        if stat == "mean":
            return Outcome(objective, condition, float(values.mean()), values.size)
        if stat == "max":
            return Outcome(objective, condition, float(values.max()), values.size)
        assert stat is not None
        q = parse_quantile(stat)
        return Outcome(
            objective,
            condition,
            statistics.quantile(values, q),
            values.size,
            _too_few(values.size, q, stat),
        )
    if metric == CPU_METRIC:
        if any(r.proxy_cpu_s is None for r in rounds) or not requests:
            return Outcome(
                objective, condition, math.nan, requests, "proxy CPU not measured per arm"
            )
        cpu_ms = sum(r.proxy_cpu_s or 0.0 for r in rounds) * 1000
        return Outcome(objective, condition, cpu_ms / requests, requests)
    if metric in RATE_METRICS:
        if not requests:
            return Outcome(objective, condition, math.nan, 0, "no request")
        counted = successes if metric == "success_rate" else requests - successes
        return Outcome(objective, condition, counted / requests, requests)
    duration = sum(r.duration_s for r in rounds)
    rate = successes / duration if duration > 0 else math.nan
    return Outcome(objective, condition, rate, requests)


def _statistic(where: str, metric: str, stat: str | None) -> str:
    if metric == CPU_METRIC:
        if stat not in (None, "mean"):
            raise ObjectiveError(f"{where} is a mean per request: drop .{stat} (or write .mean)")
        return "mean"
    if stat is None:
        raise ObjectiveError(f"{where} needs a statistic: .p50, .p99, .p99.9, .mean or .max")
    if stat in ("mean", "max"):
        return stat
    try:
        parse_quantile(stat)
    except ValueError as exc:
        raise ObjectiveError(f"{where}: {exc}") from None
    return stat


def _why_not(text: str) -> str:
    example = "e.g. 'candidate.ttft.p50 <= 5ms'"
    left = re.split(r"[<>=]", text, maxsplit=1)[0].strip()
    parts = left.split(".")
    if parts[0] in _METRICS:
        return f"{text!r}: start with the arm: ARM.{left} ({example})"
    if len(parts) < 2:
        return f"{text!r}: write ARM.METRIC[.STAT] OP VALUE ({example})"
    if not any(part in _METRICS for part in parts[1:]):
        return f"{text!r}: unknown metric {parts[1]!r} (known: {', '.join(_METRICS)})"
    if not re.search(r"<=|>=|<|>", text):
        return f"{text!r}: no comparison: use <=, <, >= or > ({example})"
    return f"{text!r}: write ARM.METRIC[.STAT] OP VALUE ({example})"


def _too_few(n: int, q: float, stat: str) -> str:
    """A note when n values cannot bound the quantile with 95 % confidence, distribution-free."""
    tail = max(q, 1 - q)
    needed = math.ceil(math.log(0.025) / math.log(tail))
    if n >= needed:
        return ""
    return f"{stat} from {n} values: a distribution-free 95 % interval needs {needed}; read it as rough"

"""rollout_guard: judge a candidate against a baseline from result files, check by check.

Operations
    judge(sources, policy, *, baseline=None, candidate=None, per_arm_files=False, name=None)
        -> Judgement                every check of every condition, and the overall verdict
    Check                           one metric at one statistic in one condition: its interval,
                                    tolerance, verdict and reason (and, for latencies, the rank
                                    test and the per-round ratios)
    Judgement                       a comparison: its checks, verdict, notes and the measured
                                    data the reports draw

Goals
    One function from validated documents to a verdict a release owner can trust and read:
    which checks decided it, with which numbers. Nothing here reads or writes files
    (reports.cli does), and nothing here knows how a run was made.

Plan
    reports.measurements keeps the paired valid rounds of each condition; per condition:
    the latency quantiles come from one hierarchical bootstrap over all latency metrics
    (reports.statistics.quantile_ratios), widened to cover the spread of the per-round
    ratios (statistics.with_round_spread), CPU per request and throughput from Student's t on
    the rounds' log ratios (one value per arm per round), the error rate from Newcombe's
    interval; reports.verdicts turns each
    interval into a decision and the decisions into the verdict.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from reports import statistics, verdicts
from reports.measurements import (
    ArmRef,
    ConditionData,
    Measured,
    RoundData,
    Source,
    arms_across,
    arms_within,
    measure,
)
from reports.policy import Policy
from reports.statistics import Interval, RankTest
from reports.verdicts import Decision, Verdict
from reports.vocabulary import CPU_METRIC, LATENCY_METRICS, THROUGHPUT_METRIC, parse_quantile


@dataclass(frozen=True)
class Check:
    """One judged statistic: `kind` is regression, win, errors or throughput."""

    condition: str
    metric: str
    stat: str
    kind: str
    unit: str
    interval: Interval
    tolerance: float
    floor: float | None
    decision: Decision
    rank: RankTest | None = None
    per_round: tuple[tuple[str, Interval], ...] = ()

    @property
    def id(self) -> str:
        return f"{self.condition} / {self.label}"

    @property
    def label(self) -> str:
        return self.metric if self.stat == "rate" else f"{self.metric} {self.stat}"

    @property
    def verdict(self) -> Verdict:
        return self.decision.verdict


@dataclass
class Judgement:
    """A comparison of two arms: what was judged, the verdict, and what the reports draw."""

    name: str
    track: str | None
    sources: list[Source]
    baseline: str
    candidate: str
    policy: Policy
    measured: Measured
    checks: list[Check]
    decision: Decision
    rounds: int
    notes: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> Verdict:
        return self.decision.verdict


def judge(
    sources: Sequence[Source],
    policy: Policy,
    *,
    baseline: str | None = None,
    candidate: str | None = None,
    per_arm_files: bool = False,
    name: str | None = None,
) -> Judgement:
    """Judge the candidate arm against the baseline arm of `sources`.

    Several sources are runs of one plan (their rounds add up), unless `per_arm_files`:
    then there are two, the baseline's file and the candidate's. When both arms run the same
    flags (this tree against another), the track's expected win is not asked for.
    """
    pick = arms_across if per_arm_files else arms_within
    base_refs, cand_refs = pick(sources, baseline, candidate)
    labels = _labels(sources, base_refs[0], cand_refs[0], per_arm_files)
    measured = measure(
        sources, base_refs, cand_refs, coordinated_omission=policy.coordinated_omission
    )
    notes = list(measured.notes)
    if policy.improve and _same_flags(sources, base_refs[0], cand_refs[0]):
        notes.append(
            "both arms run the same flags (a code change, not a flag): the track's expected "
            f"win ({', '.join(policy.improve)}) is not asked for"
        )
        policy = dataclasses.replace(policy, improve=())
    for source in sources:
        notes += [f"{source.name}: {note}" for note in source.document.get("notes", [])]
    checks: list[Check] = []
    for condition in measured.conditions:
        checks += _condition_checks(condition, policy, labels, notes)
    rounds = min((len(c.baseline) for c in measured.conditions), default=0)
    if not measured.conditions:
        notes.append("no condition has valid blocks of both arms in the same round")
    decision = verdicts.overall(
        (c.decision for c in checks), rounds, policy.min_rounds, policy.max_extra_rounds
    )
    plan = sources[0].document["plan"]
    return Judgement(
        name=name or plan.get("track") or plan["name"],
        track=policy.track,
        sources=list(sources),
        baseline=labels[0],
        candidate=labels[1],
        policy=policy,
        measured=measured,
        checks=checks,
        decision=decision,
        rounds=rounds,
        notes=notes,
    )


def _same_flags(sources: Sequence[Source], base: ArmRef, cand: ArmRef) -> bool:
    def flags(ref: ArmRef) -> object:
        arms = sources[ref.source].document["arms"]
        return next(arm.get("flags") for arm in arms if arm["name"] == ref.arm)

    return flags(base) is not None and flags(base) == flags(cand)


def _labels(
    sources: Sequence[Source], base: ArmRef, cand: ArmRef, per_arm_files: bool
) -> tuple[str, str]:
    if per_arm_files and base.arm == cand.arm:
        return (f"{sources[0].name}:{base.arm}", f"{sources[1].name}:{cand.arm}")
    return base.arm, cand.arm


def _condition_checks(
    condition: ConditionData, policy: Policy, labels: tuple[str, str], notes: list[str]
) -> list[Check]:
    rounds = len(condition.baseline)
    checks = _latency_checks(condition, policy, labels, notes)
    checks += _cpu_checks(condition, policy, notes)
    checks += _error_checks(condition, policy)
    checks += _throughput_checks(condition, policy, notes)
    if rounds == 1:
        notes.append(
            f"{condition.name}: one round per arm: the noise between rounds is not measured, "
            "so the intervals only show the noise between requests"
        )
    return checks


def _latency_checks(
    condition: ConditionData, policy: Policy, labels: tuple[str, str], notes: list[str]
) -> list[Check]:
    wanted: dict[str, list[str]] = {}
    for metric in LATENCY_METRICS:
        stats = [q for q in policy.quantiles if metric in policy.metrics]
        stats += [t.split(".")[1] for t in policy.improve if t.startswith(f"{metric}.")]
        if stats:
            wanted[metric] = list(dict.fromkeys(stats))
    present = {m: s for m, s in wanted.items() if condition.has(m)}
    for metric in wanted.keys() - present.keys():
        notes.append(f"{condition.name}: {metric} was not measured in both arms; not judged")
    if not present:
        return []
    levels = sorted({parse_quantile(q) for stats in present.values() for q in stats})
    seed = (policy.seed, condition.name, "latency")
    pooled = _quantile_ratios(
        condition.baseline,
        condition.candidate,
        present,
        levels,
        policy,
        seed,
        labels,
        policy.resamples,
    )
    per_round = [
        _quantile_ratios(
            [b],
            [c],
            present,
            levels,
            policy,
            (*seed, index),
            labels,
            max(100, policy.resamples // 4),
        )
        for index, (b, c) in enumerate(zip(condition.baseline, condition.candidate, strict=True))
    ]
    rounds = len(condition.baseline)
    checks = []
    for metric, stats in present.items():
        rank = statistics.rank_test(
            _values(condition.baseline, metric), _values(condition.candidate, metric)
        )
        for stat in stats:
            at = levels.index(parse_quantile(stat))
            rounds_of = tuple(
                (r.label, result[metric][at])
                for r, result in zip(condition.baseline, per_round, strict=True)
            )
            interval = statistics.with_round_spread(pooled[metric][at], [i for _, i in rounds_of])
            if policy.expects(metric, stat):
                tolerance, floor = policy.min_improvement, None
                decision = verdicts.win(interval, tolerance, rounds)
            else:
                tolerance = policy.tolerance_for(metric, stat)
                floor = policy.floor_for(metric, stat)
                decision = verdicts.regression(interval, tolerance, floor, rounds)
            checks.append(
                Check(
                    condition.name,
                    metric,
                    stat,
                    "win" if floor is None else "regression",
                    "ms",
                    interval,
                    tolerance,
                    floor,
                    decision,
                    rank,
                    rounds_of,
                )
            )
    return checks


def _quantile_ratios(
    baseline: Sequence[RoundData],
    candidate: Sequence[RoundData],
    metrics: dict[str, list[str]],
    levels: list[float],
    policy: Policy,
    seed: tuple[int | str, ...],
    labels: tuple[str, str],
    resamples: int,
) -> dict[str, list[Interval]]:
    return statistics.quantile_ratios(
        {m: [r.clustered(m) for r in baseline] for m in metrics},
        {m: [r.clustered(m) for r in candidate] for m in metrics},
        levels,
        confidence=policy.confidence,
        resamples=resamples,
        seed=seed,
        labels=labels,
    )


def _cpu_checks(condition: ConditionData, policy: Policy, notes: list[str]) -> list[Check]:
    expected = policy.expects(CPU_METRIC, "mean")
    if CPU_METRIC not in policy.metrics and not expected:
        return []
    rounds = condition.baseline + condition.candidate
    if any(r.proxy_cpu_s is None for r in rounds):
        notes.append(
            f"{condition.name}: proxy CPU is not attributable to one arm in every round "
            "(e.g. arms interleaved in one process); CPU per request is not judged"
        )
        if not expected:
            return []
        missing = Interval(*(math.nan,) * 8, policy.confidence)
        decision = Decision(Verdict.HOLD, "expected win: no CPU measured per arm", math.inf)
        return [
            Check(
                condition.name,
                CPU_METRIC,
                "mean",
                "win",
                "ms",
                missing,
                policy.min_improvement,
                None,
                decision,
            )
        ]
    interval = statistics.paired_ratio(
        [(r.proxy_cpu_s * 1000, r.requests) for r in condition.baseline],  # type: ignore[operator]
        [(r.proxy_cpu_s * 1000, r.requests) for r in condition.candidate],  # type: ignore[operator]
        confidence=policy.confidence,
    )
    count = len(condition.baseline)
    if expected:
        decision = verdicts.win(interval, policy.min_improvement, count)
        return [
            Check(
                condition.name,
                CPU_METRIC,
                "mean",
                "win",
                "ms",
                interval,
                policy.min_improvement,
                None,
                decision,
            )
        ]
    tolerance, floor = (
        policy.tolerance_for(CPU_METRIC, "mean"),
        policy.floor_for(CPU_METRIC, "mean"),
    )
    decision = verdicts.regression(interval, tolerance, floor, count)
    return [
        Check(
            condition.name,
            CPU_METRIC,
            "mean",
            "regression",
            "ms",
            interval,
            tolerance,
            floor,
            decision,
        )
    ]


def _error_checks(condition: ConditionData, policy: Policy) -> list[Check]:
    base_n = sum(r.requests for r in condition.baseline)
    cand_n = sum(r.requests for r in condition.candidate)
    base_errors = base_n - sum(r.successes for r in condition.baseline)
    cand_errors = cand_n - sum(r.successes for r in condition.candidate)
    rounds = len(condition.baseline)
    errors = statistics.proportion_difference(
        cand_errors, cand_n, base_errors, base_n, policy.confidence
    )
    checks = [
        Check(
            condition.name,
            "error_rate",
            "rate",
            "errors",
            "%",
            errors,
            policy.error_rate_max_increase,
            None,
            verdicts.errors(errors, policy.error_rate_max_increase, rounds),
        )
    ]
    for metric in ("success_rate", "error_rate"):
        if not policy.expects(metric):
            continue
        successes = statistics.proportion_difference(
            cand_n - cand_errors, cand_n, base_n - base_errors, base_n, policy.confidence
        )
        interval = successes if metric == "success_rate" else errors
        decision = verdicts.rate_win(
            interval, policy.min_improvement, rounds, higher_is_better=metric == "success_rate"
        )
        checks.append(
            Check(
                condition.name,
                metric,
                "rate",
                "win",
                "%",
                interval,
                policy.min_improvement,
                None,
                decision,
            )
        )
    return checks


def _throughput_checks(condition: ConditionData, policy: Policy, notes: list[str]) -> list[Check]:
    rounds = len(condition.baseline)
    expected = policy.expects(THROUGHPUT_METRIC)
    if rounds < 2 and not expected:
        notes.append(f"{condition.name}: throughput needs two rounds or more; not judged")
        return []
    interval = statistics.paired_ratio(
        [(r.successes, r.duration_s) for r in condition.baseline],
        [(r.successes, r.duration_s) for r in condition.candidate],
        confidence=policy.confidence,
    )
    if expected:
        decision = verdicts.win(interval, policy.min_improvement, rounds, higher_is_better=True)
        return [
            Check(
                condition.name,
                THROUGHPUT_METRIC,
                "rate",
                "win",
                "req/s",
                interval,
                policy.min_improvement,
                None,
                decision,
            )
        ]
    decision = verdicts.throughput(interval, policy.throughput_max_decrease, rounds)
    return [
        Check(
            condition.name,
            THROUGHPUT_METRIC,
            "rate",
            "throughput",
            "req/s",
            interval,
            policy.throughput_max_decrease,
            None,
            decision,
        )
    ]


def _values(rounds: Sequence[RoundData], metric: str) -> np.ndarray:
    return np.concatenate([r.clustered(metric).values for r in rounds])

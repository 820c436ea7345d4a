"""verdict.json: the verdict, every check's numbers and the notes, for machines.

Non-finite numbers (no interval) are written as null: the file is strict JSON.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

from reports.report import Report
from reports.rollout_guard import Check, Judgement

FORMAT = "compatkit-verdict"
VERSION = 1


def verdict_json(report: Report) -> dict[str, Any]:
    document = {
        "format": FORMAT,
        "version": VERSION,
        "title": report.title,
        "created": report.created,
        "command": report.command,
        "verdict": report.verdict.value,
        "exit_code": report.exit_code,
        "comparisons": [_judgement(j) for j in report.judgements],
        "objectives": [
            {
                "objective": o.objective.text,
                "arm": o.objective.arm,
                "metric": o.objective.metric,
                "statistic": o.objective.stat,
                "threshold": o.objective.threshold,
                "condition": o.condition,
                "value": o.value,
                "samples": o.samples,
                "met": o.met,
                "note": o.note,
            }
            for o in report.outcomes
        ],
        "notes": report.notes,
    }
    finite: dict[str, Any] = _finite(document)
    return finite


def _judgement(judgement: Judgement) -> dict[str, Any]:
    return {
        "name": judgement.name,
        "track": judgement.track,
        "baseline": judgement.baseline,
        "candidate": judgement.candidate,
        "sources": [s.name for s in judgement.sources],
        "verdict": judgement.verdict.value,
        "reason": judgement.decision.reason,
        "rounds": judgement.rounds,
        "extra_rounds": _rounds(judgement.decision.extra_rounds),
        "policy": {
            "confidence": judgement.policy.confidence,
            "resamples": judgement.policy.resamples,
            "seed": judgement.policy.seed,
            "min_rounds": judgement.policy.min_rounds,
            "max_extra_rounds": judgement.policy.max_extra_rounds,
            "improve": list(judgement.policy.improve),
        },
        "checks": [_check(c) for c in judgement.checks],
        "notes": judgement.notes,
    }


def _check(check: Check) -> dict[str, Any]:
    return {
        "id": check.id,
        "condition": check.condition,
        "metric": check.metric,
        "statistic": check.stat,
        "kind": check.kind,
        "unit": check.unit,
        "verdict": check.verdict.value,
        "reason": check.decision.reason,
        "extra_rounds": _rounds(check.decision.extra_rounds),
        "tolerance": check.tolerance,
        "floor": check.floor,
        **asdict(check.interval),
        "rank_test": None if check.rank is None else asdict(check.rank),
        "per_round": [
            {"round": label, "ratio": i.ratio, "low": i.low, "high": i.high}
            for label, i in check.per_round
        ],
    }


def _rounds(value: float) -> int | None:
    return math.ceil(value) if math.isfinite(value) else None


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value

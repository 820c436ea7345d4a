"""The report document: every run, case and check as JSON (report.json; the other formats render it).

Operations:
    document(runs) -> dict      {"tool", "generated", "runs": [{..., "summary", "cases": [...]}]}
    case_entry(result) -> dict  one case: its catalogue entry, outcome, checks, evidence, diffs

A failed check with an expected and an actual value gets a unified diff of the two (JSON, one
item per line), which the HTML page shows under the check.
"""

from __future__ import annotations

import datetime
import difflib
import json
from collections.abc import Sequence
from typing import Any

from conformance.runner.oracle import describe
from conformance.runner.results import CaseResult, CheckResult, RunResult

FORMAT = "compatkit-conformance-report/1"


def document(runs: Sequence[RunResult]) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "tool": "compatkit conformance",
        "generated": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "passed": all(run.passed for run in runs),
        "runs": [_run_entry(run) for run in runs],
    }


def _run_entry(run: RunResult) -> dict[str, Any]:
    return {
        "proxy": run.proxy,
        "flavor": run.flavor,
        "started": run.started,
        "seconds": round(run.seconds, 2),
        "summary": run.summary(),
        "notes": run.notes,
        "cases": [case_entry(result) for result in run.results],
        "fuzz": {
            "examples": run.fuzz_examples,
            "failures": [vars(failure) for failure in run.fuzz_failures],
        },
    }


def case_entry(result: CaseResult) -> dict[str, Any]:
    case = result.case
    return {
        "id": case.id,
        "category": case.category,
        "level": case.level,
        "section": case.section,
        "description": case.description,
        "outcome": result.outcome.value,
        "seconds": round(result.seconds, 3),
        "note": result.note,
        "checks": [_check_entry(check) for check in result.checks],
        "exchanges": result.exchanges,
    }


def _check_entry(check: CheckResult) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": check.name,
        "level": check.level,
        "argument": check.argument,
        "passed": check.passed,
        "message": check.message,
        "rule": describe(check.name),
    }
    if check.has_diff:
        entry["expected"] = check.expected
        entry["actual"] = check.actual
        entry["diff"] = unified_diff(check.expected, check.actual)
    return entry


def unified_diff(expected: Any, actual: Any) -> str:
    """`expected` and `actual` as JSON lines (lists: one item per line), diffed."""
    return "\n".join(
        difflib.unified_diff(
            _lines(expected), _lines(actual), "expected", "actual", lineterm="", n=3
        )
    )


def _lines(value: Any) -> list[str]:
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    return json.dumps(value, indent=1, ensure_ascii=False, sort_keys=True, default=str).splitlines()

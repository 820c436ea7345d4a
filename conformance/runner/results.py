"""Results of a run: per check, per case, and the run's summary (what every report format reads).

Operations:
    CheckResult, CaseResult, RunResult          plain dataclasses
    outcome_of(level, checks) -> Outcome        the Autobahn-style verdict of one case
    RunResult.summary() -> dict                 counts by outcome, and MUST / SHOULD pass rates
    RunResult.passed                            every MUST case passed (the exit status)

Outcomes: `pass`; `fail` (a MUST check failed); `non-strict` (only SHOULD checks failed: it works,
but not as the reference recommends); `informational` (an INFO case: behaviour recorded, not
judged); `skipped` (the case needs something the run lacks, e.g. --proxy-key).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from conformance.runner.case import Case


class Outcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NON_STRICT = "non-strict"
    INFORMATIONAL = "informational"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class CheckResult:
    name: str
    level: str
    argument: Any
    passed: bool
    message: str
    expected: Any = None
    actual: Any = None
    has_diff: bool = False


@dataclass
class CaseResult:
    case: Case
    flavor: str
    outcome: Outcome
    checks: list[CheckResult] = field(default_factory=list)
    exchanges: list[dict[str, Any]] = field(default_factory=list)  # report.exchange_record(...)
    seconds: float = 0.0
    note: str = ""

    @property
    def failed_checks(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.passed]


@dataclass
class FuzzFailure:
    """A shrunk failing example of fuzz mode, saved with the command that replays it."""

    strategy: str
    request: Any
    problem: str
    replay_file: str
    replay_command: str


@dataclass
class RunResult:
    proxy: str
    flavor: str
    started: str
    seconds: float = 0.0
    results: list[CaseResult] = field(default_factory=list)
    fuzz_examples: int = 0
    fuzz_failures: list[FuzzFailure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(r.outcome != Outcome.FAIL for r in self.results) and not self.fuzz_failures

    def summary(self) -> dict[str, Any]:
        outcomes = Counter(r.outcome.value for r in self.results)
        must = [r for r in self.results if r.case.level == "MUST" and r.outcome != Outcome.SKIPPED]
        should = [
            r for r in self.results if r.case.level == "SHOULD" and r.outcome != Outcome.SKIPPED
        ]
        return {
            "cases": len(self.results),
            "outcomes": {o.value: outcomes.get(o.value, 0) for o in Outcome},
            "must_passed": sum(r.outcome != Outcome.FAIL for r in must),
            "must_total": len(must),
            "should_passed": sum(r.outcome == Outcome.PASS for r in should),
            "should_total": len(should),
            "fuzz_examples": self.fuzz_examples,
            "fuzz_failures": len(self.fuzz_failures),
            "passed": self.passed,
        }


def outcome_of(level: str, checks: list[CheckResult]) -> Outcome:
    if level == "INFO":
        return Outcome.INFORMATIONAL
    failed_levels = {c.level for c in checks if not c.passed}
    if "MUST" in failed_levels:
        return Outcome.FAIL
    if failed_levels:
        return Outcome.NON_STRICT
    return Outcome.PASS

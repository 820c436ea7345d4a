"""What one command found: the comparisons it judged and the objectives it checked.

Operations
    Report(title, judgements=[], outcomes=[], notes=[], command=[])
        .verdict / .exit_code       the worst comparison, and ROLLBACK for a missed objective
        .headline                   PROMOTE / HOLD / ROLLBACK, or SLOs MET / SLO MISSED
        .checks_total               every check and objective (the JUnit test count)
    format_value(value, unit) -> str    "5.12 ms", "0.10 %", "48.2/s" (shared by the renderers)
    unit_of(metric) -> str              the unit an objective's value is in: ms, % or req/s

The renderers in reports.render read a Report and nothing else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

from reports.assert_latency import Outcome
from reports.rollout_guard import Judgement
from reports.verdicts import Verdict


@dataclass
class Report:
    """A command's findings, ready to render."""

    title: str
    judgements: list[Judgement] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    command: list[str] = field(default_factory=list)
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def verdict(self) -> Verdict:
        verdicts = [j.verdict for j in self.judgements]
        verdicts += [Verdict.PROMOTE if o.met else Verdict.ROLLBACK for o in self.outcomes]
        return Verdict.worst(verdicts)

    @property
    def exit_code(self) -> int:
        return self.verdict.exit_code

    @property
    def headline(self) -> str:
        if self.judgements:
            return self.verdict.value
        return "SLOs MET" if self.verdict is Verdict.PROMOTE else "SLO MISSED"

    @property
    def checks_total(self) -> int:
        return sum(len(j.checks) for j in self.judgements) + len(self.outcomes)


def format_value(value: float, unit: str) -> str:
    """A measured value with its unit, three significant digits."""
    if not math.isfinite(value):
        return "n/a"
    if unit == "%":
        return f"{value * 100:.2f} %"
    if unit == "req/s":
        return f"{value:.3g}/s"
    return f"{value:.3g} {unit}"


def unit_of(metric: str) -> str:
    """The unit a metric's value is reported in."""
    if metric in ("error_rate", "success_rate"):
        return "%"
    return "req/s" if metric == "throughput" else "ms"

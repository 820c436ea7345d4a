"""summary.md: the verdict and every check in tables, for CI logs and GitHub's step summary."""

from __future__ import annotations

import math

from reports.render.wording import allowed, change, measured
from reports.report import Report, format_value, unit_of
from reports.rollout_guard import Judgement


def summary_markdown(report: Report) -> str:
    lines = [f"## {report.title}: {report.headline}", ""]
    if len(report.judgements) > 1:
        lines += ["| comparison | verdict | why | rounds |", "|---|---|---|---|"]
        lines += [
            f"| {j.name} | **{j.verdict.value}** | {_cell(_reason(j))} | {j.rounds} |"
            for j in report.judgements
        ]
        lines.append("")
    for judgement in report.judgements:
        lines += _judgement(judgement)
    if report.outcomes:
        lines += [
            "| objective | condition | measured | result | note |",
            "|---|---|---|---|---|",
        ]
        for outcome in report.outcomes:
            unit = unit_of(outcome.objective.metric)
            lines.append(
                f"| `{outcome.objective.text}` | {_cell(outcome.condition)} | "
                f"{format_value(outcome.value, unit)} | {'met' if outcome.met else '**MISSED**'} | "
                f"{_cell(outcome.note)} |"
            )
        lines.append("")
    lines += _notes(report.notes)
    return "\n".join(lines).rstrip() + "\n"


def _judgement(judgement: Judgement) -> list[str]:
    lines = [
        f"### {judgement.name}: {judgement.verdict.value}",
        "",
        f"{_reason(judgement)}. Baseline `{judgement.baseline}`, candidate "
        f"`{judgement.candidate}`, {judgement.rounds} paired round(s), "
        f"{judgement.policy.confidence:.0%} intervals.",
        "",
    ]
    if judgement.checks:
        lines += [
            "| condition | check | baseline | candidate | change [interval] | allowed | verdict |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {_cell(c.condition)} | {c.label} | {measured(c, 'baseline')} | "
            f"{measured(c, 'candidate')} | {change(c)} | {allowed(c)} | "
            f"{c.verdict.value if c.verdict.value == 'PROMOTE' else f'**{c.verdict.value}**'} |"
            for c in judgement.checks
        ]
        lines.append("")
    decided = [c for c in judgement.checks if c.verdict.value != "PROMOTE"]
    if decided:
        lines += [f"- {c.id}: {c.verdict.value}: {c.decision.reason}" for c in decided]
        lines.append("")
    return lines + _notes(judgement.notes)


def _reason(judgement: Judgement) -> str:
    decision = judgement.decision
    if decision.verdict.value == "HOLD" and math.isfinite(decision.extra_rounds):
        return f"{decision.reason} (at most {judgement.policy.max_extra_rounds} may be added)"
    return decision.reason


def _notes(notes: list[str]) -> list[str]:
    if not notes:
        return []
    return ["Validity notes:", "", *[f"- {note}" for note in notes], ""]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")

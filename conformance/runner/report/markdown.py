"""The markdown summary of a report document: totals, a table per category, what failed and why."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

OUTCOMES = ("pass", "fail", "non-strict", "informational", "skipped")


def render_markdown(document: dict[str, Any]) -> str:
    lines = ["# compatkit conformance", "", f"Generated {document['generated']}.", ""]
    verdict = "every MUST case passed" if document["passed"] else "MUST cases failed"
    lines += [f"**Verdict: {verdict}.**", ""]
    for run in document["runs"]:
        lines += _run(run)
    return "\n".join(lines) + "\n"


def _run(run: dict[str, Any]) -> list[str]:
    summary = run["summary"]
    lines = [
        f"## {run['flavor']}: {run['proxy']}",
        "",
        f"{summary['cases']} cases in {run['seconds']:.1f} s: "
        + ", ".join(f"{summary['outcomes'][o]} {o}" for o in OUTCOMES)
        + ".",
        "",
        f"MUST: {summary['must_passed']}/{summary['must_total']} passed"
        f" ({_percent(summary['must_passed'], summary['must_total'])}). "
        f"SHOULD cases: {summary['should_passed']}/{summary['should_total']} passed.",
        "",
    ]
    if summary["fuzz_examples"]:
        lines += [
            f"Fuzz: {summary['fuzz_examples']} examples, {summary['fuzz_failures']} failing.",
            "",
        ]
    lines += ["| category | " + " | ".join(OUTCOMES) + " |", "|---" * (len(OUTCOMES) + 1) + "|"]
    by_category: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(OUTCOMES, 0))
    for case in run["cases"]:
        by_category[case["category"]][case["outcome"]] += 1
    for category, counts in by_category.items():
        lines.append(f"| {category} | " + " | ".join(str(counts[o]) for o in OUTCOMES) + " |")
    lines.append("")
    for outcome, title in (("fail", "Failed (MUST)"), ("non-strict", "Non-strict (SHOULD)")):
        cases = [c for c in run["cases"] if c["outcome"] == outcome]
        if not cases:
            continue
        lines += [f"### {title}", ""]
        for case in cases:
            lines.append(f"- **{case['id']}** ({case['section']}): {case['description']}")
            for check in case["checks"]:
                if not check["passed"]:
                    lines.append(
                        f"  - [{check['level']}] `{check['name']}`: {_one_line(check['message'])}"
                    )
        lines.append("")
    for failure in run["fuzz"]["failures"]:
        lines += [
            f"- fuzz ({failure['strategy']}): {_one_line(failure['problem'])}",
            f"  replay: `{failure['replay_command']}`",
        ]
    for note in run["notes"]:
        lines.append(f"> {note}")
    return [*lines, ""]


def _percent(passed: int, total: int) -> str:
    return f"{100 * passed / total:.1f} %" if total else "n/a"


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"

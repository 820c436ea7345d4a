"""reports.render.markdown: the verdict tables a CI log shows."""

from __future__ import annotations

from reports.render import summary_markdown
from tests.reports.render.reports_for_tests import gate_report, slo_report


def test_the_summary_leads_with_the_verdict_and_lists_every_check() -> None:
    report = gate_report()
    text = summary_markdown(report)
    assert text.startswith("## compatkit gate: ROLLBACK\n")
    assert "| code change | **ROLLBACK** |" in text
    assert "| ff_retry_policy_v2 | " in text
    rows = [line for line in text.splitlines() if line.startswith("| small_chat")]
    assert len(rows) == report.checks_total
    assert "inconclusive, not judged (achieved rate 90 % of the target)" in text


def test_objectives_are_a_table_of_their_own() -> None:
    text = summary_markdown(slo_report())
    assert "| `candidate.ttft.p50 <= 5ms` | small_chat, closed, 1 in flight |" in text
    assert text.startswith("## assert-latency: SLO")

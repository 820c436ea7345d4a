"""reports.render.junit: one testcase per check; ROLLBACK fails, HOLD is skipped."""

from __future__ import annotations

from xml.etree import ElementTree

from reports.render import junit_xml
from tests.reports.render.reports_for_tests import gate_report, slo_report


def test_every_check_is_a_testcase_and_the_counts_add_up() -> None:
    report = gate_report()
    root = ElementTree.fromstring(junit_xml(report))
    cases = list(root.iter("testcase"))
    assert len(cases) == report.checks_total == int(root.get("tests", ""))
    checks = [c for j in report.judgements for c in j.checks]
    failures = sum(c.verdict.value == "ROLLBACK" for c in checks)
    skipped = sum(c.verdict.value == "HOLD" for c in checks)
    assert (int(root.get("failures", "")), int(root.get("skipped", ""))) == (failures, skipped)
    assert [s.get("name") for s in root.iter("testsuite")] == ["code change", "ff_retry_policy_v2"]
    failure = next(root.iter("failure"))
    assert failure.get("message", "").startswith("small_chat, closed, 1 in flight / ")


def test_a_missed_objective_fails() -> None:
    root = ElementTree.fromstring(junit_xml(slo_report()))
    assert [s.get("name") for s in root.iter("testsuite")] == ["objectives"]
    assert int(root.get("tests", "")) == 2

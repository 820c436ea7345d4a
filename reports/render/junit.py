"""junit.xml: one testsuite per comparison, one testcase per check (and per objective).

ROLLBACK is a failure, HOLD a skipped test (undecided, not passed), PROMOTE a pass; the
reason is the message, so CI systems that list failures show the numbers.
"""

from __future__ import annotations

from xml.etree import ElementTree

from reports.render.wording import allowed, change
from reports.report import Report, format_value, unit_of


def junit_xml(report: Report) -> str:
    root = ElementTree.Element("testsuites", name=report.title)
    for judgement in report.judgements:
        suite = _suite(root, judgement.name)
        for check in judgement.checks:
            case = ElementTree.SubElement(
                suite, "testcase", classname=f"{judgement.name}.{check.condition}", name=check.label
            )
            detail = (
                f"{check.id}: {change(check)}, allowed {allowed(check)}: {check.decision.reason}"
            )
            _outcome(case, check.verdict.value, detail)
        _count(suite)
    if report.outcomes:
        suite = _suite(root, "objectives")
        for outcome in report.outcomes:
            case = ElementTree.SubElement(
                suite,
                "testcase",
                classname=f"objectives.{outcome.condition}",
                name=outcome.objective.text,
            )
            value = format_value(outcome.value, unit_of(outcome.objective.metric))
            detail = f"{outcome.objective.text}: measured {value} on {outcome.condition}"
            if outcome.note:
                detail += f" ({outcome.note})"
            _outcome(case, "PROMOTE" if outcome.met else "ROLLBACK", detail)
        _count(suite)
    _count(root)
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, "unicode") + "\n"


def _suite(root: ElementTree.Element, name: str) -> ElementTree.Element:
    return ElementTree.SubElement(root, "testsuite", name=name)


def _outcome(case: ElementTree.Element, verdict: str, detail: str) -> None:
    if verdict == "ROLLBACK":
        ElementTree.SubElement(case, "failure", message=detail, type="ROLLBACK").text = detail
    elif verdict == "HOLD":
        ElementTree.SubElement(case, "skipped", message=f"HOLD: {detail}")
    ElementTree.SubElement(case, "system-out").text = detail


def _count(element: ElementTree.Element) -> None:
    cases = list(element.iter("testcase"))
    element.set("tests", str(len(cases)))
    element.set("failures", str(sum(c.find("failure") is not None for c in cases)))
    element.set("skipped", str(sum(c.find("skipped") is not None for c in cases)))
    element.set("errors", "0")

"""JUnit XML of a report document: one testsuite per run, one testcase per case.

A MUST failure is a <failure>; a skipped case is <skipped>; a non-strict or informational case
passes (CI fails only on MUST) and says what it found in <system-out>, with its outcome as a
property, so CI dashboards keep the distinction.
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET


def render_junit(document: dict[str, Any]) -> str:
    root = ET.Element("testsuites", name="compatkit conformance")
    for run in document["runs"]:
        summary = run["summary"]
        suite = ET.SubElement(
            root,
            "testsuite",
            name=f"conformance {run['flavor']}",
            tests=str(summary["cases"]),
            failures=str(summary["outcomes"]["fail"] + summary["fuzz_failures"]),
            skipped=str(summary["outcomes"]["skipped"]),
            errors="0",
            time=f"{run['seconds']:.2f}",
            timestamp=run["started"],
        )
        properties = ET.SubElement(suite, "properties")
        ET.SubElement(properties, "property", name="proxy", value=run["proxy"])
        ET.SubElement(properties, "property", name="flavor", value=run["flavor"])
        for case in run["cases"]:
            _testcase(suite, run["flavor"], case)
        for index, failure in enumerate(run["fuzz"]["failures"], start=1):
            testcase = ET.SubElement(
                suite,
                "testcase",
                classname=f"conformance.{run['flavor']}.fuzz",
                name=f"fuzz.{index}",
            )
            element = ET.SubElement(testcase, "failure", message=failure["problem"][:500])
            element.text = f"{failure['problem']}\nreplay: {failure['replay_command']}"
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _testcase(suite: ET.Element, flavor: str, case: dict[str, Any]) -> None:
    testcase = ET.SubElement(
        suite,
        "testcase",
        classname=f"conformance.{flavor}.{case['category']}",
        name=case["id"],
        time=f"{case['seconds']:.3f}",
    )
    properties = ET.SubElement(testcase, "properties")
    for name in ("level", "section", "outcome"):
        ET.SubElement(properties, "property", name=name, value=str(case[name]))
    failed = [c for c in case["checks"] if not c["passed"]]
    text = "\n".join(f"[{c['level']}] {c['name']}: {c['message']}" for c in failed)
    if case["outcome"] == "fail":
        must = [c for c in failed if c["level"] == "MUST"]
        element = ET.SubElement(testcase, "failure", message=(must or failed)[0]["message"][:500])
        element.text = f"{case['description']}\n{text}"
    elif case["outcome"] == "skipped":
        ET.SubElement(testcase, "skipped", message=case["note"] or "skipped")
    elif failed:
        ET.SubElement(testcase, "system-out").text = f"{case['outcome']}: {text}"

"""`compatkit conformance --self`, the CI run: the emulator and our proxy (`compatkit serve`) as
real processes, every case in both upstream flavours; every MUST case passes; the four reports
are written; the HTML page works in a real browser (Debian's chromium, driven by Playwright)."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def self_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path, str]:
    out = tmp_path_factory.mktemp("conformance-self")
    finished = subprocess.run(
        [sys.executable, "-m", "compat_cli", "conformance", "--self", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=540,
    )
    return finished.returncode, out, finished.stdout + finished.stderr


@pytest.fixture(scope="module")
def report(self_run: tuple[int, Path, str]) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((self_run[1] / "report.json").read_text())
    return document


def test_our_proxy_passes_every_must_case_in_both_flavours(
    self_run: tuple[int, Path, str], report: dict[str, Any]
) -> None:
    status, _, output = self_run
    assert status == 0, output
    assert [run["flavor"] for run in report["runs"]] == ["gemini-api", "code-assist"]
    for run in report["runs"]:
        summary = run["summary"]
        assert summary["must_total"] >= 100
        assert summary["must_passed"] == summary["must_total"], output
        assert summary["outcomes"]["fail"] == 0
    assert "gemini-api: MUST" in output and "code-assist: MUST" in output


def test_every_case_carries_its_evidence(report: dict[str, Any]) -> None:
    for run in report["runs"]:
        for case in run["cases"]:
            assert case["checks"] and case["level"] and case["section"]
            if case["category"] != "flavor":
                (first, *_) = case["exchanges"]
                assert first["request"]["path"].startswith("/v1/")
                assert first["response"]["status"] is not None
    by_id = {c["id"]: c for c in report["runs"][0]["cases"]}
    upstream = by_id["request.tool_use.roundtrip"]["exchanges"][0]["upstream"]
    assert upstream and upstream[-1]["verdict"] == "ok" and upstream[-1]["reply"]["body"]


def test_the_junit_report_has_one_testcase_per_case_and_no_failure(
    self_run: tuple[int, Path, str], report: dict[str, Any]
) -> None:
    root = ET.parse(self_run[1] / "junit.xml").getroot()
    suites = root.findall("testsuite")
    assert len(suites) == 2
    for suite, run in zip(suites, report["runs"], strict=True):
        assert len(suite.findall("testcase")) == len(run["cases"])
        assert suite.get("failures") == "0"
        assert not suite.findall("testcase/failure")


def test_the_markdown_summary_states_the_verdict(self_run: tuple[int, Path, str]) -> None:
    summary = (self_run[1] / "summary.md").read_text()
    assert "**Verdict: every MUST case passed.**" in summary
    assert "(100.0 %)" in summary


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
def test_the_html_report_works_in_a_browser_without_any_request_out(
    self_run: tuple[int, Path, str], report: dict[str, Any]
) -> None:
    from playwright.sync_api import Route, sync_playwright

    page_path = self_run[1] / "report.html"
    case_ids = {case["id"] for run in report["runs"] for case in run["cases"]}
    outside: list[str] = []

    def refuse(route: Route) -> None:
        if not route.request.url.startswith("file://"):
            outside.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page()
            page.route("**/*", refuse)
            page.goto(page_path.as_uri())
            assert page.title() == "compatkit conformance report"
            shown = page.eval_on_selector_all("details.case", "items => items.map(i => i.id)")
            assert sorted(shown) == sorted(case_ids)  # every case, once
            case = page.locator("details.case#request\\.tool_use\\.roundtrip")
            assert case.get_attribute("open") is None
            assert not case.get_by_text("client request").first.is_visible()
            case.locator("summary").first.click()
            assert case.get_attribute("open") is not None
            assert case.get_by_text("client request").first.is_visible()
            case.get_by_text("client request").first.click()
            assert case.get_by_text('"name":"get_weather"').first.is_visible()
            page.get_by_role("button", name="non-strict").click()
            visible = page.eval_on_selector_all(
                "details.case", "items => items.filter(i => !i.hidden).length"
            )
            non_strict = {
                c["id"]
                for run in report["runs"]
                for c in run["cases"]
                if c["outcome"] == "non-strict"
            }
            assert visible == len(non_strict)
        finally:
            browser.close()
    assert outside == []

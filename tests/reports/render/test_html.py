"""reports.render.html in a real browser (Debian's chromium via Playwright): the page
renders, makes no request beyond itself, and shows every check and chart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reports.cli import write_reports
from tests.browser import system_chromium
from tests.reports.render.reports_for_tests import gate_report, slo_report


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with system_chromium() as chromium:
        yield chromium


def open_report(browser: Any, directory: Path) -> tuple[Any, list[str], list[str]]:
    page = browser.new_page()
    requests: list[str] = []
    problems: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )
    page.goto((directory / "report.html").as_uri())
    page.wait_for_load_state("load")
    return page, requests, problems


def test_the_page_shows_the_verdict_every_check_and_loads_nothing(
    browser: Any, tmp_path: Path
) -> None:
    report = gate_report()
    page, requests, problems = open_report(browser, write_reports(report, tmp_path))
    assert requests == [(tmp_path / "report.html").as_uri()]
    assert problems == []
    assert page.title() == "compatkit gate: ROLLBACK"
    banner = page.locator("#verdict")
    assert banner.is_visible() and banner.inner_text().startswith("ROLLBACK")
    rows = page.locator("tr.check")
    ids = [c.id for j in report.judgements for c in j.checks]
    assert rows.count() == len(ids)
    for index, check_id in enumerate(ids):
        row = rows.nth(index)
        assert row.get_attribute("data-check") == check_id
        assert row.is_visible()
        assert row.locator("svg").count() == 1  # its interval against its tolerance
    box = rows.first.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 10


def test_the_charts_render_with_titles(browser: Any, tmp_path: Path) -> None:
    page, _, _ = open_report(browser, write_reports(gate_report(), tmp_path))
    titles = page.locator("svg.chart > title").all_text_contents()
    for wanted in (
        "TTFT: distribution per arm",
        "E2E: candidate/baseline per round",
        "TTFT of each request over time",
        "Requests sent per second (achieved rate)",
    ):
        assert wanted in titles
    chart = page.locator("svg.chart").first
    assert chart.bounding_box()["height"] > 100
    assert chart.locator("polyline").count() == 2  # one CDF per arm
    assert page.locator("table.environment").count() == 2
    assert "inconclusive, not judged" in page.locator("section#comparison-1").inner_text()


def test_objectives_render_as_a_table(browser: Any, tmp_path: Path) -> None:
    page, requests, problems = open_report(browser, write_reports(slo_report(), tmp_path))
    assert len(requests) == 1 and problems == []
    assert page.locator("tr.objective").count() == 2

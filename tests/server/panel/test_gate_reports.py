"""server.panel.gate_reports: the folders the gate writes, listed newest first with their
verdicts; broken ones listed with the reason; only listed folders are ever opened."""

from __future__ import annotations

import json
import os
from pathlib import Path

from server.panel.gate_reports import find_reports, report_page


def write_report(folder: Path, verdict: str, *, mtime: float, page: bool = True) -> None:
    folder.mkdir(parents=True)
    document = {
        "format": "compatkit-verdict",
        "version": 1,
        "title": f"rollout-guard {verdict}",
        "created": "2026-12-05T10:00:00+00:00",
        "verdict": verdict,
        "comparisons": [
            {"name": "off vs on", "track": "ff_retry_policy_v2", "verdict": verdict, "reason": "r"}
        ],
        "objectives": [{"met": False}, {"met": True}],
    }
    (folder / "verdict.json").write_text(json.dumps(document))
    if page:
        (folder / "report.html").write_text("<html></html>")
    for child in folder.iterdir():
        os.utime(child, (mtime, mtime))


def test_reports_are_listed_newest_first_with_their_verdicts(tmp_path: Path) -> None:
    write_report(tmp_path / "20261205T100000Z", "PROMOTE", mtime=1000)
    write_report(tmp_path / "gate-run" / "retry", "HOLD", mtime=3000)
    write_report(tmp_path / "20261205T110000Z", "ROLLBACK", mtime=2000, page=False)
    reports = find_reports(tmp_path)
    assert [(r.name, r.verdict, r.has_page) for r in reports] == [
        ("gate-run/retry", "HOLD", True),
        ("20261205T110000Z", "ROLLBACK", False),
        ("20261205T100000Z", "PROMOTE", True),
    ]
    assert reports[0].comparisons[0].track == "ff_retry_policy_v2"
    assert reports[0].objectives_missed == 1


def test_an_unreadable_verdict_is_listed_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "verdict.json").write_text("{not json")
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "verdict.json").write_text('{"format": "something-else"}')
    (tmp_path / "page-only").mkdir()
    (tmp_path / "page-only" / "report.html").write_text("<html></html>")
    found = {r.name: r for r in find_reports(tmp_path)}
    assert found["broken"].verdict == "unknown" and "unreadable" in found["broken"].problem
    assert "not a compatkit-verdict" in found["foreign"].problem
    assert found["page-only"].problem == "no verdict.json" and found["page-only"].has_page


def test_only_a_listed_folder_is_opened(tmp_path: Path) -> None:
    write_report(tmp_path / "reports" / "run", "PROMOTE", mtime=1000)
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "report.html").write_text("no")
    root = tmp_path / "reports"
    assert report_page(root, "run") == root / "run" / "report.html"
    for name in ("../secret", "/etc", "run/../../secret", "", "missing"):
        assert report_page(root, name) is None


def test_an_absent_folder_is_no_reports(tmp_path: Path) -> None:
    assert find_reports(tmp_path / "nowhere") == []

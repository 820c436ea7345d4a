"""reports.render.verdict_json: strict JSON with every check's numbers."""

from __future__ import annotations

import json

from reports.render import verdict_json
from tests.reports.render.reports_for_tests import gate_report, slo_report


def test_the_verdict_document_is_strict_json_with_every_check() -> None:
    report = gate_report()
    document = json.loads(json.dumps(verdict_json(report), allow_nan=False))
    assert (document["format"], document["version"]) == ("compatkit-verdict", 1)
    assert (document["verdict"], document["exit_code"]) == ("ROLLBACK", 1)
    checks = [c for comparison in document["comparisons"] for c in comparison["checks"]]
    assert len(checks) == report.checks_total
    ttft = next(c for c in checks if c["metric"] == "ttft" and c["statistic"] == "p50")
    assert {
        "ratio",
        "low",
        "high",
        "difference_low",
        "tolerance",
        "floor",
        "rank_test",
        "per_round",
    } <= set(ttft)
    assert len(ttft["per_round"]) == 3
    retry = document["comparisons"][1]
    assert retry["policy"]["improve"] == ["success_rate"]
    assert any("inconclusive" in note for note in retry["notes"])


def test_objectives_carry_their_values() -> None:
    document = verdict_json(slo_report())
    assert [o["objective"] for o in document["objectives"]] == [
        "candidate.ttft.p50 <= 5ms",
        "candidate.error_rate <= 0.1%",
    ]
    assert document["objectives"][1]["value"] == 0.0

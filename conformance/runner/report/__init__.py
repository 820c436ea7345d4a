"""The run's reports, in the Autobahn|Testsuite manner: one document, four renderings.

Operations:
    write_reports(runs, folder) -> {format: path}   report.json, junit.xml, summary.md and
                                                    report.html (one self-contained page)
    document(runs) -> dict                          the JSON document every rendering reads

Modules by role: document (RunResult -> JSON), junit, markdown, html (renderings of the document).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from conformance.runner.report.document import document
from conformance.runner.report.html import render_html
from conformance.runner.report.junit import render_junit
from conformance.runner.report.markdown import render_markdown
from conformance.runner.results import RunResult

__all__ = ["document", "write_reports"]


def write_reports(runs: Sequence[RunResult], folder: Path) -> dict[str, Path]:
    """Write the four reports of `runs` into `folder`; return where each went."""
    folder.mkdir(parents=True, exist_ok=True)
    data = document(runs)
    paths = {
        "json": folder / "report.json",
        "junit": folder / "junit.xml",
        "markdown": folder / "summary.md",
        "html": folder / "report.html",
    }
    paths["json"].write_text(json.dumps(data, indent=1, ensure_ascii=False, default=str))
    paths["junit"].write_text(render_junit(data))
    paths["markdown"].write_text(render_markdown(data))
    paths["html"].write_text(render_html(data))
    return paths

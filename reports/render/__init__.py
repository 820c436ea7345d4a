"""The reports a Report renders to: text in, files written by reports.cli.

Operations
    summary_markdown(report) -> str     the verdict tables for CI logs (summary.md)
    report_html(report) -> str          one self-contained page (report.html)
    junit_xml(report) -> str            one testcase per check (junit.xml)
    verdict_json(report) -> dict        the machine-readable verdict (verdict.json)
"""

from reports.render.html import report_html
from reports.render.junit import junit_xml
from reports.render.markdown import summary_markdown
from reports.render.verdict_json import verdict_json

__all__ = ["junit_xml", "report_html", "summary_markdown", "verdict_json"]

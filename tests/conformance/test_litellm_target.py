"""compatkit conformance grades a proxy that is not ours: LiteLLM's, as a real process.

LiteLLM is not a dependency (its proxy extra installs some sixty packages): the test runs when
COMPATKIT_LITELLM names the `litellm` command of a venv it is installed in, and is skipped
otherwise. It grades a handful of cases and checks the runner tells what LiteLLM gets right from
what it gets wrong (docs/conformance.md#another-proxy-litellm), with the evidence in the report.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conformance.litellm_target import grade_litellm

LITELLM = os.environ.get("COMPATKIT_LITELLM", "")
pytestmark = pytest.mark.skipif(
    not (LITELLM and os.access(LITELLM, os.X_OK)),
    reason="set COMPATKIT_LITELLM to the litellm command of a venv with litellm[proxy]",
)

SERVED_WELL = [
    "request.text.string",
    "response.tool_call_stream",
    "request.system.string",
    "openai.text_stream",
]
# Defects of LiteLLM 1.x the catalogue finds: thought signatures dropped, a SAFETY answer's text
# dropped, a 500 before any byte answered as a 200 stream, lone surrogates refused outside the
# Anthropic error envelope.
DEFECTS = [
    "thinking.signature_roundtrip",
    "response.finish.safety",
    "stream.error_before_first_byte",
    "unicode.lone_surrogate.user_text",
]


def test_litellm_is_graded_case_by_case(tmp_path: Path) -> None:
    status = grade_litellm(LITELLM, tmp_path, ",".join(SERVED_WELL + DEFECTS))

    report = json.loads((tmp_path / "report.json").read_text())
    (run,) = report["runs"]
    outcomes = {case["id"]: case["outcome"] for case in run["cases"]}
    assert status == 1  # a MUST failed
    assert {case: outcomes[case] for case in SERVED_WELL} == dict.fromkeys(SERVED_WELL, "pass")
    assert {case: outcomes[case] for case in DEFECTS} == dict.fromkeys(DEFECTS, "fail")
    assert (tmp_path / "report.html").stat().st_size > 0

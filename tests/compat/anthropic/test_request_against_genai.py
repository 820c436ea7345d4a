"""Differential check: converted requests parse with Google's own SDK models.

google-genai's pydantic types (`Content`, `Tool`, `ToolConfig`, `GenerationConfig`) are
written by Google independently of compat and forbid unknown fields, so every key of the
body must be a real Gemini field with a value of the right type (bytes fields such as
`thoughtSignature` and `inlineData.data` must be valid base64).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from google.genai import types
from hypothesis import given
from hypothesis import strategies as st

from compat._anthropic.request import to_gemini_request
from compat._options import ConversionOptions
from conformance.strategies import anthropic_requests as anthropic

AGENT_REQUEST = Path(__file__).parents[1] / "fixtures" / "agent_request.json"


def parse_with_genai(body: dict[str, Any]) -> None:
    assert set(body) <= {"contents", "systemInstruction", "tools", "toolConfig", "generationConfig"}
    for content in body["contents"]:
        types.Content.model_validate(content)
    if "systemInstruction" in body:
        types.Content.model_validate(body["systemInstruction"])
    for tool in body.get("tools", []):
        types.Tool.model_validate(tool)
    if "toolConfig" in body:
        types.ToolConfig.model_validate(body["toolConfig"])
    types.GenerationConfig.model_validate(body["generationConfig"])


@pytest.mark.parametrize("schema_mode", ["parameters", "parametersJsonSchema"])
def test_the_converted_agent_request_parses_with_google_genai(schema_mode: Any) -> None:
    anthropic_request = json.loads(AGENT_REQUEST.read_text(encoding="utf-8"))
    options = ConversionOptions(schema_mode=schema_mode, upstream_model="gemini-3-pro-preview")
    parse_with_genai(to_gemini_request(anthropic_request, options=options))


@given(
    anthropic.requests(),
    st.sampled_from(["parameters", "parametersJsonSchema"]),
    st.sampled_from([None, "gemini-3-flash-preview"]),
)
def test_every_converted_request_parses_with_google_genai(
    request: dict[str, Any], schema_mode: Any, upstream_model: str | None
) -> None:
    options = ConversionOptions(schema_mode=schema_mode, upstream_model=upstream_model)
    parse_with_genai(to_gemini_request(request, options=options))

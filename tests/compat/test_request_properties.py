"""Properties of to_gemini_request over generated requests (hypothesis).

- valid requests convert, and the body obeys Gemini's turn rules (protocols.md B.2), as
  checked here and by the independent strict emulator's validator;
- any JSON-ish input (random, request-shaped junk, or a valid request with one node
  replaced or deleted) either converts or raises RequestError: never KeyError, TypeError or anything else;
- the input is never modified; the output always encodes with compat.dumps.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compat._errors import RequestError
from compat._json import dumps, loads
from compat._options import ConversionOptions
from compat._request import to_gemini_request
from conformance.emulator.validation import validate_generate_content_request
from conformance.strategies import anthropic_requests as anthropic

PART_DATA = ("text", "inlineData", "fileData", "functionCall", "functionResponse")
TOOL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:\-]{0,127}")
OPTIONS = st.builds(
    ConversionOptions,
    fast_path=st.booleans(),
    schema_mode=st.sampled_from(["parameters", "parametersJsonSchema"]),
    upstream_model=st.sampled_from([None, "gemini-2.5-pro", "gemini-3-pro-preview"]),
)


def assert_gemini_turn_rules(body: dict[str, Any]) -> None:
    """The request-shape rules Gemini enforces with 400 INVALID_ARGUMENT (B.2)."""
    contents = body["contents"]
    assert contents, "contents must not be empty"
    for index, content in enumerate(contents):
        assert content["role"] in ("user", "model")
        assert content["parts"], "never an empty parts list"
        if index:
            assert content["role"] != contents[index - 1]["role"], "turns alternate"
        for part in content["parts"]:
            assert sum(key in part for key in PART_DATA) == 1, part
    assert contents[-1]["role"] == "user", "the last turn is a user turn"
    for index, content in enumerate(contents):
        calls = [p["functionCall"]["name"] for p in content["parts"] if "functionCall" in p]
        responses = [
            p["functionResponse"]["name"] for p in content["parts"] if "functionResponse" in p
        ]
        if calls:
            assert index > 0 and contents[index - 1]["role"] == "user"
            answered = [
                p["functionResponse"]["name"]
                for p in contents[index + 1]["parts"]
                if "functionResponse" in p
            ]
            assert answered == calls, "N calls answered by N responses, in call order"
        if responses:
            previous = contents[index - 1]["parts"]
            assert len(responses) == sum("functionCall" in p for p in previous)
        for part in content["parts"]:
            if "functionResponse" in part:
                assert isinstance(part["functionResponse"]["response"], dict)
    for part in body.get("systemInstruction", {"parts": [{"text": "x"}]})["parts"]:
        assert set(part) == {"text"} and part["text"]
    for tools in body.get("tools", []):
        names = [d["name"] for d in tools["functionDeclarations"]]
        assert len(names) == len(set(names))
        assert all(TOOL_NAME.fullmatch(name) for name in names)


@given(anthropic.requests(), OPTIONS)
def test_valid_requests_convert_to_bodies_that_obey_geminis_turn_rules(
    request: dict[str, Any], options: ConversionOptions
) -> None:
    snapshot = copy.deepcopy(request)
    body = to_gemini_request(request, options=options)
    assert request == snapshot, "the input is not modified"
    assert_gemini_turn_rules(body)
    assert loads(dumps(body)) == body


# clean_schema (compat/_schema.py, not this part) leaves a free-form nested object such as
# `{"type": "object", "additionalProperties": {...}}` as an OBJECT without properties, which
# Gemini refuses; strict, so the marker must go once clean_schema handles it.
SCHEMA_EMPTY_OBJECT = pytest.mark.xfail(
    strict=True,
    reason="clean_schema: nested OBJECT without properties ('should be non-empty for OBJECT type')",
)


@SCHEMA_EMPTY_OBJECT
@given(anthropic.requests(), OPTIONS)
def test_the_strict_emulator_accepts_every_converted_request(
    request: dict[str, Any], options: ConversionOptions
) -> None:
    body = to_gemini_request(request, options=options)
    model = options.upstream_model or "gemini-2.5-pro"
    assert validate_generate_content_request(body, model=model) is None


@given(anthropic.tool_requests())
def test_every_tool_use_and_tool_result_is_carried_over(request: dict[str, Any]) -> None:
    body = to_gemini_request(request)
    blocks = [
        b for m in request["messages"] if isinstance(m["content"], list) for b in m["content"]
    ]
    parts = [p for c in body["contents"] for p in c["parts"]]
    assert sum(b["type"] == "tool_use" for b in blocks) == sum("functionCall" in p for p in parts)
    assert sum(b["type"] == "tool_result" for b in blocks) == sum(
        "functionResponse" in p for p in parts
    )


# -- hostile input -------------------------------------------------------------------------


def convert_or_error(request: Any, options: ConversionOptions) -> Any:
    try:
        return to_gemini_request(request, options=options)
    except RequestError as error:
        assert error.path is not None and error.message
        return ("error", error.path, error.message)


@given(anthropic.hostile_requests(), OPTIONS)
def test_any_input_converts_or_raises_request_error_and_is_never_modified(
    request: Any, options: ConversionOptions
) -> None:
    snapshot = copy.deepcopy(request)
    result = convert_or_error(request, options)
    assert request == snapshot
    if isinstance(result, dict):
        assert_gemini_turn_rules(result)
        dumps(result)

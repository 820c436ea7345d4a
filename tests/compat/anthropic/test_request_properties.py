"""Properties of to_gemini_request over generated requests (hypothesis).

- valid requests convert, and the body obeys Gemini's turn rules
  (docs/reference/gemini.md#turn-rules), as checked by conformance/checks/gemini_turns.py and by
  the independent strict emulator's validator (Schema cleaning aside: that is clean_schema's,
  tested in test_schema.py);
- any JSON-ish input (random, request-shaped junk, or a valid request with one node
  replaced or deleted) either converts or raises RequestError, never anything else;
- the input is never modified; the output always encodes with compat.dumps.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from compat._anthropic.request import to_gemini_request
from compat._errors import RequestError
from compat._json import dumps, loads
from compat._options import ConversionOptions
from conformance.checks.gemini_turns import assert_gemini_turn_rules, with_neutral_schemas
from conformance.emulator.validation import validate_generate_content_request
from conformance.strategies import anthropic_requests as anthropic

OPTIONS = st.builds(
    ConversionOptions,
    fast_path=st.booleans(),
    schema_mode=st.sampled_from(["parameters", "parametersJsonSchema"]),
    upstream_model=st.sampled_from([None, "gemini-2.5-pro", "gemini-3-pro-preview"]),
)


@given(anthropic.requests(), OPTIONS)
def test_valid_requests_convert_to_bodies_that_obey_geminis_turn_rules(
    request: dict[str, Any], options: ConversionOptions
) -> None:
    snapshot = copy.deepcopy(request)
    body = to_gemini_request(request, options=options)
    assert request == snapshot, "the input is not modified"
    assert_gemini_turn_rules(body)
    assert loads(dumps(body)) == body


@given(anthropic.requests(), OPTIONS)
def test_the_strict_emulator_accepts_every_converted_request(
    request: dict[str, Any], options: ConversionOptions
) -> None:
    body = with_neutral_schemas(to_gemini_request(request, options=options))
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

"""Differential check: what compat sends to Gemini, the independent oracle accepts.

compat converts valid Anthropic and OpenAI requests into Gemini requests; the validator, written
from the reference alone, must accept every one of them (for Gemini 3, whose thought-signature
rule is the strictest). A failure names either a compat bug or an oracle that is stricter than
Google; the rejection message says which rule disagrees.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings

from compat import ConversionOptions, RequestError, openai_to_gemini_request, to_gemini_request
from conformance.emulator.validation import validate_generate_content_request
from conformance.strategies.anthropic_requests import requests as anthropic_requests
from conformance.strategies.openai_requests import valid_openai_requests

MODEL = "gemini-3-pro-preview"
OPTIONS = ConversionOptions(upstream_model=MODEL)


def assert_accepted(convert: Any, request: dict[str, Any]) -> None:
    try:
        gemini_request = convert(request, options=OPTIONS)
    except RequestError:  # compat refused it: nothing reached Gemini, nothing to judge here
        return
    rejection = validate_generate_content_request(gemini_request, model=MODEL)
    assert rejection is None, rejection.message


# Generating whole conversations is the cost here; fewer examples than the profile's.
@settings(max_examples=min(settings().max_examples, 50))
@given(anthropic_requests())
def test_compat_translations_of_anthropic_requests_are_accepted(request: dict[str, Any]) -> None:
    assert_accepted(to_gemini_request, request)


@settings(max_examples=min(settings().max_examples, 50))
@given(valid_openai_requests())
def test_compat_translations_of_openai_requests_are_accepted(request: dict[str, Any]) -> None:
    assert_accepted(openai_to_gemini_request, request)

"""compat._anthropic.fast_path: text-only requests skip the machinery and give the same body."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compat._anthropic.fast_path import fast_gemini_request
from compat._anthropic.request import to_gemini_request
from compat._errors import RequestError
from compat._options import ConversionOptions
from conformance.strategies import anthropic_requests as anthropic

FAST = ConversionOptions(fast_path=True)
FULL = ConversionOptions(fast_path=False)


def outcome(request: Any, options: ConversionOptions) -> Any:
    try:
        return to_gemini_request(request, options=options)
    except RequestError as error:
        return ("error", error.path, error.message)


@given(anthropic.text_requests())
def test_text_requests_take_the_fast_path_and_give_the_full_paths_body(
    request: dict[str, Any],
) -> None:
    snapshot = copy.deepcopy(request)
    fast = fast_gemini_request(request)
    assert fast is not None, "a text-only request qualifies"
    assert fast == to_gemini_request(request, options=FULL)
    assert request == snapshot


@given(anthropic.hostile_requests() | anthropic.requests())
def test_the_fast_path_option_never_changes_a_result_or_an_error(request: Any) -> None:
    assert outcome(request, FAST) == outcome(request, FULL)


def text_request(**fields: Any) -> dict[str, Any]:
    return {
        "model": "m",
        "max_tokens": 50,
        "messages": [{"role": "user", "content": "hi"}],
        **fields,
    }


@pytest.mark.parametrize(
    "fields",
    [
        {"tools": [{"name": "f", "input_schema": {"type": "object"}}]},
        {"tools": []},
        {"tool_choice": {"type": "auto"}},
        {"messages": [{"role": "user", "content": [{"type": "image", "source": {}}]}]},
        {
            "messages": [
                {"role": "user", "content": "a"},
                {"role": "assistant", "content": "prefill"},
            ]
        },
        {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": ""}]},
        {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "a"}]},
        {"messages": [{"role": "user", "content": ""}]},
        {"messages": []},
        {"system": [{"type": "text", "text": ""}]},
        {"max_tokens": "50"},
        {"stream": 1},
        {"metadata": {"user_id": 5}},
        {"model": None},
    ],
)
def test_anything_beyond_plain_text_is_handed_back_to_the_full_path(fields: dict[str, Any]) -> None:
    assert fast_gemini_request(text_request(**fields)) is None


def test_thinking_config_and_sampling_fields_stay_on_the_fast_path() -> None:
    request = text_request(
        thinking={"type": "enabled", "budget_tokens": 2048},
        temperature=0.3,
        stop_sequences=["x"],
        stream=True,
    )
    assert fast_gemini_request(request) == to_gemini_request(request, options=FULL)


@given(
    st.sampled_from(["gemini-3-pro-preview", "gemini-2.5-flash", None]), anthropic.text_requests()
)
def test_the_upstream_model_does_not_matter_for_text_requests(
    model: str | None, request: dict[str, Any]
) -> None:
    options = ConversionOptions(fast_path=True, upstream_model=model)
    assert to_gemini_request(request, options=options) == to_gemini_request(request)

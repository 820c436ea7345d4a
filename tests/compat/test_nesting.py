"""compat._nesting: a request nested deeper than MAX_NESTING (128) is the client's fault, named.

- Through every entry point that takes client JSON (`loads`, both converters,
  `dropped_fields`, `dumps`, `clean_schema`), any depth up to 10**5 at any free-form place of
  a request gives a result or compat's own error (JSONError, RequestError), never a
  RecursionError or anything else.
- Past the limit the error names the limit and the field; at the limit nothing is refused
  for its depth.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import compat
from compat._nesting import MAX_NESTING, fits, nesting_path_in_text
from conformance.strategies.nesting import (
    ANTHROPIC,
    OPENAI,
    DeepRequest,
    Nesting,
    deep_requests,
    deep_values,
    in_request,
    nested_json,
)


def convert(body: object, openai: bool) -> dict[str, Any]:
    assert isinstance(body, dict)
    if openai:
        return compat.openai_to_gemini_request(body)
    return compat.to_gemini_request(body)


def assert_names_the_limit(error: compat.JSONError | compat.RequestError, field: str) -> None:
    assert str(MAX_NESTING) in str(error) and "depth limit" in str(error), error
    assert (error.path or "").startswith(field), error


@given(deep_requests())
def test_any_depth_anywhere_converts_or_is_refused_by_compat_naming_limit_and_field(
    deep: DeepRequest,
) -> None:
    too_deep = deep.depth > MAX_NESTING
    try:
        body = compat.loads(deep.text())
        converted = convert(body, deep.openai)
    except (compat.JSONError, compat.RequestError) as error:
        if too_deep or "depth limit" in str(error):
            assert too_deep, error
            assert_names_the_limit(error, deep.field)
        return
    assert not too_deep
    compat.dumps(converted)
    compat.dumps(body)
    compat.dropped_fields(body, openai=deep.openai)


@given(deep_values(), st.sampled_from(["parameters", "parametersJsonSchema"]))
def test_clean_schema_never_raises_and_its_output_always_encodes(deep: Nesting, mode: str) -> None:
    value = deep.value()
    for schema in ({"type": "object", "properties": {"p": value}}, {"anyOf": [value]},
                   {"type": "object", "default": value}):  # fmt: skip
        cleaned = compat.clean_schema(schema, mode=mode)  # type: ignore[arg-type]
        compat.dumps(cleaned)


@given(deep_values())
def test_dumps_of_any_depth_is_bytes_or_a_json_error(deep: Nesting) -> None:
    try:
        encoded = compat.dumps(deep.value())
    except compat.JSONError as error:
        assert deep.depth > 254 and "too deep" in str(error), error  # orjson's limit: 254
        return
    if deep.depth <= MAX_NESTING:
        assert compat.loads(encoded) == compat.loads(deep.text())


# -- at the limit and one past it ---------------------------------------------------------

TOOL_INPUT = ("messages", 1, "content", 0, "input")


def test_a_request_exactly_at_the_limit_converts() -> None:
    text = in_request(ANTHROPIC, TOOL_INPUT, nested_json(MAX_NESTING - len(TOOL_INPUT)))
    body = compat.loads(text)
    assert fits(body, MAX_NESTING) and not fits(body, MAX_NESTING - 1)
    gemini = compat.to_gemini_request(body)
    args = gemini["contents"][1]["parts"][0]["functionCall"]["args"]
    assert fits(args, MAX_NESTING - len(TOOL_INPUT)) and compat.dumps(gemini)


def test_one_level_past_the_limit_is_refused_naming_the_limit_and_the_field() -> None:
    text = in_request(ANTHROPIC, TOOL_INPUT, nested_json(MAX_NESTING - len(TOOL_INPUT) + 1))
    with pytest.raises(compat.RequestError) as refused:
        compat.to_gemini_request(compat.loads(text))  # type: ignore[arg-type]
    assert refused.value.path == "messages[1].content[0].input.a.a.a…(120 more levels)"
    assert refused.value.message == "nested deeper than 128 levels, the depth limit of a request"


def test_one_level_past_the_limit_in_openai_is_refused_the_same_way() -> None:
    place = ("messages", 0, "content")
    text = in_request(OPENAI, place, nested_json(MAX_NESTING - len(place) + 1, ("array",)))
    with pytest.raises(compat.RequestError) as refused:
        compat.openai_to_gemini_request(compat.loads(text))  # type: ignore[arg-type]
    assert refused.value.path.startswith("messages[0].content[0][0][0][0][0]…")


def test_past_the_decoders_limit_loads_names_the_first_container_past_compats() -> None:
    text = in_request(ANTHROPIC, ("metadata",), nested_json(100_000, ("object", "second")))
    with pytest.raises(compat.JSONError) as refused:
        compat.loads(text)
    assert refused.value.path == "metadata.a[1].a[1].a[1].a…(120 more levels)"
    assert "128" in refused.value.message


def test_the_tools_are_checked_with_their_cached_conversion() -> None:
    place = ("tools", 0, "input_schema", "properties", "p")
    body = compat.loads(in_request(ANTHROPIC, place, nested_json(MAX_NESTING)))
    for _ in range(2):  # a refused conversion is never cached
        with pytest.raises(compat.RequestError, match="depth limit"):
            compat.to_gemini_request(body)  # type: ignore[arg-type]


def test_dropped_fields_of_a_too_deep_request_says_why_it_does_not_convert() -> None:
    body = compat.loads(in_request(ANTHROPIC, ("metadata",), nested_json(MAX_NESTING)))
    with pytest.raises(compat.RequestError, match="depth limit") as refused:
        compat.dropped_fields(body)  # type: ignore[arg-type]
    assert refused.value.path.startswith("metadata.a.a")


@pytest.mark.parametrize("depth", [1, MAX_NESTING, MAX_NESTING + 1, 2000])
def test_the_text_scan_finds_the_same_field_as_the_decoded_check(depth: int) -> None:
    text = in_request(OPENAI, ("messages", 0, "content"), nested_json(depth, ("second", "object")))
    found = nesting_path_in_text(text)
    if 3 + depth <= MAX_NESTING:
        assert found is None
        return
    assert found is not None and found[:5] == ["messages", 0, "content", 1, "a"]
    assert len(found) == MAX_NESTING


def test_a_deep_value_behind_a_huge_flat_prefix_is_refused_without_a_slow_search() -> None:
    text = '{"messages": [' + "1," * 30_000 + nested_json(2000, ("array",)) + "]}"
    with pytest.raises(compat.JSONError, match="128 levels, the depth limit") as refused:
        compat.loads(text)
    assert refused.value.path is None  # past the text scan's token budget: no field named

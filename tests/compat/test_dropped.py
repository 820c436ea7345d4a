"""dropped_fields: the fields of a client request that never reach Gemini.

- the issue's examples are reported by their leaf paths, for both dialects; the fields the
  proxy reads outside the body (`model`, `stream`, `stream_options.include_usage`) never
  are, nor is a field that is read but restates a default (`is_error: false`);
- sound: removing every reported field at once leaves the Gemini body unchanged;
- complete for unknown fields: a key injected into any object of a valid request (outside
  tool arguments and schemas, whose keys are data) is reported at its path;
- the input is never modified; a request that does not convert is refused.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compat import (
    RequestError,
    dropped_fields,
    dumps,
    loads,
    openai_to_gemini_request,
    to_gemini_request,
)
from conformance.strategies import anthropic_requests as anthropic
from conformance.strategies import openai_requests as openai

INJECTED = "x_compatkit_unknown"
# Each example converts the request once per object key: fewer examples than the profile's.
FEWER = settings(max_examples=min(80, settings.default.max_examples))
DATA_KEYS = {"input", "input_schema", "parameters", "schema", "arguments", "metadata"}


def claude_code_request() -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "stream": True,
        "metadata": {"user_id": "user_abc"},
        "context_management": {"edits": [{"type": "clear_tool_uses_20250919"}]},
        "output_config": {"effort": "high"},
        "system": [
            {"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}}
        ],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
        "tools": [
            {
                "name": "Bash",
                "description": "Run a command",
                "input_schema": {
                    "$schema": "http://json-schema.org/draft-07/schema#",
                    "type": "object",
                    "properties": {"command": {"type": "string"}},
                    "required": ["command"],
                },
            }
        ],
        "temperature": 0.5,
    }


def test_the_fields_claude_code_sends_that_gemini_never_sees_are_reported() -> None:
    assert dropped_fields(claude_code_request()) == [
        "metadata.user_id",
        "context_management.edits",
        "output_config.effort",
        "system[0].cache_control.type",
        "tools[0].input_schema.$schema",
    ]


def test_a_request_whose_every_field_is_converted_reports_nothing() -> None:
    request = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 64,
        "temperature": 0.2,
        "messages": [{"role": "user", "content": "Hi"}],
    }
    assert dropped_fields(request) == []


def test_openai_fields_with_no_gemini_meaning_are_reported_and_the_envelope_is_not() -> None:
    request = {
        "model": "gpt-4o-mini",
        "stream": True,
        "stream_options": {"include_usage": True},
        "user": "user-7",
        "store": False,
        "metadata": {"team": "a"},
        "parallel_tool_calls": True,
        "max_completion_tokens": 50,
        "messages": [{"role": "user", "content": "Hi"}],
    }
    assert dropped_fields(request, openai=True) == [
        "user",
        "store",
        "metadata.team",
        "parallel_tool_calls",
    ]


def test_a_field_that_restates_the_default_is_read_so_not_reported() -> None:
    request = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 64,
        "messages": [
            {"role": "user", "content": "Run it"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {}}],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "is_error": False},
                    {"type": "text", "text": "Done?", "citations": None},
                ],
            },
        ],
    }
    assert dropped_fields(request) == ["messages[2].content[1].citations"]


def test_a_request_that_does_not_convert_is_refused() -> None:
    with pytest.raises(RequestError):
        dropped_fields({"model": "claude-sonnet-4-5", "messages": []})


def without(request: Any, dotted_paths: list[str]) -> Any:
    """`request` without the fields at `dotted_paths` (as dropped_fields writes them)."""
    result = loads(dumps(request))  # a copy that shares no object (strategies may)
    for text in dotted_paths:
        steps = _steps(text)
        parent = result
        for step in steps[:-1]:
            parent = parent[step]
        del parent[steps[-1]]
    return result


def _steps(text: str) -> list[str | int]:
    steps: list[str | int] = []
    for segment in text.replace("[", ".[").split("."):
        if segment.startswith("["):
            steps.append(int(segment[1:-1]))
        elif segment:
            steps.append(segment)
    return steps


def object_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of every object in `value` whose keys are fields (not tool arguments or schemas)."""
    found: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        found.append(path)
        for key, inner in value.items():
            if key not in DATA_KEYS:
                found += object_paths(inner, (*path, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += object_paths(inner, (*path, index))
    return found


def dotted(path: tuple[Any, ...]) -> str:
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text


DIALECTS = [
    pytest.param(anthropic.requests(), to_gemini_request, False, id="anthropic"),
    pytest.param(openai.valid_openai_requests(), openai_to_gemini_request, True, id="openai"),
]


@pytest.mark.parametrize(("requests", "convert", "is_openai"), DIALECTS)
@FEWER
@given(data=st.data())
def test_removing_every_reported_field_leaves_the_body_unchanged(
    data: st.DataObject, requests: Any, convert: Any, is_openai: bool
) -> None:
    request = data.draw(requests)
    before = loads(dumps(request))
    dropped = dropped_fields(request, openai=is_openai)
    assert request == before
    assert dumps(convert(without(request, dropped))) == dumps(convert(request))


@pytest.mark.parametrize(("requests", "convert", "is_openai"), DIALECTS)
@FEWER
@given(data=st.data())
def test_an_unknown_key_in_any_object_of_a_request_is_reported(
    data: st.DataObject, requests: Any, convert: Any, is_openai: bool
) -> None:
    request = data.draw(requests)
    path = data.draw(st.sampled_from(object_paths(request)))
    target = request
    for step in path:
        target = target[step]
    target[INJECTED] = "whatever"
    assert dotted((*path, INJECTED)) in dropped_fields(request, openai=is_openai)

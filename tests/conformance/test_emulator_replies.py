"""Deterministic replies (conformance.emulator.replies): invariants over many valid requests."""

from __future__ import annotations

import json
import random
from typing import Any

import jsonschema
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.emulator.replies import (
    count_request_tokens,
    count_tokens,
    example_for_schema,
    merge_chunks,
    plan_reply,
)
from conformance.emulator.scenarios import Scenario, ScriptedCall, load_config, parse_scenario
from conformance.strategies.gemini_requests import generate_content_requests, schemas

PACKAGED = load_config().scenarios
REPLY_SCENARIOS = [s for s in PACKAGED.values() if not s.faults]


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "parts": [{"text": text}]}


BASH = {
    "name": "Bash",
    "parameters": {
        "type": "OBJECT",
        "properties": {"command": {"type": "STRING"}, "timeout": {"type": "INTEGER"}},
        "required": ["command"],
    },
}


# The request strategy costs ~0.1 s per example on the shared CI box: fewer examples here.
@settings(max_examples=40)
@given(generate_content_requests(), st.sampled_from(REPLY_SCENARIOS))
def test_stream_chunks_add_up_to_the_whole_reply_with_running_usage(
    case: tuple[str, dict[str, Any]], scenario: Scenario
) -> None:
    model, request = case
    reply = plan_reply(request, model=model, scenario=scenario)
    assert reply == plan_reply(request, model=model, scenario=scenario)
    assert merge_chunks(reply.chunks) == reply.whole
    prompt = count_request_tokens(request)
    previous = 0
    for index, chunk in enumerate(reply.chunks):
        usage = chunk["usageMetadata"]
        assert usage["promptTokenCount"] == prompt
        total = prompt + usage.get("candidatesTokenCount", 0) + usage.get("thoughtsTokenCount", 0)
        assert usage["totalTokenCount"] == total
        assert usage["totalTokenCount"] >= previous
        previous = usage["totalTokenCount"]
        for candidate in chunk.get("candidates", []):
            is_last = index == len(reply.chunks) - 1
            assert ("finishReason" in candidate) == is_last


@settings(max_examples=40)
@given(generate_content_requests())
def test_declared_tools_are_called_with_arguments_valid_against_their_schema(
    case: tuple[str, dict[str, Any]],
) -> None:
    model, request = case
    scenario = Scenario(name="calls", call_declared_tools=5)
    reply = plan_reply(request, model=model, scenario=scenario)
    declared = {
        d["name"]: d
        for tool in request.get("tools", request.get("tools", []))
        for d in tool.get("functionDeclarations", tool.get("function_declarations", []))
    }
    calls = [
        p["functionCall"]
        for p in reply.whole["candidates"][0]["content"]["parts"]
        if "functionCall" in p
    ]
    for call in calls:
        schema = declared[call["name"]].get("parameters", {"type": "OBJECT"})
        jsonschema.validate(call["args"], as_json_schema(schema))


@given(schemas(), st.integers(0, 2**32))
def test_schema_examples_validate(schema: dict[str, Any], seed: int) -> None:
    jsonschema.validate(example_for_schema(schema, random.Random(seed)), as_json_schema(schema))


def as_json_schema(schema: Any) -> Any:
    """A Gemini Schema as JSON Schema: lower-case types, `nullable`; annotations and `pattern`
    (which example_for_schema does not promise to honour) dropped; with an `enum`, the enum is the
    constraint (string limits an enum contradicts are dropped)."""
    if not isinstance(schema, dict):
        return schema
    result: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "type":
            result["type"] = [value.lower(), "null"] if schema.get("nullable") else value.lower()
        elif key == "properties":
            result["properties"] = {k: as_json_schema(v) for k, v in value.items()}
        elif key == "items":
            result["items"] = as_json_schema(value)
        elif key == "anyOf":
            result["anyOf"] = [as_json_schema(v) for v in value]
        elif key in {"format", "nullable", "propertyOrdering", "example", "pattern"} or (
            key in {"minLength", "maxLength"} and "enum" in schema
        ):
            continue
        else:
            result[key] = value
    return result


def answer_text(request: dict[str, Any], scenario: Scenario | None = None) -> str:
    reply = plan_reply(request, model="m", scenario=scenario or PACKAGED["default"])
    return "".join(p["text"] for p in reply.whole["candidates"][0]["content"]["parts"])


@given(schemas(), st.sampled_from(["responseSchema", "response_schema"]))
def test_json_mode_answers_json_valid_against_the_response_schema(
    schema: dict[str, Any], key: str
) -> None:
    config = {"responseMimeType": "application/json", key: schema}
    text = answer_text({"contents": [user("data please")], "generationConfig": config})
    jsonschema.validate(json.loads(text), as_json_schema(schema))


def test_json_schema_references_and_nullable_unions_are_followed() -> None:
    schema = {
        "$defs": {
            "Step": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
        },
        "type": "object",
        "properties": {
            "steps": {"type": "array", "items": {"$ref": "#/$defs/Step"}, "minItems": 1},
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "kind": {"type": ["string", "null"], "enum": ["a", "b"]},
            "when": {"type": "string", "format": "date-time"},
        },
        "required": ["steps", "note", "kind", "when"],
        "additionalProperties": False,
    }
    config = {"responseMimeType": "application/json", "responseJsonSchema": schema}
    for seed in range(20):
        request = {"contents": [user(f"data {seed}")], "generationConfig": config}
        jsonschema.validate(json.loads(answer_text(request)), schema)


def test_json_mode_streams_json_text_and_counts_its_tokens() -> None:
    config = {"responseMimeType": "application/json"}
    request = {"contents": [user("facts")], "generationConfig": config}
    reply = plan_reply(request, model="m", scenario=PACKAGED["default"])
    text = answer_text(request)
    assert isinstance(json.loads(text), dict)
    assert len(reply.chunks) > 1
    usage = reply.whole["usageMetadata"]
    assert usage["candidatesTokenCount"] == count_tokens(text)


def test_enum_mime_type_answers_one_value() -> None:
    config = {
        "responseMimeType": "text/x.enum",
        "responseSchema": {"type": "STRING", "enum": ["x", "y"]},
    }
    assert answer_text({"contents": [user("pick")], "generationConfig": config}) in {"x", "y"}


def test_a_function_response_in_json_mode_is_still_answered_in_json() -> None:
    request = {
        "contents": [
            user("list files"),
            {
                "role": "model",
                "parts": [{"functionCall": {"name": "Bash", "args": {"command": "ls"}}}],
            },
            {
                "role": "user",
                "parts": [{"functionResponse": {"name": "Bash", "response": {"output": "a"}}}],
            },
        ],
        "tools": [{"functionDeclarations": [BASH]}],
        "generationConfig": {"responseMimeType": "application/json"},
    }
    assert isinstance(json.loads(answer_text(request)), dict)


def test_a_scripted_tool_call_is_made_on_user_text_and_its_output_quoted_after() -> None:
    scenario = PACKAGED["tool_bash"]
    request = {"contents": [user("list files")], "tools": [{"functionDeclarations": [BASH]}]}
    call = plan_reply(request, model="m", scenario=scenario).whole["candidates"][0]
    assert call["content"]["parts"] == [
        {
            "functionCall": {
                "name": "Bash",
                "args": {"command": "echo hi", "description": "Print hi"},
            }
        }
    ]
    assert call["finishReason"] == "STOP"
    answered = {
        "contents": [
            user("list files"),
            {"role": "model", "parts": call["content"]["parts"]},
            {
                "role": "user",
                "parts": [{"functionResponse": {"name": "Bash", "response": {"output": "hi\n"}}}],
            },
        ],
        "tools": [{"functionDeclarations": [BASH]}],
    }
    text = plan_reply(answered, model="m", scenario=scenario).whole["candidates"][0]["content"][
        "parts"
    ][0]["text"]
    assert text == "Tool Bash returned: hi"


def test_scripted_calls_are_parallel_parts_of_one_chunk() -> None:
    scenario = Scenario(
        name="two",
        tool_calls=(ScriptedCall("Bash", {"command": "a"}), ScriptedCall("Bash", {"command": "b"})),
    )
    request = {"contents": [user("go")], "tools": [{"functionDeclarations": [BASH]}]}
    reply = plan_reply(request, model="m", scenario=scenario)
    assert len(reply.chunks) == 1
    assert [
        p["functionCall"]["args"]["command"]
        for p in reply.chunks[0]["candidates"][0]["content"]["parts"]
    ] == ["a", "b"]


def test_undeclared_or_disabled_tools_are_never_called() -> None:
    scenario = PACKAGED["tool_bash"]
    undeclared = plan_reply({"contents": [user("hi")]}, model="m", scenario=scenario)
    assert "text" in undeclared.whole["candidates"][0]["content"]["parts"][0]
    disabled = {
        "contents": [user("hi")],
        "tools": [{"functionDeclarations": [BASH]}],
        "toolConfig": {"functionCallingConfig": {"mode": "NONE"}},
    }
    assert (
        "text"
        in plan_reply(disabled, model="m", scenario=scenario).whole["candidates"][0]["content"][
            "parts"
        ][0]
    )


def test_mode_any_forces_a_call_even_without_a_scripted_one() -> None:
    request = {
        "contents": [user("hi")],
        "tools": [{"functionDeclarations": [BASH]}],
        "toolConfig": {"functionCallingConfig": {"mode": "ANY"}},
    }
    parts = plan_reply(request, model="m", scenario=PACKAGED["default"]).whole["candidates"][0][
        "content"
    ]["parts"]
    assert parts[0]["functionCall"]["name"] == "Bash"


def test_thoughts_come_first_and_the_signature_rides_on_the_first_answer_part() -> None:
    request = {
        "contents": [user("think")],
        "generationConfig": {"thinkingConfig": {"includeThoughts": True}},
    }
    reply = plan_reply(request, model="m", scenario=PACKAGED["thinking"])
    parts = reply.whole["candidates"][0]["content"]["parts"]
    assert parts[0]["thought"] is True and "thoughtSignature" not in parts[0]
    assert "thoughtSignature" in parts[1] and "thought" not in parts[1]
    assert reply.whole["usageMetadata"]["thoughtsTokenCount"] == 24


def test_hidden_thoughts_are_counted_but_not_shown_and_budget_zero_disables_them() -> None:
    hidden = plan_reply({"contents": [user("x")]}, model="m", scenario=PACKAGED["thinking"]).whole
    assert all("thought" not in p for p in hidden["candidates"][0]["content"]["parts"])
    assert hidden["usageMetadata"]["thoughtsTokenCount"] == 24
    off = {"contents": [user("x")], "generationConfig": {"thinkingConfig": {"thinkingBudget": 0}}}
    disabled = plan_reply(off, model="m", scenario=PACKAGED["thinking"]).whole
    assert "thoughtsTokenCount" not in disabled["usageMetadata"]
    assert "thoughtSignature" not in disabled["candidates"][0]["content"]["parts"][0]


@given(st.integers(0, 11))
def test_max_output_tokens_truncates_and_reports_max_tokens(limit: int) -> None:
    request = {"contents": [user("x")], "generationConfig": {"maxOutputTokens": limit}}
    whole = plan_reply(request, model="m", scenario=PACKAGED["default"]).whole
    assert whole["candidates"][0]["finishReason"] == "MAX_TOKENS"
    assert whole["usageMetadata"]["candidatesTokenCount"] == limit
    assert count_tokens(whole["candidates"][0]["content"]["parts"][0]["text"]) == limit


def test_snake_case_requests_are_read_like_camel_case_ones() -> None:
    camel = {"contents": [user("x")], "generationConfig": {"maxOutputTokens": 3}}
    snake = {"contents": [user("x")], "generation_config": {"max_output_tokens": 3}}
    scenario = PACKAGED["default"]
    assert (
        plan_reply(snake, model="m", scenario=scenario).whole["candidates"][0]["finishReason"]
        == "MAX_TOKENS"
    )
    assert count_request_tokens(camel) == count_request_tokens(snake)


def test_scripted_finish_reasons_and_blocked_prompts() -> None:
    request = {"contents": [user("x")]}
    safety = plan_reply(request, model="m", scenario=PACKAGED["safety"])
    assert safety.chunks[-1]["candidates"][0]["finishReason"] == "SAFETY"
    assert "content" not in safety.chunks[-1]["candidates"][0]
    malformed = plan_reply(request, model="m", scenario=PACKAGED["malformed_function_call"]).whole
    assert malformed["candidates"][0]["finishReason"] == "MALFORMED_FUNCTION_CALL"
    blocked = plan_reply(request, model="m", scenario=PACKAGED["blocked_prompt"])
    assert len(blocked.chunks) == 1
    assert "candidates" not in blocked.whole
    assert blocked.whole["promptFeedback"]["blockReason"] == "SAFETY"


def test_different_scenarios_or_conversations_give_different_text() -> None:
    a = plan_reply({"contents": [user("a")]}, model="m", scenario=PACKAGED["default"]).whole
    b = plan_reply({"contents": [user("b")]}, model="m", scenario=PACKAGED["default"]).whole
    seeded = parse_scenario("default", {"seed": 7})
    c = plan_reply({"contents": [user("a")]}, model="m", scenario=seeded).whole
    texts = {x["candidates"][0]["content"]["parts"][0]["text"] for x in (a, b, c)}
    assert len(texts) == 3


def test_python_integers_beyond_64_bits_in_a_request_do_not_break_the_reply() -> None:
    request = {
        "contents": [
            user("x"),
            {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {"n": 2**70}}}]},
            {
                "role": "user",
                "parts": [{"functionResponse": {"name": "f", "response": {"output": 2**70}}}],
            },
        ]
    }
    text = plan_reply(request, model="m", scenario=PACKAGED["default"]).whole["candidates"][0][
        "content"
    ]["parts"][0]["text"]
    assert text == f"Tool f returned: {2**70}"


def test_gemini_3_signs_its_function_calls_even_without_visible_thoughts() -> None:
    request = {"contents": [user("go")], "tools": [{"functionDeclarations": [BASH]}]}
    scenario = PACKAGED["tool_bash"]
    signed = plan_reply(request, model="gemini-3-pro-preview", scenario=scenario).whole
    assert "thoughtSignature" in signed["candidates"][0]["content"]["parts"][0]
    unsigned = plan_reply(request, model="gemini-2.5-flash", scenario=scenario).whole
    assert "thoughtSignature" not in unsigned["candidates"][0]["content"]["parts"][0]

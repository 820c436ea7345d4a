"""Specification of OpenAI Chat Completions request → Gemini request (compat._openai.request)."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openai.types.chat import ChatCompletion

from compat import ConversionOptions, RequestError, openai_to_gemini_request, to_openai_completion
from compat._openai import openai_error_body
from compat._openai.fast_path import fast_gemini_body
from conformance.strategies.gemini_responses import parts
from conformance.strategies.openai_requests import openai_requests, valid_openai_requests


def convert(messages: list[Any], **params: Any) -> dict[str, Any]:
    return openai_to_gemini_request({"model": "gpt-4o", "messages": messages, **params})


def rejected(messages: list[Any], **params: Any) -> RequestError:
    with pytest.raises(RequestError) as caught:
        convert(messages, **params)
    return caught.value


USER = {"role": "user", "content": "hi"}


def call(call_id: str, name: str = "get_weather", arguments: str = '{"city": "Oslo"}') -> Any:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


# -- system and user content --------------------------------------------------------------


def test_system_and_developer_messages_become_the_system_instruction_in_order() -> None:
    body = convert(
        [
            {"role": "system", "content": "one"},
            {"role": "developer", "content": [{"type": "text", "text": "two"}]},
            USER,
            {"role": "system", "content": "three"},
        ]
    )
    assert body["systemInstruction"] == {
        "parts": [{"text": "one"}, {"text": "two"}, {"text": "three"}]
    }
    assert body["contents"] == [{"role": "user", "parts": [{"text": "hi"}]}]


def test_a_request_without_system_messages_has_no_system_instruction() -> None:
    assert "systemInstruction" not in convert([USER])


def test_user_text_parts_become_text_parts_and_empty_texts_are_dropped() -> None:
    content = [
        {"type": "text", "text": "a"},
        {"type": "text", "text": ""},
        {"type": "text", "text": "b"},
    ]
    body = convert([{"role": "user", "content": content}])
    assert body["contents"][0]["parts"] == [{"text": "a"}, {"text": "b"}]


def test_an_image_data_uri_becomes_inline_data() -> None:
    part = {
        "type": "image_url",
        "image_url": {"url": "data:image/PNG;base64,iVBORw0K", "detail": "high"},
    }
    body = convert([{"role": "user", "content": [part]}])
    assert body["contents"][0]["parts"] == [
        {"inlineData": {"mimeType": "image/png", "data": "iVBORw0K"}}
    ]


def test_an_image_http_url_becomes_file_data_with_the_type_its_extension_names() -> None:
    parts = [
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.JPG?size=2"}},
        {"type": "image_url", "image_url": {"url": "http://example.com/render"}},
    ]
    body = convert([{"role": "user", "content": parts}])
    assert body["contents"][0]["parts"] == [
        {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/cat.JPG?size=2"}},
        {"fileData": {"fileUri": "http://example.com/render"}},
    ]


def test_a_file_with_file_data_becomes_inline_data() -> None:
    parts = [
        {
            "type": "file",
            "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "x"},
        },
        {"type": "file", "file": {"file_data": "JVBERi0=", "filename": "report.pdf"}},
    ]
    body = convert([{"role": "user", "content": parts}])
    expected = {"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0="}}
    assert body["contents"][0]["parts"] == [expected, expected]


def test_input_audio_becomes_inline_audio_of_its_format() -> None:
    parts = [
        {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
        {"type": "input_audio", "input_audio": {"data": "SUQz", "format": "mp3"}},
    ]
    body = convert([{"role": "user", "content": parts}])
    assert body["contents"][0]["parts"] == [
        {"inlineData": {"mimeType": "audio/wav", "data": "UklGRg=="}},
        {"inlineData": {"mimeType": "audio/mp3", "data": "SUQz"}},
    ]


@pytest.mark.parametrize(
    ("part", "path"),
    [
        (
            {"type": "image_url", "image_url": {"url": "ftp://x/y.png"}},
            "messages[0].content[0].image_url.url",
        ),
        (
            {"type": "image_url", "image_url": {"url": "data:image/png,abc"}},
            "messages[0].content[0].image_url.url",
        ),
        (
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,a b"}},
            "messages[0].content[0].image_url.url",
        ),
        ({"type": "file", "file": {"file_id": "file-abc"}}, "messages[0].content[0].file.file_id"),
        (
            {"type": "file", "file": {"file_data": "JVBERi0="}},
            "messages[0].content[0].file.filename",
        ),
        (
            {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "flac"}},
            "messages[0].content[0].input_audio.format",
        ),
        ({"type": "video", "video": {}}, "messages[0].content[0].type"),
        ("just a string", "messages[0].content[0]"),
    ],
)
def test_unconvertible_user_parts_are_request_errors_naming_the_part(part: Any, path: str) -> None:
    assert rejected([{"role": "user", "content": [part]}]).path == path


# -- assistant messages and tool calls -----------------------------------------------------


def test_assistant_text_and_tool_calls_become_one_model_turn() -> None:
    body = convert(
        [
            USER,
            {
                "role": "assistant",
                "content": "Let me check.",
                "tool_calls": [call("call_1"), call("call_2", "search", "")],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            {"role": "tool", "tool_call_id": "call_2", "content": "found"},
        ]
    )
    assert body["contents"][1] == {
        "role": "model",
        "parts": [
            {"text": "Let me check."},
            {"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}},
            {"functionCall": {"name": "search", "args": {}}},
        ],
    }


def test_tool_call_arguments_that_are_not_json_are_a_request_error_naming_them() -> None:
    error = rejected(
        [USER, {"role": "assistant", "tool_calls": [call("call_1", arguments="{oops")]}]
    )
    assert error.path == "messages[1].tool_calls[0].function.arguments"


def test_tool_call_arguments_must_encode_an_object() -> None:
    error = rejected([USER, {"role": "assistant", "tool_calls": [call("call_1", arguments="[1]")]}])
    assert error.path == "messages[1].tool_calls[0].function.arguments"


def test_consecutive_tool_messages_form_one_user_turn_in_call_order() -> None:
    body = convert(
        [
            USER,
            {
                "role": "assistant",
                "tool_calls": [call("call_a", "first"), call("call_b", "second")],
            },
            {
                "role": "tool",
                "tool_call_id": "call_b",
                "content": [{"type": "text", "text": "B1"}, {"type": "text", "text": "B2"}],
            },
            {"role": "tool", "tool_call_id": "call_a", "content": "A"},
        ]
    )
    assert body["contents"][2] == {
        "role": "user",
        "parts": [
            {"functionResponse": {"name": "first", "response": {"output": "A"}}},
            {"functionResponse": {"name": "second", "response": {"output": "B1\nB2"}}},
        ],
    }
    assert len(body["contents"]) == 3


def test_a_gemini_issued_call_id_goes_back_on_the_call_and_its_response() -> None:
    body = convert(
        [
            USER,
            {"role": "assistant", "tool_calls": [call("call_g_abc123")]},
            {"role": "tool", "tool_call_id": "call_g_abc123", "content": "ok"},
        ]
    )
    assert body["contents"][1]["parts"][0]["functionCall"]["id"] == "abc123"
    assert body["contents"][2]["parts"][0]["functionResponse"]["id"] == "abc123"


def test_a_minted_call_id_sends_no_id_upstream() -> None:
    body = convert(
        [
            USER,
            {"role": "assistant", "tool_calls": [call("call_x")]},
            {"role": "tool", "tool_call_id": "call_x", "content": "ok"},
        ]
    )
    assert "id" not in body["contents"][1]["parts"][0]["functionCall"]
    assert "id" not in body["contents"][2]["parts"][0]["functionResponse"]


def test_a_user_message_after_tool_results_joins_their_turn_after_the_responses() -> None:
    body = convert(
        [
            USER,
            {"role": "assistant", "tool_calls": [call("call_1")]},
            {"role": "tool", "tool_call_id": "call_1", "content": "ok"},
            {"role": "user", "content": "thanks"},
        ]
    )
    assert [list(part) for part in body["contents"][2]["parts"]] == [["functionResponse"], ["text"]]


def test_a_tool_message_naming_no_earlier_call_is_a_request_error() -> None:
    error = rejected(
        [
            USER,
            {"role": "assistant", "tool_calls": [call("call_1")]},
            {"role": "tool", "tool_call_id": "nope", "content": "x"},
        ]
    )
    assert error.path == "messages[2].tool_call_id"


def test_a_tool_call_left_unanswered_is_a_request_error_like_on_openai() -> None:
    error = rejected(
        [
            USER,
            {"role": "assistant", "tool_calls": [call("call_1"), call("call_2")]},
            {"role": "tool", "tool_call_id": "call_1", "content": "x"},
            USER,
        ]
    )
    assert error.path == "messages[1].tool_calls"
    assert "call_2" in error.message


def test_answering_a_tool_call_twice_is_a_request_error() -> None:
    messages = [
        USER,
        {"role": "assistant", "tool_calls": [call("call_1")]},
        {"role": "tool", "tool_call_id": "call_1", "content": "x"},
    ]
    error = rejected([*messages, {"role": "tool", "tool_call_id": "call_1", "content": "again"}])
    assert "already answered" in error.message


def test_legacy_function_call_and_function_messages_convert() -> None:
    body = convert(
        [
            USER,
            {
                "role": "assistant",
                "content": None,
                "function_call": {"name": "lookup", "arguments": '{"q": 1}'},
            },
            {"role": "function", "name": "lookup", "content": "42"},
        ]
    )
    assert body["contents"][1]["parts"] == [{"functionCall": {"name": "lookup", "args": {"q": 1}}}]
    assert body["contents"][2]["parts"] == [
        {"functionResponse": {"name": "lookup", "response": {"output": "42"}}}
    ]


def test_echoed_reasoning_content_goes_back_as_a_thought_part() -> None:
    body = convert([USER, {"role": "assistant", "content": "4", "reasoning_content": "2+2"}, USER])
    assert body["contents"][1]["parts"] == [{"text": "2+2", "thought": True}, {"text": "4"}]


def test_gemini_3_gets_the_skip_signature_on_the_first_call_of_each_model_turn() -> None:
    request = {
        "messages": [
            USER,
            {"role": "assistant", "tool_calls": [call("call_1"), call("call_2")]},
            {"role": "tool", "tool_call_id": "call_1", "content": "a"},
            {"role": "tool", "tool_call_id": "call_2", "content": "b"},
        ]
    }
    body = openai_to_gemini_request(
        request, options=ConversionOptions(upstream_model="gemini-3-pro-preview")
    )
    first, second = body["contents"][1]["parts"]
    assert first["thoughtSignature"] == "skip_thought_signature_validator"
    assert "thoughtSignature" not in second
    assert "thoughtSignature" not in json.dumps(openai_to_gemini_request(request))


def test_a_tool_call_thought_signature_in_google_extra_content_goes_back_on_its_part() -> None:
    signed = {**call("call_1"), "extra_content": {"google": {"thought_signature": "c2lnMQ=="}}}
    request = {
        "messages": [
            USER,
            {"role": "assistant", "tool_calls": [call("call_0"), signed]},
            *answers("call_0", "call_1"),
        ]
    }
    body = openai_to_gemini_request(
        request, options=ConversionOptions(upstream_model="gemini-3-pro-preview")
    )
    first, second = body["contents"][1]["parts"]
    assert first["thoughtSignature"] == "skip_thought_signature_validator"
    assert second["thoughtSignature"] == "c2lnMQ=="


def test_a_real_signature_on_the_first_call_is_not_replaced_by_the_sentinel() -> None:
    signed = {**call("call_1"), "extra_content": {"google": {"thought_signature": "c2lnMQ=="}}}
    request = {
        "messages": [USER, {"role": "assistant", "tool_calls": [signed]}, *answers("call_1")]
    }
    body = openai_to_gemini_request(
        request, options=ConversionOptions(upstream_model="gemini-3-flash")
    )
    assert body["contents"][1]["parts"][0]["thoughtSignature"] == "c2lnMQ=="


def test_a_malformed_extra_content_is_a_request_error_naming_it() -> None:
    bad = {**call("call_1"), "extra_content": {"google": {"thought_signature": 7}}}
    error = rejected([USER, {"role": "assistant", "tool_calls": [bad]}, *answers("call_1")])
    assert error.path == "messages[1].tool_calls[0].extra_content.google.thought_signature"


def test_a_gemini_tool_call_round_trips_through_an_openai_client_history() -> None:
    gemini_reply = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {"text": "Checking."},
                        {
                            "functionCall": {
                                "name": "get_weather",
                                "args": {"city": "Oslo"},
                                "id": "fc1",
                            },
                            "thoughtSignature": "c2lnMQ==",
                        },
                        {"functionCall": {"name": "get_weather", "args": {"city": "Rome"}}},
                    ],
                },
                "finishReason": "STOP",
            }
        ]
    }
    completion = ChatCompletion.model_validate(to_openai_completion(gemini_reply, model="gpt-4o"))
    assistant = completion.choices[0].message.model_dump(exclude_none=True)  # what SDK users append
    ids = [tool_call["id"] for tool_call in assistant["tool_calls"]]
    request = {"messages": [USER, assistant, *answers(*ids)]}
    body = openai_to_gemini_request(
        request, options=ConversionOptions(upstream_model="gemini-3-pro-preview")
    )
    assert body["contents"][1]["parts"] == [
        {"text": "Checking."},
        {
            "functionCall": {"name": "get_weather", "args": {"city": "Oslo"}, "id": "fc1"},
            "thoughtSignature": "c2lnMQ==",
        },
        {"functionCall": {"name": "get_weather", "args": {"city": "Rome"}}},
    ]
    assert body["contents"][2]["parts"][0]["functionResponse"]["id"] == "fc1"


def test_a_text_signature_round_trips_through_the_message_extra_content() -> None:
    gemini_reply = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {"text": "thinking", "thought": True},
                        {"text": "Hello", "thoughtSignature": "c2lnMQ=="},
                    ],
                },
                "finishReason": "STOP",
            }
        ]
    }
    completion = ChatCompletion.model_validate(to_openai_completion(gemini_reply, model="gpt-4o"))
    assistant = completion.choices[0].message.model_dump(exclude_none=True)
    body = convert([USER, assistant, USER])
    assert body["contents"][1]["parts"] == [
        {"text": "thinking", "thought": True},
        {"text": "Hello", "thoughtSignature": "c2lnMQ=="},
    ]


def test_a_message_signature_without_text_goes_back_on_an_empty_text_part() -> None:
    assistant = {
        "role": "assistant",
        "content": None,
        "tool_calls": [call("call_1")],
        "extra_content": {"google": {"thought_signature": "c2ln"}},
    }
    body = convert([USER, assistant, *answers("call_1")])
    assert body["contents"][1]["parts"][-1] == {"text": "", "thoughtSignature": "c2ln"}


def test_a_malformed_message_extra_content_is_a_request_error_naming_it() -> None:
    assistant = {"role": "assistant", "content": "x", "extra_content": {"google": []}}
    error = rejected([USER, assistant, USER])
    assert error.path == "messages[1].extra_content.google"


def answers(*call_ids: str) -> list[Any]:
    return [{"role": "tool", "tool_call_id": call_id, "content": "ok"} for call_id in call_ids]


# -- turn structure (docs/reference/gemini.md#turn-rules) ----------------------------------


def test_consecutive_same_role_messages_merge_into_one_turn() -> None:
    body = convert(
        [
            USER,
            {"role": "user", "content": "again"},
            {"role": "assistant", "content": "a"},
            {"role": "assistant", "content": "b"},
            USER,
        ]
    )
    assert [content["role"] for content in body["contents"]] == ["user", "model", "user"]
    assert body["contents"][1]["parts"] == [{"text": "a"}, {"text": "b"}]


def test_empty_messages_are_dropped_without_breaking_alternation() -> None:
    body = convert(
        [USER, {"role": "assistant", "content": ""}, {"role": "user", "content": "more"}]
    )
    assert body["contents"] == [{"role": "user", "parts": [{"text": "hi"}, {"text": "more"}]}]


def test_a_conversation_ending_with_an_assistant_message_is_a_request_error() -> None:
    assert rejected([USER, {"role": "assistant", "content": "prefill"}]).path == "messages[1]"


def test_a_conversation_without_content_is_a_request_error() -> None:
    assert rejected([{"role": "system", "content": "only"}]).path == "messages"


def test_an_unknown_role_is_a_request_error() -> None:
    assert rejected([{"role": "robot", "content": "x"}]).path == "messages[0].role"


# -- tools and tool_choice -----------------------------------------------------------------

TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "additionalProperties": False,
        },
        "strict": True,
    },
}


def test_function_tools_become_declarations_with_cleaned_parameters() -> None:
    body = convert([USER], tools=[TOOL])
    (declaration,) = body["tools"][0]["functionDeclarations"]
    assert declaration["name"] == "get_weather"
    assert declaration["description"] == "Weather"
    assert declaration["parameters"]["type"] == "OBJECT"
    assert "additionalProperties" not in declaration["parameters"]


def test_schema_mode_parameters_json_schema_sends_json_schema() -> None:
    request = {"messages": [USER], "tools": [TOOL]}
    body = openai_to_gemini_request(
        request, options=ConversionOptions(schema_mode="parametersJsonSchema")
    )
    declaration = body["tools"][0]["functionDeclarations"][0]
    assert "parameters" not in declaration
    assert declaration["parametersJsonSchema"]["type"] == "object"


def test_legacy_functions_become_declarations() -> None:
    body = convert(
        [USER],
        functions=[{"name": "lookup", "parameters": {"type": "object"}}],
        function_call={"name": "lookup"},
    )
    assert body["tools"][0]["functionDeclarations"][0]["name"] == "lookup"
    assert body["toolConfig"] == {
        "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["lookup"]}
    }


@pytest.mark.parametrize(
    ("tool_choice", "config"),
    [
        ("none", {"mode": "NONE"}),
        ("auto", {"mode": "AUTO"}),
        ("required", {"mode": "ANY"}),
        (
            {"type": "function", "function": {"name": "get_weather"}},
            {"mode": "ANY", "allowedFunctionNames": ["get_weather"]},
        ),
        (
            {
                "type": "allowed_tools",
                "allowed_tools": {
                    "mode": "required",
                    "tools": [{"type": "function", "function": {"name": "get_weather"}}],
                },
            },
            {"mode": "ANY", "allowedFunctionNames": ["get_weather"]},
        ),
    ],
)
def test_tool_choice_maps_to_function_calling_mode(tool_choice: Any, config: Any) -> None:
    body = convert([USER], tools=[TOOL], tool_choice=tool_choice, parallel_tool_calls=False)
    assert body["toolConfig"] == {"functionCallingConfig": config}


def test_tool_choice_naming_an_undeclared_tool_is_a_request_error() -> None:
    error = rejected(
        [USER], tools=[TOOL], tool_choice={"type": "function", "function": {"name": "other"}}
    )
    assert error.path == "tool_choice.function.name"


def test_required_tool_choice_without_tools_is_a_request_error() -> None:
    assert rejected([USER], tool_choice="required").path == "tool_choice"


def test_a_function_name_gemini_rejects_is_a_request_error() -> None:
    tool = {"type": "function", "function": {"name": "1st-tool"}}
    assert rejected([USER], tools=[tool]).path == "tools[0].function.name"


def test_custom_tools_are_request_errors() -> None:
    assert (
        rejected([USER], tools=[{"type": "custom", "custom": {"name": "x"}}]).path
        == "tools[0].type"
    )


# -- generation parameters -----------------------------------------------------------------


def test_sampling_parameters_map_to_generation_config() -> None:
    body = convert(
        [USER],
        max_completion_tokens=300,
        max_tokens=100,
        temperature=0.5,
        top_p=0.9,
        n=1,
        seed=7,
        presence_penalty=0.1,
        frequency_penalty=-0.2,
        stop=["END", "STOP"],
    )
    assert body["generationConfig"] == {
        "maxOutputTokens": 300,
        "temperature": 0.5,
        "topP": 0.9,
        "presencePenalty": 0.1,
        "frequencyPenalty": -0.2,
        "seed": 7,
        "stopSequences": ["END", "STOP"],
    }


def test_deprecated_max_tokens_is_used_when_max_completion_tokens_is_absent() -> None:
    assert convert([USER], max_tokens=64)["generationConfig"] == {"maxOutputTokens": 64}


def test_a_single_stop_string_becomes_one_stop_sequence() -> None:
    assert convert([USER], stop="###")["generationConfig"]["stopSequences"] == ["###"]


def test_more_than_five_stop_sequences_is_a_request_error() -> None:
    assert rejected([USER], stop=list("abcdef")).path == "stop"


def test_n_other_than_one_is_a_request_error() -> None:
    assert rejected([USER], n=2).path == "n"


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"temperature": 3}, "temperature"),
        ({"temperature": "hot"}, "temperature"),
        ({"top_p": -0.1}, "top_p"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_completion_tokens": True}, "max_completion_tokens"),
        ({"seed": 1.5}, "seed"),
        ({"logprobs": True}, "logprobs"),
        ({"logit_bias": {"50256": -100}}, "logit_bias"),
        ({"stop": [""]}, "stop[0]"),
        ({"response_format": {"type": "yaml"}}, "response_format.type"),
        ({"reasoning_effort": "extreme"}, "reasoning_effort"),
        ({"stream_options": {"include_usage": "yes"}}, "stream_options.include_usage"),
    ],
)
def test_invalid_parameters_are_request_errors_naming_them(
    params: dict[str, Any], path: str
) -> None:
    assert rejected([USER], **params).path == path


def test_ignored_parameters_are_accepted() -> None:
    body = convert(
        [USER],
        stream=True,
        stream_options={"include_usage": True},
        user="u1",
        metadata={"k": "v"},
        store=False,
        parallel_tool_calls=True,
        service_tier="auto",
        logprobs=False,
        logit_bias={},
    )
    assert set(body) == {"contents"}


def test_response_format_json_object_asks_for_json() -> None:
    body = convert([USER], response_format={"type": "json_object"})
    assert body["generationConfig"] == {"responseMimeType": "application/json"}


def test_response_format_json_schema_sends_the_schema_as_response_json_schema() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "required": ["a"],
        "additionalProperties": False,
    }
    body = convert(
        [USER],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "x", "schema": schema, "strict": True},
        },
    )
    config = body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"]["properties"] == {"a": {"type": "string"}}


@pytest.mark.parametrize(
    ("effort", "model", "thinking"),
    [
        ("low", None, {"includeThoughts": True, "thinkingBudget": 1024}),
        ("medium", "gemini-2.5-pro", {"includeThoughts": True, "thinkingBudget": 8192}),
        ("high", None, {"includeThoughts": True, "thinkingBudget": 24576}),
        ("minimal", None, {"includeThoughts": True, "thinkingBudget": 512}),
        ("high", "gemini-3-pro-preview", {"includeThoughts": True, "thinkingLevel": "HIGH"}),
        ("minimal", "gemini-3-flash", {"includeThoughts": True, "thinkingLevel": "MINIMAL"}),
        ("none", None, {"includeThoughts": False}),
    ],
)
def test_reasoning_effort_maps_to_thinking_config(
    effort: str, model: str | None, thinking: Any
) -> None:
    request = {"messages": [USER], "reasoning_effort": effort}
    body = openai_to_gemini_request(request, options=ConversionOptions(upstream_model=model))
    assert body["generationConfig"]["thinkingConfig"] == thinking


# -- error envelope ------------------------------------------------------------------------


def test_a_request_error_becomes_an_openai_invalid_request_body() -> None:
    body = openai_error_body(rejected([USER], n=3))
    assert body == {
        "error": {
            "message": "n: only n=1 is supported: Gemini returns one candidate here",
            "type": "invalid_request_error",
            "param": "n",
            "code": None,
        }
    }


# -- properties ----------------------------------------------------------------------------


any_options = st.builds(
    ConversionOptions,
    fast_path=st.booleans(),
    schema_mode=st.sampled_from(["parameters", "parametersJsonSchema"]),
    upstream_model=st.sampled_from([None, "gemini-2.5-pro", "gemini-3-pro-preview"]),
)


@given(openai_requests(), any_options)
def test_conversion_raises_nothing_but_request_error_on_any_input(
    request: Any, options: ConversionOptions
) -> None:
    try:
        openai_to_gemini_request(request, options=options)
    except RequestError as error:
        assert isinstance(error.path, str)
        assert error.message


def assert_gemini_turn_rules(body: dict[str, Any]) -> None:
    """docs/reference/gemini.md#turn-rules: user/model roles alternating, no empty parts, a user
    turn last, N calls → N responses."""
    contents = body["contents"]
    assert contents
    roles = [content["role"] for content in contents]
    assert set(roles) <= {"user", "model"}
    assert all(a != b for a, b in itertools.pairwise(roles))
    assert roles[-1] == "user"
    for index, content in enumerate(contents):
        assert content["parts"]
        assert all(
            part.get("text", "x") != ""
            for part in content["parts"]
            if "thoughtSignature" not in part
        )
        calls = sum("functionCall" in part for part in content["parts"])
        if content["role"] == "model" and calls:
            assert index > 0
            responses = sum("functionResponse" in part for part in contents[index + 1]["parts"])
            assert responses == calls
        for part in content["parts"]:
            if "functionResponse" in part:
                assert isinstance(part["functionResponse"]["response"], dict)


@given(openai_requests())
def test_every_converted_request_satisfies_the_gemini_turn_rules(request: Any) -> None:
    try:
        body = openai_to_gemini_request(request)
    except RequestError:
        return
    assert_gemini_turn_rules(body)


@given(valid_openai_requests())
def test_every_valid_openai_request_converts(request: Any) -> None:
    body = openai_to_gemini_request(request)
    assert_gemini_turn_rules(body)
    json.dumps(body)


# -- fast path (compat._openai.fast_path) --------------------------------------------------

FAST = ConversionOptions(fast_path=True)


def outcome(request: Any, options: ConversionOptions | None) -> Any:
    try:
        return openai_to_gemini_request(request, options=options)
    except RequestError as error:
        return ("RequestError", error.path, error.message)


def test_the_fast_path_gives_the_full_path_body_for_a_plain_chat() -> None:
    request = {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "s"},
            USER,
            {"role": "assistant", "content": "a", "name": "bot"},
            {"role": "user", "content": ""},
            USER,
        ],
        "temperature": 0.2,
        "stop": "X",
        "stream": True,
    }
    assert fast_gemini_body(request) is not None
    assert outcome(request, FAST) == outcome(request, None)


def test_the_fast_path_hands_back_requests_with_tools_or_parts() -> None:
    assert fast_gemini_body({"messages": [USER], "tools": []}) is None
    assert (
        fast_gemini_body(
            {"messages": [{"role": "user", "content": [{"type": "text", "text": "x"}]}]}
        )
        is None
    )
    assert (
        fast_gemini_body({"messages": [USER, {"role": "assistant", "content": "prefill"}]}) is None
    )


@given(openai_requests())
def test_the_fast_path_never_changes_the_outcome(request: Any) -> None:
    assert outcome(request, FAST) == outcome(request, None)


def test_a_tool_without_properties_declares_no_parameters_in_parameters_mode() -> None:
    # Gemini refuses an OBJECT schema without properties ("should be non-empty for OBJECT type").
    request = {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "tools": [
            {"type": "function", "function": {"name": "now", "parameters": {"type": "object"}}}
        ],
    }
    body = openai_to_gemini_request(request)
    assert body["tools"] == [{"functionDeclarations": [{"name": "now"}]}]


@given(st.lists(parts(), min_size=1, max_size=5))
def test_every_call_signature_and_the_first_other_signature_survive_a_client_history(
    reply_parts: list[Any],
) -> None:
    """Gemini reply → completion → what an SDK user appends → the next Gemini request."""
    content = {"role": "model", "parts": reply_parts}
    reply = {"candidates": [{"content": content, "finishReason": "STOP"}]}
    completion = ChatCompletion.model_validate(to_openai_completion(reply, model="gpt-4o"))
    assistant = completion.choices[0].message.model_dump(exclude_none=True)
    ids = [tool_call["id"] for tool_call in assistant.get("tool_calls", [])]
    body = convert([USER, assistant, *answers(*ids)] if ids else [USER, assistant, USER])
    model_turns = [turn for turn in body["contents"] if turn["role"] == "model"]
    sent = [part["thoughtSignature"] for turn in model_turns for part in turn["parts"]
            if "thoughtSignature" in part]  # fmt: skip
    calls = [part["thoughtSignature"] for part in reply_parts
             if "functionCall" in part and "thoughtSignature" in part]  # fmt: skip
    others = [part["thoughtSignature"] for part in reply_parts
              if "functionCall" not in part and "thoughtSignature" in part]  # fmt: skip
    assert sorted(sent) == sorted(calls + others[:1])

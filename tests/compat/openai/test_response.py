"""Specification of Gemini response → OpenAI ChatCompletion (compat._openai.response)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openai.types.chat import ChatCompletion

from compat import dumps, loads, to_openai_completion
from conformance.strategies.gemini_responses import hostile_chunks

CALL_ID = re.compile(r"call_[0-9A-Za-z]{24}")


def response(*parts: Any, finish: str | None = "STOP", **extra: Any) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": list(parts)}, "index": 0}
    if finish is not None:
        candidate["finishReason"] = finish
    return {"candidates": [candidate], **extra}


def complete(gemini_response: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    completion = to_openai_completion(gemini_response, model="gpt-4o", **kwargs)
    ChatCompletion.model_validate(completion)  # the official SDK's type accepts it
    return completion


def message_of(completion: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = completion["choices"][0]["message"]
    return message


def finish_of(completion: dict[str, Any]) -> str:
    reason: str = completion["choices"][0]["finish_reason"]
    return reason


def test_the_completion_has_the_chat_completion_envelope() -> None:
    completion = complete(response({"text": "Hi"}), completion_id="chatcmpl-fixed")
    assert completion["id"] == "chatcmpl-fixed"
    assert completion["object"] == "chat.completion"
    assert completion["model"] == "gpt-4o"
    assert isinstance(completion["created"], int)
    assert completion["choices"][0]["index"] == 0
    assert completion["choices"][0]["logprobs"] is None
    assert message_of(completion) == {"role": "assistant", "content": "Hi", "refusal": None}


def test_a_minted_completion_id_starts_with_chatcmpl() -> None:
    assert complete(response({"text": "Hi"}))["id"].startswith("chatcmpl-")


def test_text_parts_are_concatenated_into_content() -> None:
    assert message_of(complete(response({"text": "Hel"}, {"text": "lo"})))["content"] == "Hello"


def test_thoughts_become_reasoning_content_and_never_mix_into_content() -> None:
    completion = complete(
        response(
            {"text": "plan ", "thought": True},
            {"text": "4"},
            {"text": "more", "thought": True, "thoughtSignature": "c2ln"},
        )
    )
    assert message_of(completion)["content"] == "4"
    assert message_of(completion)["reasoning_content"] == "plan more"


def test_no_reasoning_content_key_without_thoughts() -> None:
    assert "reasoning_content" not in message_of(complete(response({"text": "4"})))


def test_function_calls_become_tool_calls_with_minted_call_ids() -> None:
    completion = complete(
        response(
            {"functionCall": {"name": "get_weather", "args": {"city": "Zürich"}}},
            {"functionCall": {"name": "noop"}},
        )
    )
    first, second = message_of(completion)["tool_calls"]
    assert CALL_ID.fullmatch(first["id"]) and CALL_ID.fullmatch(second["id"])
    assert first["id"] != second["id"]
    assert first["type"] == "function"
    assert first["function"] == {"name": "get_weather", "arguments": '{"city":"Zürich"}'}
    assert second["function"] == {"name": "noop", "arguments": "{}"}
    assert finish_of(completion) == "tool_calls"


def test_a_gemini_call_id_is_kept_as_call_g_id() -> None:
    completion = complete(response({"functionCall": {"name": "f", "args": {}, "id": "abc"}}))
    assert message_of(completion)["tool_calls"][0]["id"] == "call_g_abc"


def test_a_gemini_call_id_repeated_in_one_reply_is_kept_only_once() -> None:
    call = {"functionCall": {"name": "f", "args": {}, "id": "abc"}}
    ids = [
        tool_call["id"] for tool_call in message_of(complete(response(call, call)))["tool_calls"]
    ]
    assert ids[0] == "call_g_abc" and CALL_ID.fullmatch(ids[1])


def test_a_function_call_signature_goes_on_the_tool_call_as_google_extra_content() -> None:
    completion = complete(
        response(
            {"functionCall": {"name": "f", "args": {}}, "thoughtSignature": "c2lnMQ=="},
            {"functionCall": {"name": "g", "args": {}}},
        )
    )
    first, second = message_of(completion)["tool_calls"]
    assert first["extra_content"] == {"google": {"thought_signature": "c2lnMQ=="}}
    assert "extra_content" not in second


def test_tool_arguments_never_carry_lone_surrogates() -> None:
    completion = complete(response({"functionCall": {"name": "f", "args": {"k\ud800": "v\udfff"}}}))
    arguments = message_of(completion)["tool_calls"][0]["function"]["arguments"]
    arguments.encode("utf-8")  # strict: raises on a lone surrogate
    assert loads(arguments) == {"k\ufffd": "v\ufffd"}


def test_content_is_null_when_the_reply_only_calls_tools() -> None:
    assert (
        message_of(complete(response({"functionCall": {"name": "f", "args": {}}})))["content"]
        is None
    )


def test_an_empty_reply_has_empty_string_content() -> None:
    completion = complete(response(finish="STOP"))
    assert message_of(completion)["content"] == ""
    assert finish_of(completion) == "stop"


@pytest.mark.parametrize(
    ("gemini_finish", "openai_finish"),
    [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("LANGUAGE", "content_filter"),
        ("OTHER", "content_filter"),
        ("BLOCKLIST", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("SPII", "content_filter"),
        ("IMAGE_SAFETY", "content_filter"),
        ("MALFORMED_FUNCTION_CALL", "stop"),
        ("UNEXPECTED_TOOL_CALL", "stop"),
        ("TOO_MANY_TOOL_CALLS", "stop"),
        ("FINISH_REASON_UNSPECIFIED", "stop"),
        ("SOMETHING_NEW", "stop"),
        (None, "stop"),
    ],
)
def test_finish_reason_follows_the_recommended_mapping(
    gemini_finish: str | None, openai_finish: str
) -> None:
    assert finish_of(complete(response({"text": "x"}, finish=gemini_finish))) == openai_finish


def test_max_tokens_wins_over_tool_calls() -> None:
    completion = complete(
        response({"functionCall": {"name": "f", "args": {}}}, finish="MAX_TOKENS")
    )
    assert finish_of(completion) == "length"


def test_a_blocked_prompt_is_content_filter_with_null_content() -> None:
    blocked = {
        "promptFeedback": {"blockReason": "SAFETY"},
        "usageMetadata": {"promptTokenCount": 9},
    }
    completion = complete(blocked)
    assert finish_of(completion) == "content_filter"
    assert message_of(completion)["content"] is None
    assert completion["usage"]["prompt_tokens"] == 9


def test_a_safety_stop_without_text_has_null_content() -> None:
    completion = complete(response(finish="SAFETY"))
    assert message_of(completion)["content"] is None


def test_usage_counts_reasoning_tokens_in_completion_and_reports_cache_reads() -> None:
    usage = {
        "promptTokenCount": 100,
        "candidatesTokenCount": 20,
        "thoughtsTokenCount": 30,
        "cachedContentTokenCount": 60,
        "totalTokenCount": 150,
    }
    completion = complete(response({"text": "x"}, usageMetadata=usage))
    assert completion["usage"] == {
        "prompt_tokens": 100,
        "completion_tokens": 50,
        "total_tokens": 150,
        "prompt_tokens_details": {"cached_tokens": 60},
        "completion_tokens_details": {"reasoning_tokens": 30},
    }


def test_missing_usage_metadata_gives_zero_usage() -> None:
    assert complete(response({"text": "x"}))["usage"]["total_tokens"] == 0


def test_a_code_assist_envelope_is_unwrapped() -> None:
    wrapped = {
        "response": response({"text": "Hi"}, usageMetadata={"promptTokenCount": 3}),
        "traceId": "t",
    }
    completion = complete(wrapped)
    assert message_of(completion)["content"] == "Hi"
    assert completion["usage"]["prompt_tokens"] == 3


def test_a_response_without_candidates_is_an_empty_stop() -> None:
    completion = complete({"usageMetadata": {"promptTokenCount": 1}})
    assert (message_of(completion)["content"], finish_of(completion)) == ("", "stop")


def test_media_without_a_chat_completions_field_is_named_in_content_not_dropped() -> None:
    completion = complete(
        response({"inlineData": {"mimeType": "image/png", "data": "AAAA"}}, {"text": "caption"})
    )
    assert message_of(completion)["content"] == (
        "[model output: image/png, 3 bytes, not shown]\n\ncaption"
    )


def test_code_and_its_result_are_shown_in_content_set_apart_by_blank_lines() -> None:
    completion = complete(
        response(
            {"text": "Let me compute."},
            {"executableCode": {"language": "PYTHON", "code": "print(2 + 2)"}},
            {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "4\n"}},
            {"text": "It is 4."},
        )
    )
    assert message_of(completion)["content"] == (
        "Let me compute.\n\n```python\nprint(2 + 2)\n```\n\n"
        "Code execution result: OUTCOME_OK\n```\n4\n```\n\nIt is 4."
    )


def test_a_thought_image_is_named_in_reasoning_content() -> None:
    draft = {"inlineData": {"mimeType": "image/png", "data": "AAAA"}, "thought": True}
    message = message_of(complete(response(draft, {"text": "Done"})))
    assert message["reasoning_content"] == "[model output: image/png, 3 bytes, not shown]"
    assert message["content"] == "Done"


def test_shown_parts_are_not_cut_at_a_stop_sequence() -> None:
    code = {"executableCode": {"language": "PYTHON", "code": "print('END')"}}
    completion = complete(response(code, {"text": "after END more"}), stop=["END"])
    assert message_of(completion)["content"] == "```python\nprint('END')\n```\n\nafter "


def test_a_signature_on_a_text_part_goes_on_the_message_as_google_extra_content() -> None:
    completion = complete(
        response(
            {"text": "Hi", "thoughtSignature": "U0lHMQ=="},
            {"text": "", "thoughtSignature": "U0lHMg=="},
        )
    )
    assert message_of(completion)["extra_content"] == {"google": {"thought_signature": "U0lHMQ=="}}


def test_a_function_call_signature_stays_on_its_tool_call_not_on_the_message() -> None:
    completion = complete(
        response({"functionCall": {"name": "f", "args": {}}, "thoughtSignature": "U0lH"})
    )
    assert "extra_content" not in message_of(completion)


def test_text_is_cut_at_a_requested_stop_sequence_that_gemini_let_through() -> None:
    completion = complete(
        response({"text": "one two"}, {"text": " END three"}, {"functionCall": {"name": "f"}}),
        stop=["END"],
    )
    assert message_of(completion)["content"] == "one two "
    assert "tool_calls" not in message_of(completion)
    assert finish_of(completion) == "stop"


def test_a_stop_sequence_split_across_parts_is_found() -> None:
    completion = complete(
        response({"text": "abc E"}, {"text": "ND def"}, finish="MAX_TOKENS"), stop=["END"]
    )
    assert message_of(completion)["content"] == "abc "
    assert finish_of(completion) == "stop"


def test_text_that_only_begins_a_stop_sequence_is_kept() -> None:
    completion = complete(response({"text": "abc EN"}), stop=["END"])
    assert message_of(completion)["content"] == "abc EN"


@given(hostile_chunks(), st.lists(st.sampled_from(["a", "END"]), max_size=2))
def test_any_response_shape_gives_a_completion_the_sdk_accepts(
    gemini_response: Any, stop: list[str]
) -> None:
    completion = complete(gemini_response, stop=stop)
    dumps(completion).decode("utf-8")
    assert finish_of(completion) in {"stop", "length", "tool_calls", "content_filter"}

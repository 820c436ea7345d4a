"""compat._anthropic.response: Gemini response → a valid Anthropic Message
(docs/reference/anthropic.md#message-object)."""

from __future__ import annotations

import json
from typing import Any

from anthropic.types import Message
from hypothesis import given

from compat import anthropic_error_for, turn_failure
from compat._anthropic.response import to_anthropic_message
from conformance.strategies.gemini_responses import hostile_chunks

USAGE = {
    "promptTokenCount": 120,
    "cachedContentTokenCount": 100,
    "candidatesTokenCount": 7,
    "thoughtsTokenCount": 30,
}


def response(*parts: dict[str, Any], finish: str | None = "STOP", **extra: Any) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": list(parts)}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    candidate.update(extra.pop("candidate", {}))
    return {"candidates": [candidate], **extra}


def convert(gemini: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    message = to_anthropic_message(gemini, model="claude-test", **kwargs)
    Message.model_validate(message)  # the SDK's own model accepts it
    assert message["type"] == "message" and message["role"] == "assistant"
    assert message["stop_reason"] is not None
    assert message["id"].startswith("msg_")
    return message


def test_text_reply_with_usage() -> None:
    message = convert(response({"text": "Hello"}, usageMetadata=USAGE))
    assert message["content"] == [{"type": "text", "text": "Hello"}]
    assert message["stop_reason"] == "end_turn" and message["stop_sequence"] is None
    assert message["model"] == "claude-test"
    assert message["usage"] == {
        "input_tokens": 20,
        "output_tokens": 37,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 100,
    }


def test_consecutive_text_parts_form_one_block() -> None:
    message = convert(response({"text": "a"}, {"text": ""}, {"text": " b"}))
    assert message["content"] == [{"type": "text", "text": "a b"}]


def test_thoughts_become_one_thinking_block_with_their_signature() -> None:
    message = convert(
        response(
            {"text": "step 1. ", "thought": True},
            {"text": "step 2.", "thought": True, "thoughtSignature": "SIG"},
            {"text": "Answer"},
        )
    )
    assert message["content"] == [
        {"type": "thinking", "thinking": "step 1. step 2.", "signature": "SIG"},
        {"type": "text", "text": "Answer"},
    ]


def test_a_second_signed_thought_starts_a_new_thinking_block_so_no_signature_is_lost() -> None:
    message = convert(
        response(
            {"text": "a", "thought": True, "thoughtSignature": "S1"},
            {"text": "b", "thought": True},
            {"text": "c", "thought": True, "thoughtSignature": "S2"},
        )
    )
    assert message["content"] == [
        {"type": "thinking", "thinking": "ab", "signature": "S1"},
        {"type": "thinking", "thinking": "c", "signature": "S2"},
    ]


def test_signature_on_the_following_part_goes_to_the_unsigned_thinking_block() -> None:
    message = convert(
        response({"text": "plan", "thought": True}, {"text": "Answer", "thoughtSignature": "S"})
    )
    assert message["content"] == [
        {"type": "thinking", "thinking": "plan", "signature": "S"},
        {"type": "text", "text": "Answer"},
    ]


def test_signature_without_a_thinking_block_gets_an_empty_one_before_its_part() -> None:
    message = convert(
        response(
            {"functionCall": {"name": "f", "args": {"x": 1}}, "thoughtSignature": "S1"},
            {"text": "", "thoughtSignature": "S2"},
        )
    )
    assert [block["type"] for block in message["content"]] == ["thinking", "tool_use", "thinking"]
    assert message["content"][0] == {"type": "thinking", "thinking": "", "signature": "S1"}
    assert message["content"][2] == {"type": "thinking", "thinking": "", "signature": "S2"}


def test_thinking_without_signature_gets_an_empty_signature() -> None:
    message = convert(response({"text": "t", "thought": True}))
    assert message["content"] == [{"type": "thinking", "thinking": "t", "signature": ""}]


def test_function_calls_become_tool_use_blocks_with_stop_reason_tool_use() -> None:
    message = convert(
        response(
            {"text": "Checking."},
            {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
            {"functionCall": {"id": "g1", "name": "get_time"}},
        )
    )
    text, first, second = message["content"]
    assert text == {"type": "text", "text": "Checking."}
    assert first["id"].startswith("toolu_") and len(first["id"]) == 30
    assert first["input"] == {"city": "Paris"} and first["name"] == "get_weather"
    assert second == {"type": "tool_use", "id": "toolu_g_g1", "name": "get_time", "input": {}}
    assert message["stop_reason"] == "tool_use"


def test_lone_surrogates_are_scrubbed_from_signatures() -> None:
    message = convert(response({"text": "t", "thought": True, "thoughtSignature": "S\ud800"}))
    assert message["content"][0]["signature"] == "S\ufffd"


def test_lone_surrogates_are_scrubbed_from_text_and_args() -> None:
    message = convert(
        response(
            {"text": "a\ud800"}, {"functionCall": {"name": "f", "args": {"k\udc00": ["\ud83d"]}}}
        )
    )
    assert message["content"][0]["text"] == "a\ufffd"
    assert message["content"][1]["input"] == {"k\ufffd": ["\ufffd"]}


def test_blocked_prompt_is_a_refusal_with_empty_content() -> None:
    message = convert(
        {"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}, "usageMetadata": USAGE}
    )
    assert message["content"] == [] and message["stop_reason"] == "refusal"


def test_no_candidates_is_an_empty_end_turn() -> None:
    message = convert({"candidates": []})
    assert message["content"] == [] and message["stop_reason"] == "end_turn"
    assert message["usage"]["output_tokens"] == 0


def test_safety_stop_is_a_refusal_and_max_tokens_is_max_tokens() -> None:
    assert convert(response(finish="SAFETY"))["stop_reason"] == "refusal"
    assert convert(response({"text": "long"}, finish="MAX_TOKENS"))["stop_reason"] == "max_tokens"
    truncated_call = response({"functionCall": {"name": "f"}}, finish="MAX_TOKENS")
    assert convert(truncated_call)["stop_reason"] == "max_tokens"


def test_a_malformed_function_call_is_a_failed_turn_never_invented_text() -> None:
    gemini = response(
        {"text": "Calling"},
        finish="MALFORMED_FUNCTION_CALL",
        candidate={"finishMessage": "Malformed function call: x("},
    )
    failure = turn_failure(gemini)
    assert failure is not None and failure.status == "MALFORMED_FUNCTION_CALL"
    assert "Malformed function call: x(" in failure.message
    assert anthropic_error_for(failure)[0:1] == (502,)
    assert anthropic_error_for(failure)[1]["error"]["type"] == "api_error"
    # A caller that converts it anyway gets the model's own words only.
    assert convert(gemini)["content"] == [{"type": "text", "text": "Calling"}]


def test_only_a_malformed_function_call_is_a_failed_turn() -> None:
    for finish in ("STOP", "MAX_TOKENS", "SAFETY", "UNEXPECTED_TOOL_CALL", None):
        assert turn_failure(response({"text": "x"}, finish=finish)) is None
    assert turn_failure({"candidates": []}) is None
    assert turn_failure({"totalTokens": 3}) is None


def test_code_assist_envelope_is_accepted() -> None:
    message = convert({"response": response({"text": "hi"}), "traceId": "t"})
    assert message["content"] == [{"type": "text", "text": "hi"}]


def test_stop_sequence_only_when_the_text_still_ends_with_it() -> None:
    hit = convert(response({"text": "done STOP"}), stop_sequences=["STOP", "P"])
    assert (hit["stop_reason"], hit["stop_sequence"]) == ("stop_sequence", "STOP")
    stripped = convert(response({"text": "done "}), stop_sequences=["STOP"])
    assert (stripped["stop_reason"], stripped["stop_sequence"]) == ("end_turn", None)


def test_message_id_can_be_given() -> None:
    assert convert(response({"text": "x"}), message_id="msg_abc")["id"] == "msg_abc"


def test_media_becomes_a_text_block_naming_it_after_the_signature_it_carried() -> None:
    message = convert(
        response({"inlineData": {"mimeType": "image/png", "data": "AAAA"}, "thoughtSignature": "S"})
    )
    assert message["content"] == [
        {"type": "thinking", "thinking": "", "signature": "S"},
        {"type": "text", "text": "[model output: image/png, 3 bytes, not shown]"},
    ]


def test_a_file_part_is_named_with_its_uri() -> None:
    message = convert(response({"fileData": {"mimeType": "audio/wav", "fileUri": "gs://b/o"}}))
    assert message["content"] == [
        {"type": "text", "text": "[model output: audio/wav file gs://b/o]"}
    ]


def test_code_and_its_result_are_text_blocks_of_their_own_between_the_text() -> None:
    message = convert(
        response(
            {"text": "Let me compute."},
            {"executableCode": {"language": "PYTHON", "code": "print(2 + 2)"}},
            {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "4"}},
            {"text": "It is 4."},
        )
    )
    assert message["content"] == [
        {"type": "text", "text": "Let me compute."},
        {"type": "text", "text": "```python\nprint(2 + 2)\n```"},
        {"type": "text", "text": "Code execution result: OUTCOME_OK\n```\n4\n```"},
        {"type": "text", "text": "It is 4."},
    ]


def test_a_code_fence_is_longer_than_any_backtick_run_in_the_code() -> None:
    code = 'print("```")'
    message = convert(
        response({"executableCode": {"language": "LANGUAGE_UNSPECIFIED", "code": code}})
    )
    assert message["content"] == [{"type": "text", "text": f"````\n{code}\n````"}]


def test_a_failed_execution_without_output_shows_its_outcome() -> None:
    message = convert(response({"codeExecutionResult": {"outcome": "OUTCOME_DEADLINE_EXCEEDED"}}))
    assert message["content"] == [
        {"type": "text", "text": "Code execution result: OUTCOME_DEADLINE_EXCEEDED"}
    ]


def test_parts_of_unknown_shape_add_nothing_but_keep_their_signature() -> None:
    message = convert(response({"videoMetadata": {}, "thoughtSignature": "S"}))
    assert message["content"] == [{"type": "thinking", "thinking": "", "signature": "S"}]


@given(chunk=hostile_chunks())
def test_any_json_object_converts_to_a_valid_message(chunk: dict[str, Any]) -> None:
    message = convert(chunk)
    json.dumps(message, ensure_ascii=False).encode("utf-8")  # no lone surrogates anywhere


def test_a_gemini_call_id_repeated_in_one_reply_is_kept_only_once() -> None:
    call = {"functionCall": {"name": "f", "args": {}, "id": "abc"}}
    first, second = convert(response(call, call))["content"]
    assert first["id"] == "toolu_g_abc"
    assert second["id"].startswith("toolu_") and second["id"] != "toolu_g_abc"


def test_a_thought_image_is_named_in_the_thinking_not_in_the_reply() -> None:
    draft = {"inlineData": {"mimeType": "image/png", "data": "AAAA"}, "thought": True}
    message = convert(response({"text": "drafting ", "thought": True}, draft, {"text": "Done"}))
    assert message["content"] == [
        {
            "type": "thinking",
            "thinking": "drafting [model output: image/png, 3 bytes, not shown]",
            "signature": "",
        },
        {"type": "text", "text": "Done"},
    ]

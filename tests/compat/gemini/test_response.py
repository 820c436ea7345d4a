"""compat._gemini.response: stop-reason tables (docs/reference/stop-reasons.md), usage mapping
(docs/reference/gemini.md#usage), ids (docs/mapping.md)."""

from __future__ import annotations

import re

import pytest

from compat._gemini.response import (
    PROMPT_BLOCKED,
    anthropic_stop,
    anthropic_stop_reason,
    anthropic_usage,
    candidate_failure,
    ending_stop_sequence,
    function_name,
    message_id,
    openai_call_id,
    openai_finish_reason,
    openai_usage,
    other_part_text,
    part_kind,
    tool_use_id,
)


@pytest.mark.parametrize(
    ("finish", "tools", "anthropic", "openai"),
    [
        ("STOP", False, "end_turn", "stop"),
        ("STOP", True, "tool_use", "tool_calls"),
        (None, True, "tool_use", "tool_calls"),
        ("MAX_TOKENS", False, "max_tokens", "length"),
        ("MAX_TOKENS", True, "max_tokens", "length"),
        ("SAFETY", True, "refusal", "content_filter"),
        ("RECITATION", False, "refusal", "content_filter"),
        ("LANGUAGE", False, "refusal", "content_filter"),
        ("BLOCKLIST", False, "refusal", "content_filter"),
        ("SPII", False, "refusal", "content_filter"),
        ("IMAGE_SAFETY", False, "refusal", "content_filter"),
        ("OTHER", False, "end_turn", "content_filter"),
        ("MALFORMED_FUNCTION_CALL", False, "end_turn", "stop"),
        ("UNEXPECTED_TOOL_CALL", False, "end_turn", "stop"),
        ("TOO_MANY_TOOL_CALLS", False, "end_turn", "stop"),
        ("FINISH_REASON_UNSPECIFIED", False, "end_turn", "stop"),
        ("MISSING_THOUGHT_SIGNATURE", False, "end_turn", "stop"),
        (PROMPT_BLOCKED, False, "refusal", "content_filter"),
    ],
)
def test_finish_reasons_follow_the_recommended_column(
    finish: str | None, tools: bool, anthropic: str, openai: str
) -> None:
    assert anthropic_stop_reason(finish, has_tool_calls=tools) == anthropic
    assert openai_finish_reason(finish, has_tool_calls=tools) == openai


def test_stop_sequence_found_only_at_the_end_longest_first() -> None:
    assert ending_stop_sequence("abc END", ["END", "D"]) == "END"
    assert ending_stop_sequence("END abc", ["END"]) is None
    assert ending_stop_sequence("abc", ["", "x"]) is None


def test_anthropic_usage_subtracts_cache_and_adds_thoughts() -> None:
    usage = {
        "promptTokenCount": 50,
        "cachedContentTokenCount": 20,
        "candidatesTokenCount": 5,
        "thoughtsTokenCount": 7,
    }
    assert anthropic_usage(usage) == {
        "input_tokens": 30,
        "output_tokens": 12,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 20,
    }
    assert anthropic_usage(None)["output_tokens"] == 0
    assert anthropic_usage({"promptTokenCount": "bad"})["input_tokens"] == 0


def test_openai_usage_keeps_cached_in_prompt_and_reports_reasoning() -> None:
    usage = {
        "promptTokenCount": 50,
        "cachedContentTokenCount": 20,
        "candidatesTokenCount": 5,
        "thoughtsTokenCount": 7,
    }
    assert openai_usage(usage) == {
        "prompt_tokens": 50,
        "completion_tokens": 12,
        "total_tokens": 62,
        "prompt_tokens_details": {"cached_tokens": 20},
        "completion_tokens_details": {"reasoning_tokens": 7},
    }


def test_ids_are_prefixed_base62_and_keep_gemini_ids() -> None:
    assert re.fullmatch(r"toolu_[0-9A-Za-z]{24}", tool_use_id())
    assert re.fullmatch(r"call_[0-9A-Za-z]{24}", openai_call_id(None))
    assert re.fullmatch(r"msg_[0-9A-Za-z]{24}", message_id())
    assert tool_use_id("abc") == "toolu_g_abc"
    assert openai_call_id("abc") == "call_g_abc"
    assert len({tool_use_id() for _ in range(1000)}) == 1000


def test_part_kinds() -> None:
    assert part_kind({"text": "a"}) == "text"
    assert part_kind({"text": "a", "thought": True}) == "thought"
    assert part_kind({"functionCall": {"name": "f"}}) == "function_call"
    assert part_kind({"inlineData": {}}) == "other"
    assert part_kind("junk") == "other"


@pytest.mark.parametrize(
    ("finish", "final_text", "expected"),
    [
        ("STOP", "done END", ("stop_sequence", "END")),
        (None, "done END", ("stop_sequence", "END")),
        ("STOP", "done", ("end_turn", None)),
        ("STOP", None, ("end_turn", None)),  # the last block is no text
        ("MAX_TOKENS", "done END", ("max_tokens", None)),
        ("SAFETY", "done END", ("refusal", None)),
        ("UNEXPECTED_TOOL_CALL", "done END", ("end_turn", None)),  # not a plain stop
    ],
)
def test_stop_sequence_only_for_a_plain_end_whose_final_text_ends_with_one(
    finish: str | None, final_text: str | None, expected: tuple[str, str | None]
) -> None:
    stop = anthropic_stop(
        finish, has_tool_calls=False, final_text=final_text, stop_sequences=["END"]
    )
    assert stop == expected


def test_a_tool_turn_is_never_a_stop_sequence() -> None:
    stop = anthropic_stop("STOP", has_tool_calls=True, final_text="END", stop_sequences=["END"])
    assert stop == ("tool_use", None)


def test_only_a_malformed_function_call_is_a_candidate_failure_quoting_its_message() -> None:
    malformed = {"finishReason": "MALFORMED_FUNCTION_CALL", "finishMessage": "bad \ud800"}
    failure = candidate_failure(malformed)
    assert failure is not None and failure.is_failed_turn and failure.http_status == 502
    assert failure.message.endswith("(MALFORMED_FUNCTION_CALL): bad \ufffd")
    assert candidate_failure({"finishReason": "STOP", "finishMessage": "x"}) is None
    bare = candidate_failure({"finishReason": "MALFORMED_FUNCTION_CALL"})
    assert bare is not None and bare.message.endswith("(MALFORMED_FUNCTION_CALL)")


def test_function_name_is_scrubbed_and_never_missing() -> None:
    assert function_name({"name": "f\ud800"}) == "f\ufffd"
    assert function_name({"name": 7}) == function_name({}) == ""


def test_other_part_text_is_none_for_parts_of_unknown_shape() -> None:
    assert other_part_text({"videoMetadata": {}}) is None
    assert other_part_text({"executableCode": "not an object"}) is None

"""compat._anthropic.stream.StreamTranslator: one test per rule of
docs/reference/anthropic.md#stream-grammar, #sdk-stream-rules,
docs/reference/checklist.md#anthropic-stream and docs/mapping.md."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx2  # the HTTP library anthropic 2.14 is built on
import pytest
from anthropic._streaming import Stream
from anthropic._types import NOT_GIVEN
from anthropic.lib.streaming import MessageStream
from anthropic.types import RawMessageStreamEvent

from compat._anthropic.stream import PING_EVENT, StreamTranslator, encode_sse_event
from conformance.checks.anthropic_stream import check_anthropic_stream, parse_frames

USAGE = {"promptTokenCount": 10, "candidatesTokenCount": 4, "thoughtsTokenCount": 2}


def chunk(*parts: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": list(parts)}}
    if finish:
        candidate["finishReason"] = finish
    candidate.update(extra.pop("candidate", {}))
    return {"candidates": [candidate], **extra}


def sse(*chunks: dict[str, Any]) -> bytes:
    return b"".join(b"data: " + json.dumps(c).encode() + b"\r\n\r\n" for c in chunks)


def run(*chunks: dict[str, Any], stop_sequences: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Translate, check the docs/reference/checklist.md#anthropic-stream grammar on the encoded
    form, return the events."""
    translator = StreamTranslator(model="claude-test", stop_sequences=stop_sequences)
    data = translator.feed_sse(sse(*chunks)) + translator.close_sse()
    return check_anthropic_stream(data).events


def types(events: list[dict[str, Any]]) -> list[str]:
    out = []
    for event in events:
        if event["type"] == "content_block_start":
            out.append("start:" + event["content_block"]["type"])
        elif event["type"] == "content_block_delta":
            out.append(event["delta"]["type"])
        elif event["type"] == "content_block_stop":
            out.append("stop")
        else:
            out.append(event["type"])
    return out


def test_text_stream_has_the_documented_event_order() -> None:
    events = run(chunk({"text": "Hel"}), chunk({"text": "lo"}, finish="STOP", usageMetadata=USAGE))
    assert types(events) == [
        "message_start",
        "start:text",
        "text_delta",
        "text_delta",
        "stop",
        "message_delta",
        "message_stop",
    ]
    assert [e["delta"]["text"] for e in events if e["type"] == "content_block_delta"] == [
        "Hel",
        "lo",
    ]


def test_message_start_is_lazy_until_the_first_upstream_chunk() -> None:
    translator = StreamTranslator(model="m")
    assert not translator.started
    assert translator.feed(b"data: {") == []
    assert not translator.started
    events = translator.feed(b'"candidates": []}\n\n')
    assert translator.started
    assert [e["type"] for e in events] == ["message_start"]
    message = events[0]["message"]
    assert message["content"] == [] and message["stop_reason"] is None
    assert message["model"] == "m" and message["id"].startswith("msg_")


def test_message_id_can_be_given() -> None:
    translator = StreamTranslator(model="m", message_id="msg_given")
    (start,) = translator.feed(sse({"candidates": []}))
    assert start["message"]["id"] == "msg_given" == translator.message_id


def test_whitespace_only_text_is_kept_and_empty_text_opens_no_block() -> None:
    events = run(chunk({"text": ""}), chunk({"text": " \n"}, finish="STOP"))
    assert types(events)[1:4] == ["start:text", "text_delta", "stop"]
    assert events[2]["delta"]["text"] == " \n"


def test_consecutive_thoughts_form_one_thinking_block_with_signature_delta_before_stop() -> None:
    events = run(
        chunk({"text": "a", "thought": True}),
        chunk({"text": "b", "thought": True, "thoughtSignature": "S1"}, {"text": "answer"}),
        chunk(finish="STOP"),
    )
    assert types(events)[1:8] == [
        "start:thinking",
        "thinking_delta",
        "thinking_delta",
        "signature_delta",
        "stop",
        "start:text",
        "text_delta",
    ]
    assert events[4]["delta"]["signature"] == "S1"


def test_a_second_signed_thought_streams_a_new_thinking_block() -> None:
    events = run(
        chunk({"text": "a", "thought": True, "thoughtSignature": "S1"}),
        chunk({"text": "c", "thought": True, "thoughtSignature": "S2"}, finish="STOP"),
    )
    signatures = [
        event["delta"]["signature"]
        for event in events
        if event["type"] == "content_block_delta" and event["delta"]["type"] == "signature_delta"
    ]
    assert types(events).count("start:thinking") == 2
    assert signatures == ["S1", "S2"]


def test_signature_on_the_part_after_thoughts_goes_to_the_open_thinking_block() -> None:
    events = run(
        chunk({"text": "hmm", "thought": True}),
        chunk({"functionCall": {"name": "f", "args": {}}, "thoughtSignature": "S"}, finish="STOP"),
    )
    assert types(events)[1:5] == ["start:thinking", "thinking_delta", "signature_delta", "stop"]
    assert events[3]["delta"]["signature"] == "S"
    assert types(events)[5] == "start:tool_use"


def test_signature_with_no_open_unsigned_thinking_block_gets_an_empty_thinking_block() -> None:
    events = run(chunk({"text": "Hi"}), chunk({"text": "", "thoughtSignature": "S"}, finish="STOP"))
    assert types(events)[1:8] == [
        "start:text",
        "text_delta",
        "stop",
        "start:thinking",
        "signature_delta",
        "stop",
        "message_delta",
    ]
    assert events[5]["delta"]["signature"] == "S"


def test_a_thinking_block_without_signature_closes_with_an_empty_signature_delta() -> None:
    events = run(chunk({"text": "t", "thought": True}, finish="STOP"))
    assert types(events)[1:5] == ["start:thinking", "thinking_delta", "signature_delta", "stop"]
    assert events[3]["delta"]["signature"] == ""


def test_function_call_becomes_tool_use_with_whole_args_in_one_fragment() -> None:
    args = {"city": "Zürich", "days": [1, 2], "nested": {"ok": True}}
    events = run(chunk({"functionCall": {"name": "weather", "args": args}}, finish="STOP"))
    start, delta, _stop = events[1:4]
    assert start["content_block"]["input"] == {}
    assert start["content_block"]["name"] == "weather"
    assert (
        start["content_block"]["id"].startswith("toolu_")
        and len(start["content_block"]["id"]) == 30
    )
    assert json.loads(delta["delta"]["partial_json"]) == args
    assert events[-2]["delta"]["stop_reason"] == "tool_use"


def test_gemini_function_call_id_is_kept_in_the_tool_use_id() -> None:
    events = run(chunk({"functionCall": {"id": "abc1", "name": "f"}}, finish="STOP"))
    assert events[1]["content_block"]["id"] == "toolu_g_abc1"
    assert json.loads(events[2]["delta"]["partial_json"]) == {}


def test_a_gemini_call_id_repeated_in_one_stream_is_kept_only_once() -> None:
    call = {"functionCall": {"name": "f", "args": {}, "id": "abc"}}
    events = run(chunk(call), chunk(call, finish="STOP"))
    ids = [e["content_block"]["id"] for e in events if e["type"] == "content_block_start"]
    assert ids[0] == "toolu_g_abc" and len(set(ids)) == 2


def test_parallel_calls_get_consecutive_indices() -> None:
    call = {"functionCall": {"name": "f", "args": {"a": 1}}}
    events = run(chunk({"text": "x"}, call, call, finish="STOP"))
    starts = [e["index"] for e in events if e["type"] == "content_block_start"]
    assert starts == [0, 1, 2]


def test_lone_surrogates_in_args_and_text_are_replaced_not_sent() -> None:
    raw = b'{"candidates":[{"content":{"parts":[{"text":"a\\ud800"},{"functionCall":{"name":"f","args":{"k":"\\udfff"}}}]},"finishReason":"STOP"}]}'
    translator = StreamTranslator(model="m")
    data = translator.feed_sse(b"data: " + raw + b"\n\n")
    events = check_anthropic_stream(data).events
    assert events[2]["delta"]["text"] == "a\ufffd"
    assert json.loads(events[5]["delta"]["partial_json"]) == {"k": "\ufffd"}


def test_exactly_one_message_delta_with_cumulative_usage() -> None:
    events = run(
        chunk({"text": "a"}, usageMetadata={"promptTokenCount": 10, "candidatesTokenCount": 1}),
        chunk({"text": "b"}, finish="STOP", usageMetadata={**USAGE, "cachedContentTokenCount": 3}),
    )
    (delta,) = [e for e in events if e["type"] == "message_delta"]
    assert delta["usage"] == {
        "input_tokens": 7,
        "output_tokens": 6,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 3,
    }
    assert events[0]["message"]["usage"]["input_tokens"] == 10


def test_usage_only_and_empty_chunks_add_no_blocks() -> None:
    events = run({"usageMetadata": USAGE}, {"candidates": [{"content": {}}]}, chunk(finish="STOP"))
    assert types(events) == ["message_start", "message_delta", "message_stop"]
    assert events[1]["delta"]["stop_reason"] == "end_turn"


def test_finish_reasons_map_to_stop_reasons() -> None:
    expected = {
        "STOP": "end_turn",
        "MAX_TOKENS": "max_tokens",
        "SAFETY": "refusal",
        "RECITATION": "refusal",
        "PROHIBITED_CONTENT": "refusal",
        "OTHER": "end_turn",
        "UNEXPECTED_TOOL_CALL": "end_turn",
        "NEW_REASON_FROM_THE_FUTURE": "end_turn",
    }
    for finish, stop_reason in expected.items():
        events = run(chunk({"text": "x"}, finish=finish))
        assert events[-2]["delta"]["stop_reason"] == stop_reason, finish


def test_blocked_prompt_ends_with_refusal_and_no_content() -> None:
    events = run({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": USAGE})
    assert types(events) == ["message_start", "message_delta", "message_stop"]
    assert events[1]["delta"]["stop_reason"] == "refusal"


def test_a_malformed_function_call_after_text_ends_the_stream_with_an_api_error() -> None:
    events = run(
        chunk({"text": "Let me call"}),
        chunk(finish="MALFORMED_FUNCTION_CALL", candidate={"finishMessage": "Malformed: foo("}),
    )
    texts = [e["delta"]["text"] for e in events if e["type"] == "content_block_delta"]
    assert texts == ["Let me call"]  # nothing invented
    assert events[-1]["type"] == "error" and events[-1]["error"]["type"] == "api_error"
    assert "Malformed: foo(" in events[-1]["error"]["message"]
    assert "message_stop" not in types(events)


def test_a_malformed_function_call_before_any_content_starts_nothing() -> None:
    translator = StreamTranslator(model="claude-x")
    body = sse(chunk(finish="MALFORMED_FUNCTION_CALL", candidate={"finishMessage": "bad"}))
    events = translator.feed(body) + translator.close()
    assert types(events) == ["error"]
    assert not translator.started and translator.error is not None
    assert translator.error.status == "MALFORMED_FUNCTION_CALL"


def test_stop_sequence_is_reported_only_when_the_text_still_ends_with_it() -> None:
    hit = run(chunk({"text": "one END"}, finish="STOP"), stop_sequences=("END", "x"))
    assert hit[-2]["delta"] == {"stop_reason": "stop_sequence", "stop_sequence": "END"}
    stripped = run(chunk({"text": "one "}, finish="STOP"), stop_sequences=("END",))
    assert stripped[-2]["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}


def test_upstream_error_object_becomes_an_error_event_never_end_turn() -> None:
    for code, error_type in (
        (429, "rate_limit_error"),
        (503, "overloaded_error"),
        (500, "api_error"),
    ):
        error = {"error": {"code": code, "message": "boom", "status": "X"}}
        events = run(chunk({"text": "partial"}), error)
        assert events[-1] == {"type": "error", "error": {"type": error_type, "message": "boom"}}
        assert not any(e["type"] == "message_delta" for e in events)


def test_capacity_error_is_overloaded_even_as_429() -> None:
    error = {
        "error": {
            "code": 429,
            "message": "No capacity available for model",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "MODEL_CAPACITY_EXHAUSTED",
                }
            ],
        }
    }
    events = run(error)
    assert events == [
        {
            "type": "error",
            "error": {"type": "overloaded_error", "message": "No capacity available for model"},
        }
    ]


def test_error_before_any_chunk_leaves_the_stream_unstarted() -> None:
    translator = StreamTranslator(model="m")
    events = translator.feed(b'[{"error": {"code": 503, "message": "unavailable"}}]')
    assert [e["type"] for e in events] == ["error"]
    assert not translator.started and translator.finished
    assert translator.error is not None and translator.error.http_status == 503


def test_end_without_finish_reason_is_an_api_error_event() -> None:
    translator = StreamTranslator(model="m")
    data = translator.feed_sse(sse(chunk({"text": "cut"})))
    assert not translator.finished
    data += translator.close_sse()
    checked = check_anthropic_stream(data)
    assert checked.error is not None and checked.error["type"] == "api_error"
    assert translator.finished and translator.stop_reason is None


def test_malformed_chunk_is_an_api_error_event() -> None:
    translator = StreamTranslator(model="m")
    data = translator.feed_sse(sse(chunk({"text": "a"})) + b"data: {oops\n\n")
    checked = check_anthropic_stream(data)
    assert checked.error is not None and "malformed" in checked.error["message"]


def test_input_after_the_end_is_ignored_and_close_is_idempotent() -> None:
    translator = StreamTranslator(model="m")
    translator.feed(sse(chunk({"text": "a"}, finish="STOP")))
    assert translator.finished and translator.stop_reason == "end_turn"
    assert translator.feed(sse(chunk({"text": "more"}))) == []
    assert translator.close() == []
    assert translator.close_sse() == b""


def test_finish_is_emitted_as_soon_as_the_finish_chunk_arrives() -> None:
    translator = StreamTranslator(model="m")
    events = translator.feed(sse(chunk({"text": "a"}, finish="STOP", usageMetadata=USAGE)))
    assert events[-1] == {"type": "message_stop"}
    assert translator.usage["output_tokens"] == 6


def test_code_its_result_and_media_stream_as_text_blocks_of_their_own() -> None:
    events = run(
        chunk({"text": "Computing."}, {"executableCode": {"language": "PYTHON", "code": "1+1"}}),
        chunk(
            {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "2"}},
            {"inlineData": {"mimeType": "image/png", "data": "AAAAAA=="}, "thoughtSignature": "S"},
            finish="STOP",
        ),
    )
    texts = [
        event["delta"]["text"]
        for event in events
        if event["type"] == "content_block_delta" and event["delta"]["type"] == "text_delta"
    ]
    assert texts == [
        "Computing.",
        "```python\n1+1\n```",
        "Code execution result: OUTCOME_OK\n```\n2\n```",
        "[model output: image/png, 4 bytes, not shown]",
    ]
    assert types(events).count("start:text") == 4
    assert types(events).count("start:thinking") == 1  # the media part's signature


def test_code_assist_envelope_streams_like_the_gemini_api() -> None:
    wrapped = {"response": chunk({"text": "hi"}, finish="STOP"), "traceId": "t1"}
    events = run(wrapped)
    assert types(events)[1:4] == ["start:text", "text_delta", "stop"]


def test_encode_sse_event_and_ping() -> None:
    event = {"type": "content_block_stop", "index": 3}
    assert (
        encode_sse_event(event)
        == b'event: content_block_stop\ndata: {"type":"content_block_stop","index":3}\n\n'
    )
    assert parse_frames(PING_EVENT) == [("ping", {"type": "ping"})]


def test_feed_sse_equals_encoding_feed() -> None:
    body = sse(chunk({"text": "a", "thought": True}), chunk({"text": "b"}, finish="STOP"))
    one = StreamTranslator(model="m", message_id="msg_x")
    two = StreamTranslator(model="m", message_id="msg_x")
    assert one.feed_sse(body) == b"".join(encode_sse_event(e) for e in two.feed(body))


def official_message_stream(body: bytes) -> Any:
    """The anthropic SDK's MessageStream over an HTTP response holding `body` (no network)."""
    client = anthropic.Anthropic(api_key="unused", base_url="http://127.0.0.1:9")
    response = httpx2.Response(
        200,
        content=body,
        headers={"content-type": "text/event-stream"},
        request=httpx2.Request("POST", "http://127.0.0.1:9/v1/messages"),
    )
    raw = Stream(cast_to=RawMessageStreamEvent, response=response, client=client)
    return MessageStream(raw, NOT_GIVEN)


def test_official_message_stream_reads_the_final_message() -> None:
    translator = StreamTranslator(model="m")
    body = translator.feed_sse(
        sse(
            chunk({"text": "plan", "thought": True, "thoughtSignature": "S"}),
            chunk({"text": "Hi "}, {"text": "there"}),
            chunk({"functionCall": {"name": "f", "args": {"q": "ü"}}}, finish="STOP"),
        )
    )
    stream = official_message_stream(body + PING_EVENT + translator.close_sse())
    message = stream.get_final_message()
    assert stream.get_final_text() == "Hi there"
    assert [block.type for block in message.content] == ["thinking", "text", "tool_use"]
    assert message.content[0].signature == "S"
    assert message.content[2].input == {"q": "ü"}
    assert message.stop_reason == "tool_use"


def test_official_message_stream_raises_on_the_error_event() -> None:
    translator = StreamTranslator(model="m")
    body = translator.feed_sse(sse(chunk({"text": "partial"}))) + translator.close_sse()
    with pytest.raises(anthropic.APIStatusError, match="upstream stream ended"):
        official_message_stream(body).get_final_message()

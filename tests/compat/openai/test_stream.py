"""Specification of the Gemini stream → OpenAI chunk stream translator (compat._openai.stream).

Unit tests state the rules of docs/reference/openai.md#streaming one by one; the properties feed
generated upstream streams in arbitrary byte splits and read the output with the official openai SDK
(its SSE decoder, `Stream`, and its accumulator, `ChatCompletionStreamState`).
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx2
import openai
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from compat import OpenAIStreamTranslator, loads, to_openai_completion, turn_failure
from conformance.strategies.gemini_responses import (
    FINISH_REASONS,
    GeminiStream,
    byte_splits,
    gemini_streams,
    hostile_chunks,
    merged_response,
    stream_chunks,
)

CALL_ID = re.compile(r"call_[0-9A-Za-z]{24}")
USAGE = {
    "promptTokenCount": 7,
    "candidatesTokenCount": 3,
    "thoughtsTokenCount": 2,
    "totalTokenCount": 12,
}


def sse(*chunks: Any) -> bytes:
    return b"".join(b"data: " + json.dumps(chunk).encode() + b"\r\n\r\n" for chunk in chunks)


def candidate_chunk(*parts: Any, finish: str | None = None, **extra: Any) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": list(parts)}, "index": 0}
    if finish is not None:
        candidate["finishReason"] = finish
    return {"candidates": [candidate], **extra}


def translate(body: bytes, **kwargs: Any) -> list[dict[str, Any]]:
    translator = OpenAIStreamTranslator(model="gpt-4o", **kwargs)
    return translator.feed(body) + translator.close()


def deltas(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [chunk["choices"][0]["delta"] for chunk in chunks if chunk.get("choices")]


def finishes(chunks: list[dict[str, Any]]) -> list[str]:
    return [
        chunk["choices"][0]["finish_reason"]
        for chunk in chunks
        if chunk.get("choices") and chunk["choices"][0]["finish_reason"]
    ]


# -- the official SDK as the reader --------------------------------------------------------

_CLIENT = openai.OpenAI(api_key="unused", base_url="http://127.0.0.1:9/v1")


def sdk_read(body: bytes) -> list[ChatCompletionChunk]:
    """The chunks the openai SDK yields for an SSE body (raises what the SDK raises)."""
    request = httpx2.Request("POST", "http://127.0.0.1:9/v1/chat/completions")
    response = httpx2.Response(
        200, headers={"content-type": "text/event-stream"}, content=body, request=request
    )
    return list(openai.Stream(cast_to=ChatCompletionChunk, response=response, client=_CLIENT))


def sdk_accumulate(chunks: list[ChatCompletionChunk]) -> Any:
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    for chunk in chunks:
        state.handle_chunk(chunk)
    # The snapshot, not get_final_completion(): that one raises on length/content_filter.
    return state.current_completion_snapshot


# -- unit rules ----------------------------------------------------------------------------


def test_text_deltas_share_one_id_and_only_the_first_carries_the_role() -> None:
    chunks = translate(
        sse(candidate_chunk({"text": "Hel"}), candidate_chunk({"text": "lo"}, finish="STOP")),
        completion_id="chatcmpl-x",
    )
    assert {chunk["id"] for chunk in chunks} == {"chatcmpl-x"}
    assert {chunk["object"] for chunk in chunks} == {"chat.completion.chunk"}
    assert len({chunk["created"] for chunk in chunks}) == 1
    assert deltas(chunks) == [{"role": "assistant", "content": "Hel"}, {"content": "lo"}, {}]
    assert finishes(chunks) == ["stop"]


def test_the_finish_chunk_comes_last_with_an_empty_delta() -> None:
    chunks = translate(sse(candidate_chunk({"text": "a"}, finish="MAX_TOKENS")))
    assert chunks[-1]["choices"][0] == {
        "index": 0,
        "delta": {},
        "finish_reason": "length",
        "logprobs": None,
    }
    assert all(chunk["choices"][0]["finish_reason"] is None for chunk in chunks[:-1])


def test_a_tool_call_is_one_delta_with_id_type_name_and_complete_arguments() -> None:
    body = sse(
        candidate_chunk({"text": "Checking."}),
        candidate_chunk(
            {"functionCall": {"name": "a", "args": {"x": 1}}},
            {"functionCall": {"name": "b", "args": {}, "id": "g1"}},
        ),
        candidate_chunk({"functionCall": {"name": "c", "args": {"y": "\ud800"}}}, finish="STOP"),
    )
    chunks = translate(body)
    calls = [call for delta in deltas(chunks) for call in delta.get("tool_calls", [])]
    assert [call["index"] for call in calls] == [0, 1, 2]
    assert CALL_ID.fullmatch(calls[0]["id"]) and calls[1]["id"] == "call_g_g1"
    assert all(call["type"] == "function" for call in calls)
    assert [call["function"] for call in calls] == [
        {"name": "a", "arguments": '{"x":1}'},
        {"name": "b", "arguments": "{}"},
        {"name": "c", "arguments": '{"y":"\ufffd"}'},
    ]
    assert finishes(chunks) == ["tool_calls"]


def test_a_function_call_signature_streams_once_in_the_tool_call_delta() -> None:
    part = {"functionCall": {"name": "f", "args": {}}, "thoughtSignature": "c2ln"}
    body = sse(candidate_chunk(part, finish="STOP"))
    (call,) = deltas(translate(body))[0]["tool_calls"]
    assert call["extra_content"] == {"google": {"thought_signature": "c2ln"}}
    streamed = sdk_accumulate(sdk_read(body_of(body)))
    assert streamed.choices[0].message.tool_calls[0].extra_content == {
        "google": {"thought_signature": "c2ln"}
    }


def test_a_text_signature_streams_once_on_its_delta_and_accumulates_intact() -> None:
    body = sse(
        candidate_chunk({"text": "Hi", "thoughtSignature": "U0lHMQ=="}),
        candidate_chunk({"text": "!", "thoughtSignature": "U0lHMg=="}, finish="STOP"),
    )
    assert deltas(translate(body))[0] == {
        "role": "assistant",
        "content": "Hi",
        "extra_content": {"google": {"thought_signature": "U0lHMQ=="}},
    }
    streamed = sdk_accumulate(sdk_read(body_of(body)))
    assert streamed.choices[0].message.extra_content == {
        "google": {"thought_signature": "U0lHMQ=="}
    }


def test_code_execution_streams_in_content_like_the_non_stream_reply() -> None:
    parts = [
        {"executableCode": {"language": "PYTHON", "code": "print(4)"}},
        {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "4"}},
    ]
    body = sse(candidate_chunk(parts[0]), candidate_chunk(parts[1], finish="STOP"))
    streamed = sdk_accumulate(sdk_read(body_of(body)))
    whole = to_openai_completion(candidate_chunk(*parts, finish="STOP"), model="m")
    assert streamed.choices[0].message.content == whole["choices"][0]["message"]["content"]
    assert "```python\nprint(4)\n```" in whole["choices"][0]["message"]["content"]


def body_of(upstream: bytes) -> bytes:
    translator = OpenAIStreamTranslator(model="m")
    return translator.feed_sse(upstream) + translator.close_sse()


def test_thoughts_stream_as_reasoning_content() -> None:
    chunks = translate(
        sse(
            candidate_chunk({"text": "hmm", "thought": True}),
            candidate_chunk({"text": "4"}, finish="STOP"),
        )
    )
    assert deltas(chunks)[:2] == [
        {"role": "assistant", "reasoning_content": "hmm"},
        {"content": "4"},
    ]


def test_with_include_usage_every_chunk_has_null_usage_and_a_last_chunk_has_the_totals() -> None:
    chunks = translate(
        sse(
            candidate_chunk({"text": "a"}),
            candidate_chunk({"text": "b"}, finish="STOP", usageMetadata=USAGE),
        ),
        include_usage=True,
    )
    assert all(chunk["usage"] is None for chunk in chunks[:-1])
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == 5
    assert chunks[-1]["usage"]["completion_tokens_details"] == {"reasoning_tokens": 2}


def test_usage_arriving_after_the_finish_is_reported() -> None:
    body = sse(candidate_chunk({"text": "a"}, finish="STOP"), {"usageMetadata": USAGE})
    assert translate(body, include_usage=True)[-1]["usage"]["prompt_tokens"] == 7


def test_without_include_usage_there_is_no_usage_field() -> None:
    chunks = translate(sse(candidate_chunk({"text": "a"}, finish="STOP", usageMetadata=USAGE)))
    assert all("usage" not in chunk for chunk in chunks)


def test_close_sse_frames_chunks_and_ends_with_done() -> None:
    translator = OpenAIStreamTranslator(model="m", completion_id="chatcmpl-1")
    body = (
        translator.feed_sse(sse(candidate_chunk({"text": "hi"}, finish="STOP")))
        + translator.close_sse()
    )
    frames = body.split(b"\n\n")
    assert frames[-2:] == [b"data: [DONE]", b""]
    assert all(frame.startswith(b"data: {") for frame in frames[:-2])
    assert json.loads(frames[0][len(b"data: ") :])["choices"][0]["delta"] == {
        "role": "assistant",
        "content": "hi",
    }


def test_an_upstream_error_becomes_an_error_chunk_without_a_finish_or_done() -> None:
    error = {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "quota"}}
    translator = OpenAIStreamTranslator(model="m")
    body = (
        translator.feed_sse(sse(candidate_chunk({"text": "partial"}), error))
        + translator.close_sse()
    )
    assert b"[DONE]" not in body
    assert b'"finish_reason":"' not in body
    with pytest.raises(openai.APIError, match="quota") as raised:
        sdk_read(body)
    assert raised.value.body == {
        "message": "quota",
        "type": "rate_limit_error",
        "param": None,
        "code": "rate_limit_exceeded",
    }
    assert translator.finished and translator.upstream_error is not None
    assert translator.upstream_error.http_status == 429


def test_a_stream_ending_without_a_finish_reason_is_an_error_not_a_fake_stop() -> None:
    chunks = translate(sse(candidate_chunk({"text": "cut off"})))
    assert finishes(chunks) == []
    assert chunks[-1]["error"]["type"] == "server_error"


def test_an_empty_upstream_body_is_an_error() -> None:
    chunks = translate(b"")
    assert len(chunks) == 1 and chunks[0]["error"]


def test_an_error_before_any_content_leaves_the_stream_unstarted() -> None:
    translator = OpenAIStreamTranslator(model="m")
    chunks = translator.feed(
        sse({"error": {"code": 503, "message": "No capacity available for model"}})
    )
    assert chunks == [
        {
            "error": {
                "message": "No capacity available for model",
                "type": "server_error",
                "param": None,
                "code": "model_overloaded",
            }
        }
    ]
    assert not translator.started and translator.finished


def test_an_error_after_the_finish_changes_nothing() -> None:
    body = sse(
        candidate_chunk({"text": "a"}, finish="STOP"), {"error": {"code": 500, "message": "late"}}
    )
    chunks = translate(body, include_usage=True)
    assert not any("error" in chunk for chunk in chunks)
    assert chunks[-1]["choices"] == []


def test_content_after_the_finish_is_ignored() -> None:
    chunks = translate(
        sse(
            candidate_chunk({"text": "a"}, finish="STOP"),
            candidate_chunk({"text": "late"}, finish="STOP"),
        )
    )
    assert "late" not in json.dumps(chunks)
    assert finishes(chunks) == ["stop"]


def test_a_blocked_prompt_finishes_with_content_filter_and_no_content() -> None:
    chunks = translate(sse({"promptFeedback": {"blockReason": "SAFETY"}}))
    assert deltas(chunks) == [{"role": "assistant"}]
    assert finishes(chunks) == ["content_filter"]


def test_an_empty_reply_closes_with_empty_string_content() -> None:
    chunks = translate(sse(candidate_chunk(finish="STOP")))
    assert deltas(chunks) == [{"role": "assistant", "content": ""}]


def test_a_stop_sequence_split_across_chunks_ends_the_reply_early() -> None:
    body = sse(
        candidate_chunk({"text": "one E"}),
        candidate_chunk({"text": "ND two"}),
        candidate_chunk({"text": "three"}, finish="STOP"),
    )
    translator = OpenAIStreamTranslator(model="m", stop=["END"])
    first = translator.feed(body[: body.index(b"ND two")])
    assert deltas(first) == [{"role": "assistant", "content": "one "}]  # "E" is held back
    rest = translator.feed(body[body.index(b"ND two") :])
    assert translator.finished
    assert deltas(rest) == [{}] and finishes(rest) == ["stop"]
    assert translator.close() == []


def test_held_back_text_is_released_at_the_finish() -> None:
    chunks = translate(
        sse(candidate_chunk({"text": "say E"}), candidate_chunk(finish="STOP")), stop=["END"]
    )
    assert "".join(delta.get("content", "") for delta in deltas(chunks)) == "say E"


def test_code_assist_envelopes_and_json_array_framing_are_read() -> None:
    wrapped = sse(
        {"response": candidate_chunk({"text": "a"}), "traceId": "t"},
        {"response": candidate_chunk({"text": "b"}, finish="STOP")},
    )
    array = (
        "["
        + ",\r\n".join(
            json.dumps(c)
            for c in [candidate_chunk({"text": "a"}), candidate_chunk({"text": "b"}, finish="STOP")]
        )
        + "]"
    ).encode()
    for body in (wrapped, array):
        assert [delta.get("content") for delta in deltas(translate(body))] == ["a", "b", None]


def test_close_is_idempotent() -> None:
    translator = OpenAIStreamTranslator(model="m")
    translator.feed(sse(candidate_chunk({"text": "a"}, finish="STOP")))
    translator.close_sse()
    assert translator.close() == [] and translator.close_sse() == b""


# -- properties ----------------------------------------------------------------------------

stop_lists = st.lists(st.sampled_from(["a", "END", "\n", "xy", "\U0001f600", "NEND"]), max_size=3)


def non_stream_reply(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """The non-stream response with the stream's content, its strings decoded as the stream
    decodes them (the upstream bytes may hold lone surrogates as `\\ud800` escapes)."""
    decoded: dict[str, Any] = loads(json.dumps(merged_response(chunks)))  # type: ignore[assignment]
    return decoded


def essence(completion: Any) -> dict[str, Any]:
    """What a client sees of a completion, with random tool call ids replaced by a marker."""
    choice = completion.choices[0]
    message = choice.message
    calls = [
        (
            call.id
            if call.id.startswith("call_g_")
            else "minted"
            if CALL_ID.fullmatch(call.id)
            else call.id,
            call.function.name,
            call.function.arguments,
            getattr(call, "extra_content", None),
        )
        for call in message.tool_calls or []
    ]
    return {
        "content": message.content,
        "reasoning_content": getattr(message, "reasoning_content", None),
        "tool_calls": calls,
        "finish_reason": choice.finish_reason,
        "usage": completion.usage.model_dump(exclude_none=True) if completion.usage else None,
        "model": completion.model,
    }


def check_chunk_grammar(chunks: list[dict[str, Any]]) -> None:
    """docs/reference/openai.md#streaming as stated there, on the raw chunk dicts."""
    assert len({chunk["id"] for chunk in chunks}) == 1
    choice_chunks = [chunk for chunk in chunks if chunk["choices"]]
    assert ["role" in delta for delta in deltas(choice_chunks)] == [True] + [False] * (
        len(choice_chunks) - 1
    )
    assert deltas(choice_chunks)[0]["role"] == "assistant"
    assert len(finishes(chunks)) == 1 and choice_chunks[-1]["choices"][0]["finish_reason"]
    indices = [
        call["index"] for delta in deltas(choice_chunks) for call in delta.get("tool_calls", [])
    ]
    assert indices == list(range(len(indices)))  # each index appears once: id/type/name once


def assert_reads_back_as_the_non_stream_completion(
    upstream: GeminiStream, pieces: list[bytes], include_usage: bool, stop: list[str]
) -> None:
    """The stream fed in `pieces` obeys docs/reference/openai.md#streaming and the SDK accumulates the non-stream reply."""
    translator = OpenAIStreamTranslator(model="gpt-4o", include_usage=include_usage, stop=stop)
    chunks: list[dict[str, Any]] = []
    for piece in pieces:
        chunks.extend(translator.feed(piece))
    chunks.extend(translator.close())
    sse_body = (
        b"".join(
            b"data: " + json.dumps(chunk, ensure_ascii=False).encode() + b"\n\n" for chunk in chunks
        )
        + b"data: [DONE]\n\n"
    )
    failure = turn_failure(non_stream_reply(upstream.chunks))
    if failure is not None:  # a failed turn is an error on both paths, never a completion
        with pytest.raises(openai.APIError, match=re.escape(failure.message)):
            sdk_read(sse_body)
        return
    check_chunk_grammar(chunks)
    streamed = sdk_accumulate(sdk_read(sse_body))
    completion = to_openai_completion(non_stream_reply(upstream.chunks), model="gpt-4o", stop=stop)
    expected = essence(ChatCompletion.model_validate(completion))
    if not include_usage:
        expected["usage"] = None
    assert essence(streamed) == expected


@given(gemini_streams(), st.data(), st.booleans(), stop_lists)
def test_any_upstream_stream_in_any_split_reads_back_as_the_non_stream_completion(
    upstream: GeminiStream,
    data: st.DataObject,
    include_usage: bool,
    stop: list[str],
) -> None:
    event(f"finishReason {finish_reason_of(upstream.chunks)}")
    pieces = data.draw(byte_splits(upstream.body))
    assert_reads_back_as_the_non_stream_completion(upstream, pieces, include_usage, stop)


@pytest.mark.parametrize("finish_reason", FINISH_REASONS)
@settings(max_examples=12)
@given(data=st.data(), include_usage=st.booleans(), stop=stop_lists)
def test_every_finish_reason_reads_back_as_the_non_stream_completion(
    finish_reason: str, data: st.DataObject, include_usage: bool, stop: list[str]
) -> None:
    """The property above, once per finish reason: a bounded run cannot miss one."""
    chunks = stream_chunks(finish_reasons=st.just(finish_reason))
    upstream = data.draw(gemini_streams(chunks))
    pieces = data.draw(byte_splits(upstream.body))
    assert_reads_back_as_the_non_stream_completion(upstream, pieces, include_usage, stop)


def finish_reason_of(chunks: list[dict[str, Any]]) -> str:
    """The stream's Gemini finishReason, or how it ended without one (for hypothesis' events)."""
    candidate = merged_response(chunks).get("candidates", [{}])[0]
    return str(candidate.get("finishReason", "none: prompt blocked"))


def normalised(chunks: list[dict[str, Any]]) -> str:
    text = json.dumps(chunks)
    text = re.sub(r'"created": \d+', '"created": 0', text)
    return CALL_ID.sub("call_minted", text)


@given(gemini_streams(), st.data())
def test_the_output_does_not_depend_on_how_the_upstream_bytes_are_split(
    upstream: GeminiStream, data: st.DataObject
) -> None:
    whole = OpenAIStreamTranslator(model="m", completion_id="chatcmpl-same")
    expected = whole.feed_sse(upstream.body) + whole.close_sse()
    split = OpenAIStreamTranslator(model="m", completion_id="chatcmpl-same")
    actual = (
        b"".join(split.feed_sse(piece) for piece in data.draw(byte_splits(upstream.body)))
        + split.close_sse()
    )
    assert normalised(sdk_chunks_as_dicts(actual)) == normalised(sdk_chunks_as_dicts(expected))


def sdk_chunks_as_dicts(body: bytes) -> list[dict[str, Any]]:
    """The chunks the SDK reads, and the error it raises last (a failed stream)."""
    try:
        return [chunk.model_dump() for chunk in sdk_read(body)]
    except openai.APIError as exc:
        frames = [frame for frame in body.split(b"\n\n") if frame.startswith(b"data: {")]
        return [json.loads(frame[6:]) for frame in frames] + [{"raised": str(exc)}]


@given(gemini_streams(), st.integers(1, 10_000))
def test_a_stream_cut_anywhere_ends_with_an_sdk_error_or_a_complete_reply(
    upstream: GeminiStream, cut: int
) -> None:
    translator = OpenAIStreamTranslator(model="m")
    body = upstream.body[: cut % (len(upstream.body) + 1)]
    sse_body = translator.feed_sse(body) + translator.close_sse()
    try:
        chunks = sdk_read(sse_body)
    except openai.APIError:
        assert b"[DONE]" not in sse_body
        return
    assert sse_body.endswith(b"data: [DONE]\n\n")
    assert chunks[-1].choices[0].finish_reason is not None


@given(gemini_streams(st.lists(hostile_chunks(), min_size=1, max_size=4)), st.data())
def test_odd_upstream_chunks_still_give_a_stream_the_sdk_reads_or_raises_on(
    upstream: GeminiStream, data: st.DataObject
) -> None:
    translator = OpenAIStreamTranslator(model="m", include_usage=True)
    sse_body = (
        b"".join(translator.feed_sse(piece) for piece in data.draw(byte_splits(upstream.body)))
        + translator.close_sse()
    )
    try:
        chunks = sdk_read(sse_body)
    except openai.APIError:
        return
    sdk_accumulate(chunks)
    assert chunks[-1].choices == [] and chunks[-1].usage is not None


def test_a_malformed_function_call_after_text_is_an_error_chunk_and_no_done() -> None:
    body = sse(
        candidate_chunk({"text": "Let me call"}),
        candidate_chunk(finish="MALFORMED_FUNCTION_CALL"),
    )
    translator = OpenAIStreamTranslator(model="gpt-4o")
    frames = translator.feed_sse(body) + translator.close_sse()
    assert b"[DONE]" not in frames
    with pytest.raises(openai.APIError, match="MALFORMED_FUNCTION_CALL"):
        sdk_read(frames)
    assert [d.get("content") for d in deltas(translate(body)) if d.get("content")] == [
        "Let me call"
    ]


def test_a_malformed_function_call_before_any_content_starts_nothing() -> None:
    translator = OpenAIStreamTranslator(model="gpt-4o")
    chunks = (
        translator.feed(sse(candidate_chunk(finish="MALFORMED_FUNCTION_CALL"))) + translator.close()
    )
    assert [set(c) for c in chunks] == [{"error"}]
    assert not translator.started and translator.upstream_error is not None
    assert translator.upstream_error.status == "MALFORMED_FUNCTION_CALL"

"""Properties of StreamTranslator over any upstream stream and any byte split.

For every stream the strategies can draw (text, thoughts with signatures, function calls with
unicode args and lone surrogates, usage-only chunks, empty parts, every finish reason, blocked
prompts, usage after the finish, Code Assist envelopes, CRLF / LF / CR / JSON-array framing) and every way to cut its bytes:
1. the official anthropic SDK's SSE decoder and accumulator take the output without error;
2. the accumulated message equals `to_anthropic_message` of the same content (ids aside);
3. the output passes the strict grammar checker (docs/reference/checklist.md#anthropic-stream);
4. the output does not depend on the split.
"""

from __future__ import annotations

import json
import re
from typing import Any

from anthropic._streaming import SSEDecoder
from anthropic.lib.streaming._messages import accumulate_event
from hypothesis import given
from hypothesis import strategies as st

from compat import turn_failure
from compat._anthropic.response import to_anthropic_message
from compat._anthropic.stream import StreamTranslator
from conformance.checks.anthropic_stream import check_anthropic_stream
from conformance.strategies.gemini_responses import (
    GeminiStream,
    byte_splits,
    gemini_streams,
    hostile_chunks,
    merged_response,
    stream_chunks,
)

MESSAGE_ID = "msg_property"
_MINTED_TOOL_ID = re.compile(rb"toolu_[0-9A-Za-z]{24}")


def translate(pieces: list[bytes], stop_sequences: tuple[str, ...] = ()) -> bytes:
    translator = StreamTranslator(
        model="claude-x", stop_sequences=stop_sequences, message_id=MESSAGE_ID
    )
    out = b"".join(translator.feed_sse(piece) for piece in pieces)
    return out + translator.close_sse()


def sdk_accumulate(data: bytes, pieces: int = 7) -> tuple[Any, dict[str, Any] | None]:
    """Drive the SDK's SSE decoder (fed in odd-sized pieces) and accumulate_event."""
    chunks = [data[i : i + pieces] for i in range(0, len(data), pieces)]
    snapshot: Any = None
    json_bufs: dict[int, bytes] = {}
    error = None
    for sse in SSEDecoder().iter_bytes(iter(chunks)):
        if sse.event is None or sse.event == "ping":
            continue
        if sse.event == "error":
            error = sse.json()
            continue
        snapshot = accumulate_event(
            event=sse.json(), current_snapshot=snapshot, json_bufs=json_bufs
        )
    return snapshot, error


def comparable(content: list[Any]) -> list[dict[str, Any]]:
    """Blocks as plain dicts with the fields both paths define; minted tool ids erased."""
    out = []
    for block in content:
        block = block if isinstance(block, dict) else block.to_dict()
        kind = block["type"]
        if kind == "text":
            out.append({"type": "text", "text": block["text"]})
        elif kind == "thinking":
            out.append(
                {"type": "thinking", "thinking": block["thinking"], "signature": block["signature"]}
            )
        else:
            tool_id = block["id"] if block["id"].startswith("toolu_g_") else "minted"
            out.append(
                {"type": kind, "id": tool_id, "name": block["name"], "input": block["input"]}
            )
    return out


def through_finish(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The chunks the message is made of: it ends at the finish (or the blocked prompt), so a
    usage-only chunk after it is not reported (its message_delta has gone out already)."""
    for index, chunk in enumerate(chunks):
        candidates = chunk.get("candidates") or [{}]
        if candidates[0].get("finishReason") or "promptFeedback" in chunk:
            return chunks[: index + 1]
    return chunks


@given(stream=gemini_streams(), data=st.data())
def test_sdk_accumulates_the_same_message_as_the_non_stream_conversion(
    stream: GeminiStream, data: st.DataObject
) -> None:
    pieces = data.draw(byte_splits(stream.body))
    output = translate(pieces)
    check_anthropic_stream(output)
    snapshot, error = sdk_accumulate(output)
    failure = turn_failure(merged_response(stream.chunks))
    if failure is not None:  # a failed turn is an api_error on both paths, never text
        assert error is not None and error["error"]["message"] == failure.message
        return
    assert error is None
    expected = to_anthropic_message(
        merged_response(through_finish(stream.chunks)), model="claude-x", message_id=MESSAGE_ID
    )
    assert snapshot.id == MESSAGE_ID
    assert comparable(snapshot.content) == comparable(expected["content"])
    assert snapshot.stop_reason == expected["stop_reason"]
    assert snapshot.stop_sequence == expected["stop_sequence"]
    usage = snapshot.usage.to_dict()
    assert {key: usage[key] for key in expected["usage"]} == expected["usage"]


@given(stream=gemini_streams(), data=st.data())
def test_output_does_not_depend_on_the_byte_split(
    stream: GeminiStream, data: st.DataObject
) -> None:
    pieces = data.draw(byte_splits(stream.body))
    whole = _MINTED_TOOL_ID.sub(b"toolu_X", translate([stream.body]))
    split = _MINTED_TOOL_ID.sub(b"toolu_X", translate(pieces))
    assert split == whole


@st.composite
def streams_cut_short_or_failing(draw: st.DrawFn) -> tuple[bytes, str]:
    """A valid stream body with its finish removed, cut mid-chunk, or ended by an error."""
    chunks = draw(stream_chunks())
    failure = draw(st.sampled_from(["no_finish", "cut", "error"]))
    if failure in ("no_finish", "error"):
        del chunks[-1]["candidates"][0]["finishReason"]
    if failure == "error":
        code = draw(st.sampled_from([429, 500, 503]))
        chunks.append({"error": {"code": code, "message": "upstream failed", "status": "X"}})
    stream = draw(gemini_streams(st.just(chunks)))
    body = stream.body
    if failure == "cut":
        body = body[: draw(st.integers(0, body.rindex(b"}")))]  # inside the last chunk
    return body, failure


@given(case=streams_cut_short_or_failing(), data=st.data())
def test_a_stream_that_fails_or_never_finishes_ends_with_an_error_event(
    case: tuple[bytes, str], data: st.DataObject
) -> None:
    body, _failure = case
    output = translate(data.draw(byte_splits(body)))
    checked = check_anthropic_stream(output)
    assert checked.error is not None
    assert checked.stop_reason is None  # never a made-up end_turn


@given(
    text=st.text(alphabet="ab\n .", max_size=20),
    stop=st.lists(st.text(alphabet="ab\n .", min_size=1, max_size=3), max_size=3),
    splits=st.lists(st.integers(0, 20), max_size=4),
)
def test_stop_sequence_decision_is_the_same_streamed_and_not(
    text: str, stop: list[str], splits: list[int]
) -> None:
    cuts = sorted({min(s, len(text)) for s in splits})
    texts = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    chunks = [{"candidates": [{"content": {"parts": [{"text": t}]}}]} for t in texts]
    chunks[-1]["candidates"][0]["finishReason"] = "STOP"
    body = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks)
    output = translate([body], tuple(stop))
    snapshot, _ = sdk_accumulate(output)
    expected = to_anthropic_message(merged_response(chunks), model="m", stop_sequences=stop)
    assert (snapshot.stop_reason, snapshot.stop_sequence) == (
        expected["stop_reason"],
        expected["stop_sequence"],
    )


@given(chunks=st.lists(hostile_chunks(), max_size=6), data=st.data())
def test_any_json_chunks_give_a_well_formed_stream_never_an_exception(
    chunks: list[dict[str, Any]], data: st.DataObject
) -> None:
    body = b"".join(b"data: " + json.dumps(chunk).encode() + b"\n\n" for chunk in chunks)
    output = translate(data.draw(byte_splits(body)))
    checked = check_anthropic_stream(output)
    assert (checked.error is None) == (checked.stop_reason is not None)

"""ResponseMeter: the design's metric definitions, measured from bytes split anywhere."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.strategies.gemini_responses import byte_splits, stream_chunks
from loadtests._common import ErrorInfo, Measured, ResponseMeter
from tests.loadtests.streams import (
    anthropic_streams,
    arrival,
    encode_sse,
    landing_time,
    openai_streams,
)

SSE = "text/event-stream"


def _measure(
    protocol: str,
    pieces: list[bytes],
    *,
    status: int = 200,
    content_type: str = SSE,
    stream: bool | None = None,
) -> Measured:
    """Headers at 0.5 s, piece i at i + 1 s, the end 1 s after the last piece."""
    meter = ResponseMeter(protocol, sent=0.0, stream=stream)  # type: ignore[arg-type]
    meter.headers(status, content_type, 0.5)
    times = arrival(pieces)
    for time, piece in zip(times, pieces, strict=True):
        meter.feed(piece, time)
    meter.end(len(pieces) + 1.0)
    return meter.result()


def _is_content(name: str, data: dict[str, Any]) -> bool:
    delta = data.get("delta", {})
    return name == "content_block_delta" and bool(
        delta.get("text") or delta.get("thinking") or delta.get("partial_json")
    )


@given(st.data(), anthropic_streams(), st.sampled_from(["\n", "\r\n"]))
def test_anthropic_timings_are_when_each_event_completed(
    data: st.DataObject, events: list[tuple[str, dict[str, Any]]], line_end: str
) -> None:
    body, ends = encode_sse(list(events), line_end)
    pieces = data.draw(byte_splits(body))
    measured = _measure("anthropic", pieces, stream=True)

    content = [landing_time(end, pieces) for (name, d), end in zip(events, ends, strict=True)
               if _is_content(name, d)]  # fmt: skip
    assert measured.error is None
    assert measured.status == 200 and measured.ttfb == 0.5
    assert measured.ttft == (content[0] if content else None)
    assert measured.itl == [b - a for a, b in itertools.pairwise(content)]
    assert measured.e2e == landing_time(ends[-1], pieces)
    usage = next(d["usage"] for name, d in events if name == "message_delta")
    assert measured.output_tokens == usage["output_tokens"]


@given(st.data(), openai_streams())
def test_openai_timings_are_when_each_chunk_completed(
    data: st.DataObject, chunks: list[Any]
) -> None:
    body, ends = encode_sse([(None, chunk) for chunk in chunks])
    pieces = data.draw(byte_splits(body))
    measured = _measure("openai", pieces, stream=True)

    def has_content(chunk: Any) -> bool:
        if chunk == "[DONE]" or not chunk["choices"]:
            return False
        delta = chunk["choices"][0]["delta"]
        calls = delta.get("tool_calls") or [{"function": {}}]
        return bool(delta.get("content") or delta.get("reasoning_content")
                    or calls[0]["function"].get("arguments"))  # fmt: skip

    content = [landing_time(end, pieces) for chunk, end in zip(chunks, ends, strict=True)
               if has_content(chunk)]  # fmt: skip
    assert measured.error is None
    assert measured.ttft == (content[0] if content else None)
    assert measured.itl == [b - a for a, b in itertools.pairwise(content)]
    assert measured.e2e == landing_time(ends[-1], pieces)
    assert measured.output_tokens == chunks[-2]["usage"]["completion_tokens"]


@given(st.data(), stream_chunks())
def test_gemini_timings_are_when_each_chunk_completed_and_e2e_the_end(
    data: st.DataObject, chunks: list[dict[str, Any]]
) -> None:
    """The upstream's own stream (the overhead baseline), CRLF-framed as Google sends it."""
    body, ends = encode_sse([(None, chunk) for chunk in chunks], "\r\n", ascii_only=True)
    pieces = data.draw(byte_splits(body))
    measured = _measure("gemini", pieces, stream=True)

    def has_content(chunk: dict[str, Any]) -> bool:
        parts = (chunk.get("candidates") or [{}])[0].get("content", {}).get("parts", [])
        return any(part.get("text") or part.get("functionCall") for part in parts)

    content = [landing_time(end, pieces) for chunk, end in zip(chunks, ends, strict=True)
               if has_content(chunk)]  # fmt: skip
    assert measured.error is None
    assert measured.ttft == (content[0] if content else None)
    assert measured.itl == [b - a for a, b in itertools.pairwise(content)]
    assert measured.e2e == len(pieces) + 1.0  # the end of the body
    usage = [c["usageMetadata"] for c in chunks if "usageMetadata" in c]
    if usage:
        expected = usage[-1]["candidatesTokenCount"] + usage[-1].get("thoughtsTokenCount", 0)
        assert measured.output_tokens == expected


def test_a_gemini_stream_without_a_finish_reason_is_truncated_and_a_google_error_typed() -> None:
    chunk = {"candidates": [{"content": {"role": "model", "parts": [{"text": "hi"}]}}]}
    cut = _measure("gemini", [encode_sse([(None, chunk)])[0]])
    assert cut.error is not None and (cut.error.kind, cut.error.type) == ("grammar", "truncated")
    error = {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "slow down"}}
    refused = _measure("gemini", [json.dumps(error).encode()], status=429,
                       content_type="application/json")  # fmt: skip
    assert refused.error == ErrorInfo("http", "RESOURCE_EXHAUSTED", "slow down")


def _anthropic(*events: tuple[str, dict[str, Any]]) -> bytes:
    return encode_sse(list(events))[0]


START = ("message_start", {"type": "message_start", "message": {"usage": {"output_tokens": 1}}})
TEXT = ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                "delta": {"type": "text_delta", "text": "hi"}})  # fmt: skip
STOP = ("message_stop", {"type": "message_stop"})


def test_tpot_is_the_time_after_the_first_token_per_later_token() -> None:
    assert Measured(ttft=1.0, e2e=5.0, output_tokens=5).tpot == 1.0
    assert Measured(ttft=1.0, e2e=5.0, output_tokens=1).tpot is None
    assert Measured(ttft=None, e2e=5.0, output_tokens=5).tpot is None
    assert Measured(ttft=1.0, e2e=None, output_tokens=5).tpot is None


def test_an_error_event_is_a_stream_error_with_its_type_and_no_e2e() -> None:
    error = ("error", {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}})
    measured = _measure("anthropic", [_anthropic(START, TEXT), _anthropic(error)])
    assert measured.error == ErrorInfo("stream", "overloaded_error", "busy")
    assert measured.ttft == 1.0 and measured.e2e is None


def test_an_openai_error_chunk_is_a_stream_error() -> None:
    chunk = {"error": {"message": "quota", "type": None, "code": "rate_limit_exceeded"}}
    measured = _measure("openai", [encode_sse([(None, chunk)])[0]])
    assert measured.error == ErrorInfo("stream", "rate_limit_exceeded", "quota")


def test_a_stream_cut_before_message_stop_is_a_grammar_error() -> None:
    measured = _measure("anthropic", [_anthropic(START, TEXT)])
    assert measured.error is not None and measured.error.kind == "grammar"
    assert measured.error.type == "truncated" and measured.ttft == 1.0


def test_an_openai_stream_without_done_is_a_grammar_error() -> None:
    chunk = {"choices": [{"index": 0, "delta": {"content": "x"}, "finish_reason": "stop"}]}
    measured = _measure("openai", [encode_sse([(None, chunk)])[0]])
    assert measured.error is not None and measured.error.type == "truncated"


def test_a_stream_that_does_not_start_with_message_start_is_a_grammar_error() -> None:
    measured = _measure("anthropic", [_anthropic(TEXT, STOP)])
    assert measured.error is not None and measured.error.type == "no_message_start"


def test_an_event_after_message_stop_is_a_grammar_error() -> None:
    measured = _measure("anthropic", [_anthropic(START, STOP, TEXT)])
    assert measured.error is not None and measured.error.type == "after_end"


def test_an_event_that_is_not_json_is_a_protocol_error() -> None:
    measured = _measure(
        "anthropic", [_anthropic(START) + b"event: content_block_delta\ndata: {no\n\n"]
    )
    assert measured.error is not None and measured.error.kind == "protocol"


@pytest.mark.parametrize(
    ("protocol", "body", "expected"),
    [
        ("anthropic", {"type": "error", "error": {"type": "rate_limit_error", "message": "slow"}},
         ErrorInfo("http", "rate_limit_error", "slow")),
        ("openai", {"error": {"message": "no", "type": "invalid_request_error", "code": None}},
         ErrorInfo("http", "invalid_request_error", "no")),
        ("anthropic", "<html>bad gateway</html>", ErrorInfo("http", "http_502", "<html>bad gateway</html>")),
    ],
)  # fmt: skip
def test_an_error_status_is_an_http_error_with_the_envelope_type(
    protocol: str, body: Any, expected: ErrorInfo
) -> None:
    raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    status = 502 if isinstance(body, str) else 429
    measured = _measure(
        protocol, [raw[:5], raw[5:]], status=status, content_type="application/json"
    )
    assert measured.error == expected
    assert measured.status == status and measured.e2e is None


def test_a_json_body_is_measured_whole_with_its_usage() -> None:
    body = json.dumps({"type": "message", "content": [], "usage": {"output_tokens": 7}}).encode()
    measured = _measure("anthropic", [body], content_type="application/json", stream=False)
    assert measured.error is None
    assert (measured.ttfb, measured.ttft, measured.e2e, measured.output_tokens) == (
        0.5,
        None,
        2.0,
        7,
    )


def test_a_json_body_where_a_stream_was_asked_for_is_a_protocol_error() -> None:
    measured = _measure("anthropic", [b"{}"], content_type="application/json", stream=True)
    assert measured.error == ErrorInfo(
        "protocol", "content_type", "asked for an event stream, got 'application/json'"
    )


def test_a_connection_that_ends_before_the_headers_is_a_protocol_error() -> None:
    meter = ResponseMeter("anthropic", sent=0.0)
    meter.end(1.0)
    assert meter.result().error == ErrorInfo(
        "protocol", "no_response", "the connection ended before a response"
    )


def test_the_first_error_wins_and_fail_is_for_errors_outside_the_bytes() -> None:
    meter = ResponseMeter("anthropic", sent=0.0)
    meter.headers(200, SSE, 0.1)
    meter.feed(_anthropic(START, TEXT), 0.2)
    meter.fail("timeout", "deadline", "no end within 30 s")
    meter.end(0.3)
    assert meter.result().error == ErrorInfo("timeout", "deadline", "no end within 30 s")
    assert meter.finished


def test_an_unknown_protocol_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown protocol"):
        ResponseMeter("grpc", sent=0.0)  # type: ignore[arg-type]

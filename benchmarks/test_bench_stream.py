"""Benchmarks: Gemini → Anthropic stream translation and non-stream conversion.

Run: .venv/bin/pytest benchmarks/test_bench_stream.py --benchmark-enable --benchmark-only
Figures (µs per upstream chunk = median / 50) go to docs/performance.md, "compat: stream
translation". The floor baseline is the irreducible work for one chunk: orjson-parse its
payload and orjson-encode one text delta; the translator's ratio against it is the overhead.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from compat._anthropic.response import to_anthropic_message
from compat._anthropic.stream import StreamTranslator
from compat._json import dumps

CHUNKS = 50
_WORDS = ["Hello", " world", ",", " this", " is", " a", " streamed", " reply", " 😀", "\n"]


def _text_chunk(number: int, last: bool) -> dict[str, Any]:
    candidate: dict[str, Any] = {
        "content": {"role": "model", "parts": [{"text": _WORDS[number % len(_WORDS)]}]},
        "index": 0,
    }
    if last:
        candidate["finishReason"] = "STOP"
    return {
        "candidates": [candidate],
        "usageMetadata": {
            "promptTokenCount": 1200,
            "candidatesTokenCount": number + 1,
            "totalTokenCount": 1201 + number,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 1200}],
        },
        "modelVersion": "gemini-2.5-flash",
        "responseId": "AdVRaMmDCYekqtsPrb_-iAw",
    }


TEXT_STREAM = [
    b"data: " + orjson.dumps(_text_chunk(n, n == CHUNKS - 1)) + b"\r\n\r\n" for n in range(CHUNKS)
]
FULL_RESPONSE: dict[str, Any] = {
    "candidates": [
        {
            "content": {
                "role": "model",
                "parts": [
                    {"text": "Let me think about the request. " * 8, "thought": True},
                    {"text": "Here is the plan, in detail. " * 20, "thoughtSignature": "c2ln" * 40},
                    {"functionCall": {"name": "read_file", "args": {"path": "/src/app.py"}}},
                ],
            },
            "finishReason": "STOP",
        }
    ],
    "usageMetadata": {
        "promptTokenCount": 1200,
        "candidatesTokenCount": 300,
        "thoughtsTokenCount": 80,
    },
}
FULL_BODY = orjson.dumps(FULL_RESPONSE)


def translate_stream() -> bytes:
    translator = StreamTranslator(model="claude-sonnet-4", message_id="msg_bench")
    out = [translator.feed_sse(chunk) for chunk in TEXT_STREAM]
    out.append(translator.close_sse())
    return b"".join(out)


def translate_stream_events() -> int:
    translator = StreamTranslator(model="claude-sonnet-4", message_id="msg_bench")
    count = sum(len(translator.feed(chunk)) for chunk in TEXT_STREAM)
    return count + len(translator.close())


def translate_stream_strict_encoding() -> bytes:
    """The same stream, events encoded with the strict `compat.dumps` (the encoding before
    `dumps_decoded`, and what a caller of `feed` that encodes with `compat.dumps` pays)."""
    translator = StreamTranslator(model="claude-sonnet-4", message_id="msg_bench")
    events = [event for chunk in TEXT_STREAM for event in translator.feed(chunk)]
    events += translator.close()
    return b"".join(
        [
            b"event: " + event["type"].encode() + b"\ndata: " + dumps(event) + b"\n\n"
            for event in events
        ]
    )


def floor_parse_and_encode() -> int:
    """Baseline: parse each payload once and encode one delta (no framing, no state)."""
    total = 0
    for chunk in TEXT_STREAM:
        parsed = orjson.loads(chunk[6:])
        text = parsed["candidates"][0]["content"]["parts"][0]["text"]
        total += len(
            orjson.dumps(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": text},
                }
            )
        )
    return total


@pytest.mark.benchmark(group="stream: 50-chunk text stream")
def test_bench_stream_translator_feed_sse(benchmark: Any) -> None:
    output = benchmark(translate_stream)
    assert output.endswith(b'event: message_stop\ndata: {"type":"message_stop"}\n\n')


@pytest.mark.benchmark(group="stream: 50-chunk text stream")
def test_bench_stream_translator_feed_strict_dumps(benchmark: Any) -> None:
    assert benchmark(translate_stream_strict_encoding) == translate_stream()


@pytest.mark.benchmark(group="stream: 50-chunk text stream")
def test_bench_stream_translator_feed_events(benchmark: Any) -> None:
    assert benchmark(translate_stream_events) == CHUNKS + 5


@pytest.mark.benchmark(group="stream: 50-chunk text stream")
def test_bench_floor_orjson_parse_and_encode(benchmark: Any) -> None:
    assert benchmark(floor_parse_and_encode) > 0


@pytest.mark.benchmark(group="non-stream conversion")
def test_bench_to_anthropic_message(benchmark: Any) -> None:
    message = benchmark(
        lambda: to_anthropic_message(orjson.loads(FULL_BODY), model="claude-sonnet-4")
    )
    assert message["stop_reason"] == "tool_use"


@pytest.mark.benchmark(group="non-stream conversion")
def test_bench_floor_orjson_loads_and_dumps(benchmark: Any) -> None:
    assert benchmark(lambda: orjson.dumps(orjson.loads(FULL_BODY)))

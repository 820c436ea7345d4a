"""Benchmarks of the OpenAI side of compat: request conversion and per-chunk stream cost.

Run: .venv/bin/pytest benchmarks/test_bench_openai.py --benchmark-enable --benchmark-only
Each group has a baseline measured side by side in the same run:
- request conversion against encoding the converted body with `compat.dumps` (work every
  request pays anyway), for an agent-style request (tools, tool calls, results) and a small
  text chat (full path and `fast_path`);
- stream translation against decoding the same upstream bytes with `GeminiChunkDecoder` alone
  (what any translator must do), so the ratio is the cost of translation itself.
Figures go in docs/performance.md ("compat: stream translation" → "OpenAI").
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from compat import ConversionOptions, OpenAIStreamTranslator, dumps, openai_to_gemini_request
from compat._gemini.framing import GeminiChunkDecoder

STREAM_CHUNKS = 200


def agent_request() -> dict[str, Any]:
    """A coding-agent turn: system prompt, 10 tools, 8 rounds of parallel tool calls."""
    tools = [
        {
            "type": "function",
            "function": {
                "name": f"tool_{index}",
                "description": "Does one thing well. " * 5,
                "parameters": {
                    "type": "object",
                    "properties": {
                        "path": {"type": "string", "description": "Absolute path"},
                        "limit": {"type": ["integer", "null"], "minimum": 1},
                        "mode": {"type": "string", "enum": ["read", "write"]},
                    },
                    "required": ["path"],
                    "additionalProperties": False,
                },
            },
        }
        for index in range(10)
    ]
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are a careful coding agent. " * 40},
        {"role": "user", "content": "Fix the failing test in the repository."},
    ]
    for round_number in range(8):
        ids = [f"call_{round_number}_{index}" for index in range(2)]
        messages.append(
            {
                "role": "assistant",
                "content": "Looking at the files.",
                "tool_calls": [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {
                            "name": "tool_1",
                            "arguments": json.dumps({"path": f"/src/{call_id}.py"}),
                        },
                    }
                    for call_id in ids
                ],
            }
        )
        messages.extend(
            {"role": "tool", "tool_call_id": call_id, "content": "line\n" * 60} for call_id in ids
        )
    return {
        "model": "gpt-4o",
        "messages": messages,
        "tools": tools,
        "tool_choice": "auto",
        "max_tokens": 4096,
    }


def text_chat() -> dict[str, Any]:
    """A short plain chat: system prompt and three exchanges."""
    messages = [{"role": "system", "content": "Be brief."}]
    for index in range(3):
        messages.append({"role": "user", "content": f"Question {index}?"})
        messages.append({"role": "assistant", "content": f"Answer {index}."})
    messages.append({"role": "user", "content": "One more?"})
    return {"model": "gpt-4o", "messages": messages, "temperature": 0.3, "stream": True}


def upstream_stream() -> bytes:
    """A Gemini SSE body: thoughts, 200 text chunks, two tool calls, finish and usage."""
    chunks: list[dict[str, Any]] = [
        {
            "candidates": [
                {
                    "content": {
                        "role": "model",
                        "parts": [{"text": "Planning. " * 5, "thought": True}],
                    }
                }
            ]
        }
    ]
    chunks += [
        {
            "candidates": [
                {
                    "content": {
                        "role": "model",
                        "parts": [{"text": f"token {index} of the answer, "}],
                    },
                    "index": 0,
                }
            ],
            "usageMetadata": {
                "promptTokenCount": 900,
                "candidatesTokenCount": index,
                "totalTokenCount": 900 + index,
            },
            "modelVersion": "gemini-2.5-flash",
            "responseId": "abc",
        }
        for index in range(STREAM_CHUNKS)
    ]
    call = {"functionCall": {"name": "tool_1", "args": {"path": "/src/main.py", "limit": 20}}}
    chunks.append(
        {
            "candidates": [
                {"content": {"role": "model", "parts": [call, call]}, "finishReason": "STOP"}
            ]
        }
    )
    return b"".join(b"data: " + json.dumps(chunk).encode() + b"\r\n\r\n" for chunk in chunks)


@pytest.mark.benchmark(group="openai-request-agent")
def test_bench_agent_request_conversion(benchmark: Any) -> None:
    request = agent_request()
    body = benchmark(openai_to_gemini_request, request)
    assert len(body["contents"]) == 17


@pytest.mark.benchmark(group="openai-request-agent")
def test_bench_agent_request_baseline_encoding(benchmark: Any) -> None:
    body = openai_to_gemini_request(agent_request())
    assert benchmark(dumps, body)


@pytest.mark.benchmark(group="openai-request-text")
def test_bench_text_chat_conversion(benchmark: Any) -> None:
    request = text_chat()
    assert benchmark(openai_to_gemini_request, request)["contents"]


@pytest.mark.benchmark(group="openai-request-text")
def test_bench_text_chat_conversion_fast_path(benchmark: Any) -> None:
    request, fast = text_chat(), ConversionOptions(fast_path=True)
    body = benchmark(lambda: openai_to_gemini_request(request, options=fast))
    assert body == openai_to_gemini_request(request)


@pytest.mark.benchmark(group="openai-request-text")
def test_bench_text_chat_baseline_encoding(benchmark: Any) -> None:
    body = openai_to_gemini_request(text_chat())
    assert benchmark(dumps, body)


def translate_stream(body: bytes, pieces: list[bytes]) -> int:
    translator = OpenAIStreamTranslator(model="gpt-4o", include_usage=True)
    size = 0
    for piece in pieces:
        size += len(translator.feed_sse(piece))
    return size + len(translator.close_sse())


def translate_stream_strict_encoding(body: bytes, pieces: list[bytes]) -> int:
    """The same translation, chunks encoded with the strict `compat.dumps` (the encoding
    before `dumps_decoded`, and what a caller of `feed` that encodes with `compat.dumps` pays)."""
    translator = OpenAIStreamTranslator(model="gpt-4o", include_usage=True)
    size = 0
    for piece in pieces:
        size += sum(len(b"data: " + dumps(chunk) + b"\n\n") for chunk in translator.feed(piece))
    return size + sum(len(b"data: " + dumps(chunk) + b"\n\n") for chunk in translator.close())


def decode_stream(body: bytes, pieces: list[bytes]) -> int:
    decoder = GeminiChunkDecoder()
    count = 0
    for piece in pieces:
        count += len(decoder.feed(piece))
    return count + len(decoder.close())


def network_pieces(body: bytes, size: int = 1400) -> list[bytes]:
    """The body cut like TCP segments (not aligned with events)."""
    return [body[start : start + size] for start in range(0, len(body), size)]


@pytest.mark.benchmark(group="openai-stream")
def test_bench_stream_translation(benchmark: Any) -> None:
    body = upstream_stream()
    assert benchmark(translate_stream, body, network_pieces(body)) > 0


@pytest.mark.benchmark(group="openai-stream")
def test_bench_stream_translation_strict_dumps(benchmark: Any) -> None:
    body = upstream_stream()
    pieces = network_pieces(body)
    size = benchmark(translate_stream_strict_encoding, body, pieces)
    assert size == translate_stream(body, pieces) - len(b"data: [DONE]\n\n")


@pytest.mark.benchmark(group="openai-stream")
def test_bench_stream_baseline_decode_only(benchmark: Any) -> None:
    body = upstream_stream()
    assert benchmark(decode_stream, body, network_pieces(body)) == STREAM_CHUNKS + 2

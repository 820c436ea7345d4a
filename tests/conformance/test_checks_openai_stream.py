"""conformance.checks.openai_stream: the OpenAI chunk grammar (docs/reference/openai.md#streaming,
docs/reference/checklist.md#openai-stream)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from conformance.checks.openai_stream import check_openai_stream
from conformance.checks.violation import Violation


def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }


def stream(*chunks: Any, done: bool = True) -> bytes:
    lines = [f"data: {json.dumps(c)}\n\n" for c in chunks]
    return ("".join(lines) + ("data: [DONE]\n\n" if done else "")).encode()


TEXT = [
    chunk({"role": "assistant", "content": ""}),
    chunk({"content": "Hel"}),
    chunk({"content": "lo"}),
    chunk({}, "stop"),
]
CALL = [
    chunk({"role": "assistant"}),
    chunk(
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "f", "arguments": ""},
                }
            ]
        }
    ),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"a":'}}]}),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": " 1}"}}]}),
    chunk({}, "tool_calls"),
]
USAGE = {
    **chunk({}),
    "choices": [],
    "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
}


def test_a_text_stream_adds_up() -> None:
    checked = check_openai_stream(stream(*TEXT))
    assert checked.choices[0].content == "Hello" and checked.choices[0].finish_reason == "stop"


def test_a_tool_call_stream_adds_up_to_its_arguments() -> None:
    (call,) = check_openai_stream(stream(*CALL)).choices[0].tool_calls
    assert (call.id, call.name, json.loads(call.arguments)) == ("call_1", "f", {"a": 1})


def test_a_usage_chunk_after_the_finish_is_read() -> None:
    assert check_openai_stream(stream(*TEXT, USAGE)).usage == USAGE["usage"]


def test_an_error_chunk_ends_a_stream_without_done() -> None:
    checked = check_openai_stream(
        stream(TEXT[0], TEXT[1], {"error": {"message": "x", "type": "server_error"}}, done=False)
    )
    assert checked.error == {"message": "x", "type": "server_error"}


@pytest.mark.parametrize(
    ("body", "rule"),
    [
        (stream(*TEXT, done=False), "[DONE]"),
        (stream(*TEXT[:3]), "finish_reason"),
        (
            stream(TEXT[0], chunk({"role": "assistant", "content": "again"}), TEXT[3]),
            "role only in the first delta",
        ),
        (
            stream(
                *CALL[:3],
                chunk(
                    {"tool_calls": [{"index": 0, "id": "call_1", "function": {"arguments": " 1}"}}]}
                ),
                CALL[4],
            ),
            "id only in a call's first delta",
        ),
        (
            stream(
                CALL[0],
                chunk(
                    {
                        "tool_calls": [
                            {"index": 1, "id": "c", "type": "function", "function": {"name": "f"}}
                        ]
                    }
                ),
                CALL[4],
            ),
            "0..n-1",
        ),
        (stream(*CALL[:3], CALL[4]), "arguments concatenate to JSON"),
        (stream(USAGE, *TEXT), "usage chunk"),
        (stream(*TEXT, chunk({"content": "late"})), "nothing follows"),
        (b"event: message\ndata: {}\n\n", "no event name"),
        (stream(*TEXT) + b'data: {"x": 1}\n\n', "nothing follows data: [DONE]"),
        (stream(chunk({"content": "\ud800"}), TEXT[3]), "lone surrogate"),
        (b"data: \xff\n\n", "UTF-8"),
    ],
)
def test_a_broken_stream_names_the_rule(body: bytes, rule: str) -> None:
    with pytest.raises(Violation, match=re.escape(rule)):
        check_openai_stream(body)

"""An agent session's history: a streamed reply becomes the assistant message it carried, and
the next user turn answers its tool calls (or gives the next instruction)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loadtests._locust._conversation import (
    FOLLOW_UPS,
    assistant_message,
    next_user_turn,
    tool_input,
    tool_results,
)
from tests.loadtests.streams import anthropic_streams, encode_sse


def strict_object(text: str) -> dict[str, Any]:
    """What the next turn carries as a tool input: the JSON object, else {} (the proxy judges)."""
    try:
        value = json.loads(text or "{}", parse_constant=lambda name: 1 / 0)
    except (ValueError, ZeroDivisionError):
        return {}
    return value if isinstance(value, dict) else {}


def expected_blocks(events: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """The content blocks a stream carried, rebuilt from the event list itself."""
    blocks: list[dict[str, Any]] = []
    for name, data in events:
        if name == "content_block_start":
            blocks.append({"start": data["content_block"], "pieces": []})
        elif name == "content_block_delta":
            blocks[data["index"]]["pieces"].append(data["delta"])
    return blocks


@given(anthropic_streams(), st.sampled_from(["\n", "\r\n"]))
def test_the_message_holds_each_block_with_its_deltas_joined(
    events: list[tuple[str, dict[str, Any]]], line_end: str
) -> None:
    body, _ = encode_sse(list(events), line_end)
    message = assistant_message(body)
    assert message is not None and message["role"] == "assistant"
    blocks = expected_blocks(events)
    assert [b["type"] for b in message["content"]] == [b["start"]["type"] for b in blocks]
    for got, want in zip(message["content"], blocks, strict=True):
        pieces = want["pieces"]
        if got["type"] == "text":
            assert got["text"] == "".join(p["text"] for p in pieces)
        elif got["type"] == "thinking":
            assert got["thinking"] == "".join(p.get("thinking", "") for p in pieces)
            assert got["signature"] == "c2ln"
        else:
            text = "".join(p["partial_json"] for p in pieces)
            assert got["input"] == strict_object(text) and got["name"] == "Bash"


def test_a_reply_of_tool_calls_is_answered_with_one_result_each() -> None:
    message = {"role": "assistant", "content": [
        {"type": "thinking", "thinking": "look first", "signature": "c2ln"},
        {"type": "tool_use", "id": "toolu_1", "name": "Glob", "input": {"pattern": "*.py"}},
        {"type": "tool_use", "id": "toolu_2", "name": "Grep", "input": {"pattern": "TODO"}},
    ]}  # fmt: skip
    turn = tool_results(message)
    assert turn is not None and turn["role"] == "user"
    assert [(r["type"], r["tool_use_id"]) for r in turn["content"]] == [
        ("tool_result", "toolu_1"), ("tool_result", "toolu_2")]  # fmt: skip
    assert next_user_turn(message, 0) == turn


def test_after_a_text_answer_the_user_gives_the_next_instruction() -> None:
    message = {"role": "assistant", "content": [{"type": "text", "text": "Done."}]}
    assert tool_results(message) is None
    assert next_user_turn(message, 1) == {"role": "user", "content": FOLLOW_UPS[1]}
    assert next_user_turn(message, len(FOLLOW_UPS)) == {"role": "user", "content": FOLLOW_UPS[0]}


@pytest.mark.parametrize("text", ["NaN", "[1, 2]", '"x"', '{"a": Infinity}', '{"a": '])
def test_a_tool_input_that_is_not_a_strict_json_object_is_sent_back_empty(text: str) -> None:
    assert tool_input(text) == {}


def test_a_tool_input_object_is_kept() -> None:
    assert tool_input('{"command": "ls", "n": 1.5}') == {"command": "ls", "n": 1.5}


def test_a_body_that_is_not_a_stream_gives_no_message() -> None:
    assert assistant_message(b'{"type": "error"}') is None

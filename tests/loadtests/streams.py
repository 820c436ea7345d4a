"""Stream building blocks for the loadtests tests: event lists, their SSE bytes, when they land.

Operations
    anthropic_streams() -> strategy of [(event name, data dict)]   a complete Messages stream
    openai_streams() -> strategy of [data dict | "[DONE]"]          a complete chat stream
    encode_sse(events, line_end) -> (bytes, [end offset of each event])
    arrival(pieces) -> [time of each piece]                          piece i lands at i + 1 s
    landing_time(offset, pieces) -> float                            when byte `offset - 1` landed

The meter's expected measurements are derived from these independently of its code: an
event is complete when the last byte of its blank line has arrived.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

Event = tuple[str, dict[str, Any]]
_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=6)


@st.composite
def _content_block(draw: st.DrawFn, index: int) -> list[Event]:
    kind = draw(st.sampled_from(["text", "thinking", "tool_use"]))
    start = {
        "text": {"type": "text", "text": ""},
        "thinking": {"type": "thinking", "thinking": "", "signature": ""},
        "tool_use": {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {}},
    }[kind]
    events: list[Event] = [
        (
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": start},
        )
    ]
    for piece in draw(st.lists(_TEXT, max_size=5)):
        delta = {
            "text": {"type": "text_delta", "text": piece},
            "thinking": {"type": "thinking_delta", "thinking": piece},
            "tool_use": {"type": "input_json_delta", "partial_json": piece},
        }[kind]
        events.append(
            ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
        )
    if kind == "thinking":
        events.append(
            ("content_block_delta", {"type": "content_block_delta", "index": index,
                                     "delta": {"type": "signature_delta", "signature": "c2ln"}})
        )  # fmt: skip
    events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    return events


@st.composite
def anthropic_streams(draw: st.DrawFn) -> list[Event]:
    """A complete Anthropic Messages stream, pings anywhere after message_start."""
    events: list[Event] = [
        ("message_start", {"type": "message_start", "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "content": [], "model": "m",
            "stop_reason": None, "usage": {"input_tokens": 3, "output_tokens": 1}}})
    ]  # fmt: skip
    for index in range(draw(st.integers(0, 3))):
        events += draw(_content_block(index))
    tokens = draw(st.integers(0, 500))
    events.append(("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                                     "usage": {"output_tokens": tokens}}))  # fmt: skip
    events.append(("message_stop", {"type": "message_stop"}))
    for _ in range(draw(st.integers(0, 3))):
        events.insert(draw(st.integers(1, len(events) - 1)), ("ping", {"type": "ping"}))
    return events


@st.composite
def openai_streams(draw: st.DrawFn) -> list[Any]:
    """A complete OpenAI chat stream: role chunk, content / reasoning / tool chunks, the finish
    chunk, the usage chunk, [DONE]."""

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], "usage": None}  # fmt: skip

    chunks: list[Any] = [chunk({"role": "assistant", "content": ""})]
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["content", "reasoning_content", "tool"]))
        piece = draw(_TEXT)
        if kind == "tool":
            chunks.append(chunk({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                                 "function": {"name": "", "arguments": piece}}]}))  # fmt: skip
        else:
            chunks.append(chunk({kind: piece}))
    chunks.append(chunk({}, "stop"))
    tokens = draw(st.integers(0, 500))
    chunks.append({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
                   "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": tokens,
                                            "total_tokens": 3 + tokens}})  # fmt: skip
    chunks.append("[DONE]")
    return chunks


def encode_sse(
    events: list[tuple[str | None, Any]], line_end: str = "\n", *, ascii_only: bool = False
) -> tuple[bytes, list[int]]:
    """The SSE bytes of (name, data) events (name None: no `event:` line; data a str is sent
    as is, else as JSON), and the offset just past each event's blank line."""
    body = b""
    ends: list[int] = []
    for name, data in events:
        text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=ascii_only)
        lines = ([f"event: {name}"] if name is not None else []) + [f"data: {text}", ""]
        body += "".join(line + line_end for line in lines).encode()
        ends.append(len(body))
    return body, ends


def arrival(pieces: list[bytes]) -> list[float]:
    """The time piece i is read: i + 1 seconds after the send (at 0)."""
    return [float(i + 1) for i in range(len(pieces))]


def landing_time(offset: int, pieces: list[bytes]) -> float:
    """When the byte just before `offset` was read."""
    seen = 0
    for time, piece in zip(arrival(pieces), pieces, strict=True):
        seen += len(piece)
        if seen >= offset:
            return time
    raise AssertionError("offset past the body")

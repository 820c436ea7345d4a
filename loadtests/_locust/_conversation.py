"""An agent session's history: the assistant's streamed reply as a message, and tool results.

Operations
    assistant_message(stream) -> dict | None    the Anthropic event stream of one reply
                                                (bytes) as the assistant message to append:
                                                text, thinking (with its signature) and
                                                tool_use blocks (input parsed from its deltas);
                                                None when the stream holds no message_start
    tool_results(message) -> dict | None        the user turn answering every tool_use of the
                                                message with a tool_result, as Claude Code
                                                does after running the tools; None when the
                                                message asked for no tool
    next_user_turn(message, turn) -> dict       the tool results, or (the model answered in
                                                text) the user's next instruction

Plan
    The stream is decoded again after the fact (loadtests._common.SSEDecoder): the timing was
    taken by the meter as the bytes arrived, and an agent needs the reply only once it ended.
    Blocks are keyed by their index, deltas appended in order, a tool's input JSON parsed at
    the end (an unparsable input becomes {}: the next turn still goes out, the proxy judges).
"""

from __future__ import annotations

import json
from typing import Any

from loadtests._common import SSEDecoder

__all__ = ["assistant_message", "next_user_turn", "tool_results"]

_TOOL_OUTPUT = "exit 0\n{name} finished: 3 files, 120 lines"
FOLLOW_UPS = (
    "Good. Now run the test suite and fix whatever fails.",
    "Add a test for the edge case you just found, then run it.",
    "Check the other callers of that function for the same bug.",
    "Update the documentation to match, and summarise the change for the commit message.",
)


def assistant_message(stream: bytes) -> dict[str, Any] | None:
    """The assistant message an Anthropic event stream carried (see the module docstring)."""
    decoder = SSEDecoder()
    events = decoder.feed(stream) + decoder.close()
    blocks: dict[int, dict[str, Any]] = {}
    partial_json: dict[int, list[str]] = {}
    started = False
    for event in events:
        if event.name == "message_start":
            started = True
        if event.name not in ("content_block_start", "content_block_delta"):
            continue
        data = json.loads(event.data)
        index = data.get("index", 0)
        if event.name == "content_block_start":
            blocks[index] = dict(data["content_block"])
            continue
        block, delta = blocks.get(index), data.get("delta") or {}
        if block is None:
            continue
        kind = delta.get("type")
        if kind == "text_delta":
            block["text"] = block.get("text", "") + delta.get("text", "")
        elif kind == "thinking_delta":
            block["thinking"] = block.get("thinking", "") + delta.get("thinking", "")
        elif kind == "signature_delta":
            block["signature"] = delta.get("signature", "")
        elif kind == "input_json_delta":
            partial_json.setdefault(index, []).append(delta.get("partial_json", ""))
    if not started:
        return None
    for index, pieces in partial_json.items():
        blocks[index]["input"] = tool_input("".join(pieces))
    content = [blocks[index] for index in sorted(blocks)]
    return {"role": "assistant", "content": content}


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def tool_input(text: str) -> dict[str, Any]:
    """The object a tool call's joined `partial_json` spells; {} if it is not a strict JSON object.

    Python's json accepts NaN and Infinity, which no proxy would accept back in the next turn.
    """
    try:
        value = json.loads(text or "{}", parse_constant=_refuse_constant)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def tool_results(message: dict[str, Any]) -> dict[str, Any] | None:
    """The user turn with a tool_result for each tool_use of `message`; None if it has none."""
    calls = [block for block in message["content"] if block.get("type") == "tool_use"]
    if not calls:
        return None
    return {
        "role": "user",
        "content": [
            {
                "type": "tool_result",
                "tool_use_id": call["id"],
                "content": _TOOL_OUTPUT.format(name=call.get("name", "tool")),
            }
            for call in calls
        ],
    }


def next_user_turn(message: dict[str, Any], turn: int) -> dict[str, Any]:
    """What the user sends after `message`: the tool results it asked for, or the next
    instruction (FOLLOW_UPS in turn) once the model answered in text."""
    results = tool_results(message)
    if results is not None:
        return results
    return {"role": "user", "content": FOLLOW_UPS[turn % len(FOLLOW_UPS)]}

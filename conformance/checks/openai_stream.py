"""A strict checker of OpenAI Chat Completions SSE streams (docs/reference/openai.md#streaming, checklist.md).

Operations:
    check_openai_stream(data: bytes) -> CheckedChatStream   the chunk grammar, or a Violation

Rules (each Violation names one):
- framing: strict UTF-8; every event is `data: <json>` with no `event:` name (comments such as
  `: ping` are allowed); the last event is `data: [DONE]` unless the stream ended with an error
  chunk (`{"error": {...}}`, which the SDK raises), and nothing follows either;
- chunks: `object` is `chat.completion.chunk`, one `id` for the whole stream, `choices` a list;
- deltas, per choice (the SDK's accumulator adds strings, OpenAI streaming): `role` only in the
  first delta and equal to `assistant`; per tool call `index`: an integer, first seen in order 0, 1, 2...; `id`,
  `type` and `function.name` only in the delta that opens it; its `arguments` concatenate to one
  JSON object;
- the end: exactly one non-null `finish_reason` per choice, in its last chunk, one of the literal's
  values; a usage chunk (`choices: []`, `usage` an object) only after every finish, before `[DONE]`;
- no lone surrogates anywhere (JSON).
Written from the reference, never from compat.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from conformance.checks.sse import parse_sse
from conformance.checks.text import no_lone_surrogates
from conformance.checks.violation import Violation, require

FINISH_REASONS = frozenset({"stop", "length", "tool_calls", "content_filter", "function_call"})


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: str = ""


@dataclass
class ChoiceState:
    """What one choice's deltas add up to."""

    role: str | None = None
    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None


@dataclass
class CheckedChatStream:
    chunks: list[dict[str, Any]] = field(default_factory=list)
    choices: dict[int, ChoiceState] = field(default_factory=dict)
    usage: dict[str, Any] | None = None
    error: dict[str, Any] | None = None  # the error chunk's `error`, if the stream ended so


def check_openai_stream(data: bytes) -> CheckedChatStream:
    """Check a complete OpenAI stream body; return what it adds up to."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Violation(f"stream is not valid UTF-8 (OpenAI streaming, JSON): {exc}") from None
    events = parse_sse(data)
    require(events, "a stream has at least one data event")
    checked = CheckedChatStream()
    stream_id: str | None = None
    ended = False
    for event in events:
        require(not ended, "nothing follows data: [DONE] or an error chunk", event.data[:200])
        require(
            event.event is None, "OpenAI chunks carry no event name (OpenAI streaming)", event.event
        )
        if event.data == "[DONE]":
            ended = True
            continue
        chunk = event.json()
        require(isinstance(chunk, dict), "every data line is a JSON object", event.data[:200])
        no_lone_surrogates(chunk)
        if chunk.get("error"):
            require(isinstance(chunk["error"], dict), "an error chunk's error is an object", chunk)
            checked.error = chunk["error"]
            ended = True
            continue
        checked.chunks.append(chunk)
        require(
            chunk.get("object") == "chat.completion.chunk",
            "object is a chunk (OpenAI streaming)",
            chunk,
        )
        stream_id = stream_id or chunk.get("id")
        require(
            isinstance(chunk.get("id"), str) and chunk["id"] == stream_id, "one id", chunk.get("id")
        )
        choices = chunk.get("choices")
        require(isinstance(choices, list), "choices is a list (OpenAI streaming)", chunk)
        if not choices:
            _usage_chunk(chunk, checked)
            continue
        require(checked.usage is None, "the usage chunk comes after every choice chunk", chunk)
        for choice in choices:
            _choice_delta(choice, checked)
    require(ended, "a stream ends with data: [DONE] or an error chunk (OpenAI streaming)")
    if checked.error is None:
        require(checked.choices, "a complete stream has at least one choice")
        for index, state in checked.choices.items():
            require(state.finish_reason, f"choice {index} ends with a finish_reason (checklist)")
            for call in state.tool_calls:
                _arguments_object(call)
    return checked


def _usage_chunk(chunk: dict[str, Any], checked: CheckedChatStream) -> None:
    usage = chunk.get("usage")
    require(
        isinstance(usage, dict),
        "a chunk with no choices is the usage chunk (OpenAI streaming)",
        chunk,
    )
    for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
        require(type(usage.get(key)) is int, f"usage.{key} is an integer", usage)
    require(checked.usage is None, "one usage chunk")
    require(
        checked.choices and all(s.finish_reason for s in checked.choices.values()),
        "the usage chunk follows the finish_reason chunk (OpenAI streaming)",
    )
    checked.usage = usage


def _choice_delta(choice: Any, checked: CheckedChatStream) -> None:
    require(isinstance(choice, dict) and type(choice.get("index")) is int, "choice index", choice)
    state = checked.choices.setdefault(choice["index"], ChoiceState())
    require(
        state.finish_reason is None, "nothing follows a choice's finish_reason (checklist)", choice
    )
    delta = choice.get("delta")
    require(isinstance(delta, dict), "every choice has a delta object (OpenAI streaming)", choice)
    if "role" in delta and delta["role"] is not None:
        require(
            not state.role and not state.content, "role only in the first delta (checklist)", delta
        )
        require(delta["role"] == "assistant", "the role is assistant", delta)
        state.role = delta["role"]
    content = delta.get("content")
    require(content is None or isinstance(content, str), "content is a string or null", delta)
    state.content += content or ""
    for call in delta.get("tool_calls") or ():
        _tool_call_delta(call, state)
    reason = choice.get("finish_reason")
    if reason is not None:
        require(
            reason in FINISH_REASONS, "finish_reason is a known value (OpenAI response)", reason
        )
        state.finish_reason = reason


def _tool_call_delta(call: Any, state: ChoiceState) -> None:
    require(isinstance(call, dict), "a tool call delta is an object", call)
    index = call.get("index")
    require(
        type(index) is int, "every tool call delta has an integer index (OpenAI streaming)", call
    )
    function = call.get("function") or {}
    if index == len(state.tool_calls):  # opens a call
        require(isinstance(call.get("id"), str) and call["id"], "a new call has an id", call)
        require(call.get("type") == "function", "a new call has type function", call)
        require(isinstance(function.get("name"), str), "a new call has a function name", call)
        state.tool_calls.append(ToolCall(call["id"], function["name"]))
    else:
        require(0 <= index < len(state.tool_calls), "tool call indices are 0..n-1 in order", call)
        for repeated in ("id", "type"):
            require(
                repeated not in call, f"{repeated} only in a call's first delta (checklist)", call
            )
        require(
            "name" not in function, "function.name only in a call's first delta (checklist)", call
        )
    arguments = function.get("arguments")
    if arguments is not None:
        require(isinstance(arguments, str), "arguments is a string", call)
        state.tool_calls[index].arguments += arguments


def _arguments_object(call: ToolCall) -> None:
    try:
        parsed = json.loads(call.arguments)
    except ValueError as exc:
        raise Violation(
            f"a call's arguments concatenate to JSON (OpenAI streaming): {exc}: {call.arguments!r}"
        ) from None
    require(isinstance(parsed, dict), "a call's arguments are one JSON object", call.arguments)

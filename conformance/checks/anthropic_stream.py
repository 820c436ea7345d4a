"""A strict checker of Anthropic Messages SSE streams: every line of the checklist
(docs/reference/checklist.md#anthropic-stream).

Operations:
    parse_frames(data: bytes) -> [(event name, data)]   the SSE framing (SDK rules 1, 3)
    check_anthropic_stream(data: bytes) -> CheckedStream the event grammar and the checklist

Raises StreamViolation naming the broken rule: "SDK rule N" is rule N of
docs/reference/anthropic.md#sdk-stream-rules, "stream grammar" and "message object" are
docs/reference/anthropic.md#stream-grammar and #message-object, "checklist" is the checklist.
Written from the reference, not from compat (which it must never import), so it can disagree
with the translator it judges.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from conformance.checks.text import no_lone_surrogates
from conformance.checks.violation import Violation

STOP_REASONS = {
    "end_turn",
    "max_tokens",
    "stop_sequence",
    "tool_use",
    "pause_turn",
    "refusal",
    "model_context_window_exceeded",
}
ERROR_TYPES = {
    "invalid_request_error",
    "authentication_error",
    "permission_error",
    "not_found_error",
    "request_too_large",
    "rate_limit_error",
    "api_error",
    "overloaded_error",
    "billing_error",
    "timeout_error",
}
DELTA_FOR_BLOCK = {
    "text": {"text_delta"},
    "thinking": {"thinking_delta", "signature_delta"},
    "tool_use": {"input_json_delta"},
}
INITIAL_BLOCK = {
    "text": {"type": "text", "text": ""},
    "thinking": {"type": "thinking", "thinking": "", "signature": ""},
}


class StreamViolation(Violation):
    """The stream breaks a rule of the checklist."""


@dataclass
class CheckedStream:
    events: list[dict[str, Any]] = field(default_factory=list)
    error: dict[str, Any] | None = None  # the `error` event's `error` object, if it ended so
    stop_reason: str | None = None


def _require(condition: bool, rule: str, detail: object = "") -> None:
    if not condition:
        raise StreamViolation(f"{rule}: {detail!r}" if detail != "" else rule)


def parse_frames(data: bytes) -> list[tuple[str, dict[str, Any]]]:
    """(event name, data) per frame; each frame `event: X` + `data: {json}` + blank line."""
    try:
        text = data.decode("utf-8")  # strict, like the SDKs' line decoder (SDK rule 3)
    except UnicodeDecodeError as exc:
        raise StreamViolation(f"stream is not valid UTF-8 (SDK rule 3): {exc}") from None
    _require(text.endswith("\n\n") or text == "", "stream must end with a blank line")
    frames = []
    for frame in text[:-2].split("\n\n") if text else []:
        lines = frame.split("\n")
        _require(
            len(lines) == 2, "a frame is exactly an event line and a data line (SDK rule 1)", frame
        )
        _require(lines[0].startswith("event: "), "every frame names its event (SDK rule 1)", frame)
        _require(lines[1].startswith("data: "), "every frame has a data line (SDK rule 1)", frame)
        _require("\r" not in frame, "no CR inside frames", frame)
        name = lines[0][len("event: ") :]
        payload = json.loads(lines[1][len("data: ") :])
        _require(isinstance(payload, dict), "data is a JSON object", payload)
        _require(payload.get("type") == name, "data.type equals the event name (SDK rule 1)", frame)
        no_lone_surrogates(payload)
        frames.append((name, payload))
    return frames


def check_anthropic_stream(data: bytes, *, ids: bool = True) -> CheckedStream:
    """Check a complete stream body; return its events and how it ended. With `ids` False the
    `msg_` / `toolu_` id prefixes are not judged (the reference calls their format changeable)."""
    checked = CheckedStream()
    frames = parse_frames(data)
    _require(bool(frames), "a stream has at least one event")
    open_block: dict[str, Any] | None = None
    next_index = 0
    json_buffer = ""
    last_delta_type: str | None = None
    seen_message_delta = False
    ended = False
    started = False
    for position, (name, event) in enumerate(frames):
        checked.events.append(event)
        _require(not ended, "nothing follows message_stop or error", name)
        if name == "error":
            error = event.get("error")
            _require(
                isinstance(error, dict),
                "error event carries an error object (stream grammar)",
                event,
            )
            _require(
                error.get("type") in ERROR_TYPES, "error type is an Anthropic ErrorType", error
            )
            _require(isinstance(error.get("message"), str), "error has a message", error)
            checked.error = error
            ended = True
            continue
        if name == "ping":
            _require(started, "ping only after message_start (checklist)")
            continue
        if position == 0 or not started:
            _require(name == "message_start", "first event is message_start (SDK rule 4)", name)
            message = event["message"]
            _require(
                message.get("content") == [], "message_start content is [] (checklist)", message
            )
            usage = message.get("usage")
            _require(
                isinstance(usage, dict), "message_start usage is an object (SDK rule 4)", message
            )
            _require(type(usage.get("input_tokens")) is int, "usage.input_tokens int", usage)
            _require(type(usage.get("output_tokens")) is int, "usage.output_tokens int", usage)
            _require(message.get("stop_reason") is None, "message_start stop_reason null", message)
            _require(
                message.get("type") == "message" and message.get("role") == "assistant",
                "message shape",
                message,
            )
            _require(
                not ids or str(message.get("id", "")).startswith("msg_"), "message id msg_", message
            )
            started = True
            continue
        _require(name != "message_start", "only one message_start (SDK rule 10)")
        _require(
            not seen_message_delta or name == "message_stop",
            "message_stop follows message_delta",
            name,
        )
        if name == "content_block_start":
            _require(open_block is None, "blocks do not interleave (SDK rule 12)", event)
            _require(event.get("index") == next_index, "indices 0..n in order (SDK rule 5)", event)
            block = event["content_block"]
            kind = block.get("type")
            _require(kind in DELTA_FOR_BLOCK, "known block type", block)
            if kind == "tool_use":
                _require(
                    block.get("input") == {}, "tool_use starts with input {} (SDK rule 7)", block
                )
                _require(
                    isinstance(block.get("id"), str) and block["id"], "tool_use has an id", block
                )
                _require(
                    not ids or block["id"].startswith("toolu_"),
                    "tool_use id toolu_ (checklist)",
                    block,
                )
                _require(isinstance(block.get("name"), str), "tool_use has a name", block)
            else:
                _require(
                    block == INITIAL_BLOCK[kind], "initial block shape (stream grammar)", block
                )
            open_block = block
            json_buffer = ""
            last_delta_type = None
            next_index += 1
        elif name == "content_block_delta":
            _require(open_block is not None, "delta only inside an open block (SDK rule 5)", event)
            assert open_block is not None
            _require(event.get("index") == next_index - 1, "delta index is the open block's", event)
            delta = event["delta"]
            delta_type = delta.get("type")
            _require(
                delta_type in DELTA_FOR_BLOCK[open_block["type"]],
                "delta type matches block (SDK rule 6)",
                event,
            )
            _require(
                last_delta_type != "signature_delta",
                "signature_delta is the last delta of its block",
                event,
            )
            field_name = {
                "text_delta": "text",
                "thinking_delta": "thinking",
                "signature_delta": "signature",
                "input_json_delta": "partial_json",
            }[delta_type]
            _require(
                isinstance(delta.get(field_name), str), f"{delta_type} carries {field_name}", event
            )
            if delta_type == "input_json_delta":
                json_buffer += delta["partial_json"]
            last_delta_type = delta_type
        elif name == "content_block_stop":
            _require(
                open_block is not None and event.get("index") == next_index - 1,
                "stop closes the open block",
                event,
            )
            assert open_block is not None
            if open_block["type"] == "thinking":
                _require(
                    last_delta_type == "signature_delta",
                    "signature_delta just before a thinking block stops (checklist)",
                    event,
                )
            if open_block["type"] == "tool_use":
                try:
                    arguments = json.loads(json_buffer)
                except ValueError as exc:
                    raise StreamViolation(
                        f"partial_json concatenates to JSON (SDK rule 13): {exc}: {json_buffer!r}"
                    ) from None
                _require(
                    isinstance(arguments, dict),
                    "tool input is one JSON object (SDK rule 7)",
                    json_buffer,
                )
                json_buffer.encode("utf-8")
            open_block = None
        elif name == "message_delta":
            _require(open_block is None, "every block is closed before message_delta", event)
            _require(not seen_message_delta, "exactly one message_delta (checklist)")
            delta = event.get("delta", {})
            reason = delta.get("stop_reason")
            _require(reason in STOP_REASONS, "stop_reason is a StopReason (message object)", delta)
            sequence = delta.get("stop_sequence")
            _require(
                (sequence is not None) == (reason == "stop_sequence"),
                "stop_sequence set iff stop_reason is stop_sequence",
                delta,
            )
            usage = event.get("usage")
            _require(
                isinstance(usage, dict) and type(usage.get("output_tokens")) is int,
                "message_delta usage.output_tokens (SDK rule 8)",
                event,
            )
            checked.stop_reason = reason
            seen_message_delta = True
        elif name == "message_stop":
            _require(seen_message_delta, "message_stop after message_delta (checklist)")
            ended = True
        else:
            raise StreamViolation(
                f"unknown event name {name!r} (SDK rule 3: do not invent event names)"
            )
    _require(ended, "a stream ends with message_stop or error (SDK rule 11)")
    return checked

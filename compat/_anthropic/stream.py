"""Gemini stream → Anthropic Messages stream: a sans-I/O state machine, raw bytes in.

Operations
    translator = StreamTranslator(model=..., stop_sequences=(), message_id=None)
    translator.feed(data) -> list[event dict]     upstream bytes, any split, any framing
    translator.close() -> list[event dict]        the upstream body ended
    translator.feed_sse(data) / close_sse() -> bytes   the same events, SSE-encoded
    translator.started / .finished / .stop_reason / .usage / .error / .message_id
    encode_sse_event(event) -> bytes, PING_EVENT (encoded bytes)

Goals
    Output obeys every rule of docs/reference/anthropic.md#stream-grammar, #sdk-stream-rules and
    docs/reference/checklist.md#anthropic-stream, so the official SDKs accumulate
    it without error: message_start first; blocks indexed 0..n in order, one open at a time;
    delta types matching their block; `signature_delta` just before a thinking block closes;
    tool_use opened with `input: {}` and its whole arguments as one `input_json_delta`;
    exactly one message_delta (non-null stop_reason, cumulative usage) then message_stop.
    An upstream error object, an undecodable chunk, a failed turn (MALFORMED_FUNCTION_CALL,
    `compat.turn_failure`) or an end without finishReason gives an `error` event (type per
    docs/mapping.md), never a made-up `end_turn` nor made-up text.
    `message_start` is emitted with the first upstream chunk, never at construction (nor for
    a first chunk that only says the turn failed), so until `started` is true the proxy may
    still retry upstream or answer with an HTTP error.
    Cheap per chunk: each chunk is parsed once (orjson), events are small dicts, encoded
    without the NaN search (`compat._json.dumps_decoded`: decoded JSON holds no NaN).

Plan
    `compat._gemini.framing.GeminiChunkDecoder` turns bytes into response dicts; each part of
    the first candidate drives the same block rules as `compat._anthropic.response`
    (consecutive thoughts form one thinking block, consecutive texts one text block, each
    functionCall one tool_use block, code, code results and media one text block each,
    signatures placed per docs/mapping.md). A block stays open until a part of another kind
    arrives, because a later part may still hand its signature to an open thinking block.
    The first chunk with a finishReason (or a blocked prompt) ends the message; after the end,
    input is ignored. Stop sequences are decided as in `compat._anthropic.response`: Gemini
    strips the matched text, so `stop_sequence` only when the last text block still ends with
    one (the translator keeps that block's last few characters), otherwise `end_turn`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from compat._gemini.errors import GoogleError, anthropic_error_event, error_from_object
from compat._gemini.framing import GeminiChunkDecoder
from compat._gemini.response import (
    PROMPT_BLOCKED,
    anthropic_stop,
    anthropic_usage,
    candidate_failure,
    first_use_of_id,
    function_args,
    function_name,
    longest_stop_sequence,
    other_part_text,
    tool_use_id,
)
from compat._gemini.response import message_id as new_message_id
from compat._json import dumps_decoded

__all__ = ["PING_EVENT", "StreamTranslator", "encode_sse_event"]

Event = dict[str, Any]

PING_EVENT = b'event: ping\ndata: {"type":"ping"}\n\n'

_EVENT_PREFIXES: dict[str, bytes] = {
    name: b"event: " + name.encode() + b"\ndata: "
    for name in (
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "error",
        "ping",
    )
}
_MESSAGE_STOP: Event = {"type": "message_stop"}


def encode_sse_event(event: Event) -> bytes:
    """`event: <type>\\ndata: <json>\\n\\n` for one event of a `StreamTranslator`.

    Encoded with `compat._json.dumps_decoded`: the translator's events hold only decoded
    upstream JSON and compat's own values, never NaN/Infinity. Encode events of other
    origins with `compat.dumps`.
    """
    name = event["type"]
    prefix = _EVENT_PREFIXES.get(name)
    if prefix is None:
        prefix = b"event: " + str(name).encode() + b"\ndata: "
    return prefix + dumps_decoded(event) + b"\n\n"


class StreamTranslator:
    """Translate one upstream Gemini stream into one Anthropic Messages event stream."""

    def __init__(
        self, *, model: str, stop_sequences: Sequence[str] = (), message_id: str | None = None
    ) -> None:
        self._model = model
        self._stop_sequences = tuple(sequence for sequence in stop_sequences if sequence)
        self._tail_size = longest_stop_sequence(self._stop_sequences)
        self._message_id = message_id or new_message_id()
        self._decoder = GeminiChunkDecoder()
        self._started = False
        self._finished = False
        self._stop_reason: str | None = None
        self._usage_metadata: dict[str, Any] | None = None
        self._error: GoogleError | None = None
        self._index = -1  # index of the last block started
        self._open: str | None = None  # "thinking" or "text": the block parts may extend
        self._signature = ""  # the open thinking block's signature, sent when it closes
        self._has_tool_calls = False
        self._call_ids: set[str] = set()  # Gemini call ids already used in this reply
        self._last_block: str | None = None
        self._text_tail = ""  # end of the last text block, for stop-sequence detection

    # -- state the proxy reads --------------------------------------------------------------

    @property
    def started(self) -> bool:
        """True once `message_start` was emitted (the first upstream chunk arrived)."""
        return self._started

    @property
    def finished(self) -> bool:
        """True once `message_stop` or an `error` event was emitted; later input is ignored."""
        return self._finished

    @property
    def stop_reason(self) -> str | None:
        """The Anthropic stop_reason sent in message_delta (None until then, or on error)."""
        return self._stop_reason

    @property
    def usage(self) -> dict[str, int]:
        """Anthropic usage from the latest upstream usageMetadata (cumulative)."""
        return anthropic_usage(self._usage_metadata)

    @property
    def error(self) -> GoogleError | None:
        """The upstream failure that ended the stream with an `error` event, if any."""
        return self._error

    @property
    def message_id(self) -> str:
        return self._message_id

    # -- input --------------------------------------------------------------------------------

    def feed(self, data: bytes) -> list[Event]:
        """Events completed by these upstream bytes (possibly none)."""
        if self._finished:
            return []
        events: list[Event] = []
        for chunk in self._decoder.feed(data):
            self._on_chunk(chunk, events)
            if self._finished:
                break
        return events

    def close(self) -> list[Event]:
        """The upstream body ended: the remaining events, an `error` event if it never finished."""
        if self._finished:
            return []
        events: list[Event] = []
        for chunk in self._decoder.close():
            self._on_chunk(chunk, events)
            if self._finished:
                return events
        self._fail(
            GoogleError(
                http_status=502,
                status="INCOMPLETE_STREAM",
                message="upstream stream ended before a finish reason",
            ),
            events,
        )
        return events

    def feed_sse(self, data: bytes) -> bytes:
        """`feed`, SSE-encoded."""
        return b"".join([encode_sse_event(event) for event in self.feed(data)])

    def close_sse(self) -> bytes:
        """`close`, SSE-encoded."""
        return b"".join([encode_sse_event(event) for event in self.close()])

    # -- chunks ---------------------------------------------------------------------------------

    def _on_chunk(self, chunk: dict[str, Any], events: list[Event]) -> None:
        error = chunk.get("error")
        if error is not None:
            self._fail(error_from_object(error if isinstance(error, dict) else {}), events)
            return
        usage_metadata = chunk.get("usageMetadata")
        if isinstance(usage_metadata, dict):
            self._usage_metadata = usage_metadata
        failure = _failure_without_content(chunk)
        if failure is not None and not self._started:
            self._fail(failure, events)  # nothing sent yet: the caller may answer an HTTP error
            return
        if not self._started:
            self._start(events)
        candidates = chunk.get("candidates")
        if not isinstance(candidates, list) or not candidates:
            feedback = chunk.get("promptFeedback")
            if isinstance(feedback, dict) and feedback.get("blockReason"):
                self._finish(PROMPT_BLOCKED, events)
            return
        candidate = candidates[0]
        if not isinstance(candidate, dict):
            return
        content = candidate.get("content")
        if isinstance(content, dict):
            parts = content.get("parts")
            if isinstance(parts, list):
                for part in parts:
                    if isinstance(part, dict):
                        self._on_part(part, events)
        finish_reason = candidate.get("finishReason")
        failure = candidate_failure(candidate)
        if failure is not None:
            self._close_open(events)
            self._fail(failure, events)
        elif isinstance(finish_reason, str) and finish_reason:
            self._finish(finish_reason, events)

    def _on_part(self, part: dict[str, Any], events: list[Event]) -> None:
        signature = part.get("thoughtSignature")
        if not (isinstance(signature, str) and signature):
            signature = None
        call = part.get("functionCall")
        if isinstance(call, dict):
            if signature:
                self._place_signature(signature, events)
            self._add_tool_use(call, events)
            return
        text = part.get("text")
        shown = None if isinstance(text, str) else other_part_text(part)
        readable = text if isinstance(text, str) else shown
        if part.get("thought") is True and readable is not None:
            self._add_thought(readable, signature, events)
            return
        if signature:
            self._place_signature(signature, events)
        if shown is not None:
            self._add_notice(shown, events)
        elif isinstance(text, str) and text:
            self._add_text(text, events)

    # -- blocks ---------------------------------------------------------------------------------

    def _add_text(self, text: str, events: list[Event]) -> None:
        if self._open != "text":
            self._close_open(events)
            self._start_block({"type": "text", "text": ""}, events)
            self._open = "text"
            self._text_tail = ""
        events.append(
            {
                "type": "content_block_delta",
                "index": self._index,
                "delta": {"type": "text_delta", "text": text},
            }
        )
        if self._tail_size:
            self._text_tail = (self._text_tail + text)[-self._tail_size :]

    def _add_thought(self, text: str, signature: str | None, events: list[Event]) -> None:
        signed_twice = signature and self._open == "thinking" and self._signature
        if self._open != "thinking" or signed_twice:
            if not text and not signature:
                return
            self._close_open(events)
            self._start_block({"type": "thinking", "thinking": "", "signature": ""}, events)
            self._open = "thinking"
        if text:
            events.append(
                {
                    "type": "content_block_delta",
                    "index": self._index,
                    "delta": {"type": "thinking_delta", "thinking": text},
                }
            )
        if signature:
            self._signature = signature

    def _add_tool_use(self, call: dict[str, Any], events: list[Event]) -> None:
        self._close_open(events)
        self._start_block(
            {
                "type": "tool_use",
                "id": tool_use_id(first_use_of_id(call, self._call_ids)),
                "name": function_name(call),
                "input": {},
            },
            events,
        )
        arguments = dumps_decoded(function_args(call)).decode("utf-8")
        events.append(
            {
                "type": "content_block_delta",
                "index": self._index,
                "delta": {"type": "input_json_delta", "partial_json": arguments},
            }
        )
        events.append({"type": "content_block_stop", "index": self._index})
        self._has_tool_calls = True

    def _add_notice(self, text: str, events: list[Event]) -> None:
        """A text block of its own (code, its result, media)."""
        self._close_open(events)
        self._add_text(text, events)
        self._close_open(events)

    def _place_signature(self, signature: str, events: list[Event]) -> None:
        """docs/mapping.md rule 3: the open unsigned thinking block takes it, else a new one."""
        if self._open == "thinking" and not self._signature:
            self._signature = signature
            self._close_open(events)
            return
        self._close_open(events)
        self._start_block({"type": "thinking", "thinking": "", "signature": ""}, events)
        self._open = "thinking"
        self._signature = signature
        self._close_open(events)

    def _start_block(self, block: dict[str, Any], events: list[Event]) -> None:
        self._index += 1
        self._last_block = block["type"]
        events.append({"type": "content_block_start", "index": self._index, "content_block": block})

    def _close_open(self, events: list[Event]) -> None:
        if self._open is None:
            return
        if self._open == "thinking":
            events.append(
                {
                    "type": "content_block_delta",
                    "index": self._index,
                    "delta": {"type": "signature_delta", "signature": self._signature},
                }
            )
            self._signature = ""
        events.append({"type": "content_block_stop", "index": self._index})
        self._open = None

    # -- message ----------------------------------------------------------------------------------

    def _start(self, events: list[Event]) -> None:
        self._started = True
        events.append(
            {
                "type": "message_start",
                "message": {
                    "id": self._message_id,
                    "type": "message",
                    "role": "assistant",
                    "model": self._model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": anthropic_usage(self._usage_metadata),
                },
            }
        )

    def _finish(self, finish_reason: str, events: list[Event]) -> None:
        self._close_open(events)
        stop_reason, stop_sequence = anthropic_stop(
            finish_reason,
            has_tool_calls=self._has_tool_calls,
            final_text=self._text_tail if self._last_block == "text" else None,
            stop_sequences=self._stop_sequences,
        )
        self._stop_reason = stop_reason
        events.append(
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": stop_sequence},
                "usage": anthropic_usage(self._usage_metadata),
            }
        )
        events.append(_MESSAGE_STOP.copy())
        self._finished = True

    def _fail(self, error: GoogleError, events: list[Event]) -> None:
        self._error = error
        events.append(anthropic_error_event(error))
        self._finished = True


def _failure_without_content(chunk: dict[str, Any]) -> GoogleError | None:
    """A chunk that only says the turn failed (no parts): `candidate_failure` of it."""
    candidates = chunk.get("candidates")
    candidate = candidates[0] if isinstance(candidates, list) and candidates else None
    if not isinstance(candidate, dict):
        return None
    content = candidate.get("content")
    parts = content.get("parts") if isinstance(content, dict) else None
    return None if parts else candidate_failure(candidate)

"""Measuring one response as its bytes arrive: TTFB, TTFT, ITL, TPOT, E2E, tokens, the error.

Operations
    meter = ResponseMeter(protocol, sent=t0, stream=None)
                                                  protocol "anthropic", "openai" or "gemini"
                                                  (the upstream itself, for overhead); t0 the
                                                  moment the request was sent (any clock);
                                                  stream: whether the request asked for one
                                                  (a 2xx of the other kind is `protocol`)
    meter.headers(status, content_type, now)      the response headers arrived
    meter.feed(data, now)                         body bytes, split anywhere, stamped when read
    meter.end(now)                                the body ended
    meter.fail(kind, type_, message)              no (complete) answer: timeout, connect, ...
    meter.result() -> Measured                    seconds from `sent`; the first error wins
    meter.finished                                the reply is complete (or failed): no more
                                                  bytes are needed to measure it
    Measured.tpot                                 (E2E - TTFT) / (output tokens - 1)
    ErrorInfo(kind, type, message)                kind: http, stream, grammar, timeout,
                                                  connect, protocol (the result file's kinds)

Definitions (docs/bench.md; the design's metric names)
    TTFB  sent -> response headers.
    TTFT  sent -> the first content delta carrying non-empty text, thinking or tool input
          (Anthropic `content_block_delta` with text / thinking / partial_json; OpenAI a chunk
          whose delta has content, reasoning or tool-call name / arguments; Gemini a chunk
          with a part holding text or a functionCall).
    ITL   the gaps between consecutive content deltas of one response (deltas read in one
          chunk are 0 apart: that is when the client got them).
    E2E   sent -> `message_stop` (Anthropic), `data: [DONE]` (OpenAI), the end of a Gemini
          stream that gave a finishReason, or the end of a non-stream body; only for a
          complete reply (None when it failed).
    Output tokens: the last `message_delta` usage (Anthropic), the usage chunk (OpenAI,
    `stream_options.include_usage`), the last usageMetadata (Gemini: candidates + thoughts),
    or the body's usage.

Errors, first one wins: a status that is not 2xx is `http` with the envelope's error type
(Anthropic `{"type":"error","error":{"type":...}}`, OpenAI `{"error":{"type"|"code":...}}`,
Google `{"error":{"status":...}}`);
an `error` event (Anthropic) or an error chunk (OpenAI) is `stream`; a stream that does not
start with `message_start`, goes on after its end, or ends before it is `grammar`; a body that
is not the JSON or the event stream the request asked for is `protocol`.

Pure and synchronous (no I/O, no clock of its own), so both the asyncio bench runner and
Locust's gevent users feed it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from loadtests._common._sse import SSEDecoder, SSEEvent

__all__ = ["ErrorInfo", "Measured", "Protocol", "ResponseMeter"]

Protocol = Literal["anthropic", "openai", "gemini"]
ErrorKind = Literal["http", "stream", "grammar", "timeout", "connect", "protocol"]
MAX_MESSAGE = 2000  # the result file's limit on an error message


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """Why a request did not get a complete reply."""

    kind: ErrorKind
    type: str
    message: str = ""


@dataclass(slots=True)
class Measured:
    """One response's measurements, in seconds from the send."""

    status: int | None = None
    ttfb: float | None = None
    ttft: float | None = None
    itl: list[float] = field(default_factory=list)
    e2e: float | None = None
    output_tokens: int | None = None
    error: ErrorInfo | None = None

    @property
    def tpot(self) -> float | None:
        """(E2E - TTFT) / (output tokens - 1), when all three are known and tokens > 1."""
        if self.e2e is None or self.ttft is None or not self.output_tokens:
            return None
        if self.output_tokens < 2:
            return None
        return max(0.0, self.e2e - self.ttft) / (self.output_tokens - 1)


class ResponseMeter:
    """The measurements of one response, fed as it arrives (see the module docstring)."""

    def __init__(self, protocol: Protocol, *, sent: float, stream: bool | None = None) -> None:
        if protocol not in ("anthropic", "openai", "gemini"):
            raise ValueError(f"unknown protocol {protocol!r}")
        self._protocol = protocol
        self._sent = sent
        self._stream = stream
        self._measured = Measured()
        self._sse: SSEDecoder | None = None
        self._body: list[bytes] = []
        self._started = False  # a stream's first event was seen
        self._stopped = False  # message_stop / [DONE] seen
        self._last_delta: float | None = None
        self._finish_reason = False  # Gemini: a chunk said how the reply ended

    @property
    def finished(self) -> bool:
        """The reply is complete or failed: the rest of the body cannot change the result."""
        return self._stopped or self._measured.error is not None

    def headers(self, status: int, content_type: str, now: float) -> None:
        """The status line and headers arrived."""
        measured = self._measured
        if not 100 <= status <= 599:
            self._error("protocol", "bad_status", f"HTTP status {status} is not 100-599")
            return
        measured.status, measured.ttfb = status, now - self._sent
        if not 200 <= status < 300:
            return
        media_type = content_type.split(";")[0].strip().lower()
        if media_type == "text/event-stream":
            self._sse = SSEDecoder()
        if self._stream is not None and self._stream != (self._sse is not None):
            asked = "an event stream" if self._stream else "a JSON body"
            self._error("protocol", "content_type", f"asked for {asked}, got {media_type!r}")

    def feed(self, data: bytes, now: float) -> None:
        """Body bytes read at `now`."""
        if self._measured.error is not None:
            return
        if self._sse is None:
            self._body.append(data)
        else:
            self._events(self._sse.feed(data), now)

    def end(self, now: float) -> None:
        """The body ended at `now`."""
        if self._measured.error is not None:
            return
        if self._measured.status is None:
            self._error("protocol", "no_response", "the connection ended before a response")
            return
        if self._sse is None:
            self._whole_body(now)
            return
        self._events(self._sse.close(), now)
        if self._protocol == "gemini" and self._finish_reason and not self.finished:
            self._measured.e2e = now - self._sent
            self._stopped = True
        if not self.finished:
            end_event = _END_EVENTS[self._protocol]
            self._error("grammar", "truncated", f"the stream ended before {end_event}")

    def fail(self, kind: ErrorKind, type_: str, message: str = "") -> None:
        """Record an error found outside the bytes (a deadline, a refused connection)."""
        if self._measured.error is None:
            self._error(kind, type_, message)

    def result(self) -> Measured:
        """The measurements so far (complete after `end` or `fail`)."""
        return self._measured

    # --- helpers -------------------------------------------------------------------------

    def _error(self, kind: ErrorKind, type_: str, message: str) -> None:
        if self._measured.error is None:
            self._measured.error = ErrorInfo(kind, type_ or kind, message[:MAX_MESSAGE])
            self._measured.e2e = None

    def _whole_body(self, now: float) -> None:
        status = self._measured.status or 0
        body = b"".join(self._body)
        document = _loads(body) if body else None
        if not 200 <= status < 300:
            type_, message = _envelope_error(document)
            self._error("http", type_ or f"http_{status}", message or _excerpt(body))
            return
        if not isinstance(document, dict):
            self._error(
                "protocol", "invalid_json", f"the body is not a JSON object: {_excerpt(body)}"
            )
            return
        self._measured.output_tokens = _usage_tokens(document, self._protocol)
        self._measured.e2e = now - self._sent
        self._stopped = True

    def _events(self, events: list[SSEEvent], now: float) -> None:
        handle = {
            "anthropic": self._anthropic_event,
            "openai": self._openai_event,
            "gemini": self._gemini_event,
        }[self._protocol]
        for event in events:
            if self._measured.error is not None:
                return
            if self._stopped:
                self._error("grammar", "after_end", f"an event after the end: {event.name}")
                return
            handle(event, now)

    def _content_delta(self, now: float) -> None:
        if self._last_delta is None:
            self._measured.ttft = now - self._sent
        else:
            self._measured.itl.append(now - self._last_delta)
        self._last_delta = now

    def _decode(self, event: SSEEvent) -> dict[str, Any] | None:
        value = _loads(event.data)
        if not isinstance(value, dict):
            self._error("protocol", "invalid_json", f"{event.name}: {_excerpt(event.data)}")
            return None
        return value

    def _anthropic_event(self, event: SSEEvent, now: float) -> None:
        name = event.name
        if name == "ping":
            return
        if name == "error":
            data = self._decode(event)
            if data is not None:
                type_, message = _envelope_error(data)
                self._error("stream", type_ or "error", message)
            return
        if not self._started:
            self._started = True
            if name != "message_start":
                self._error("grammar", "no_message_start", f"the stream starts with {name}")
                return
        if name == "content_block_delta":
            data = self._decode(event)
            delta = data.get("delta") if data is not None else None
            if isinstance(delta, dict) and (
                delta.get("text") or delta.get("thinking") or delta.get("partial_json")
            ):
                self._content_delta(now)
        elif name == "message_delta":
            data = self._decode(event)
            usage = data.get("usage") if data is not None else None
            if isinstance(usage, dict) and isinstance(usage.get("output_tokens"), int):
                self._measured.output_tokens = usage["output_tokens"]
        elif name == "message_stop":
            self._measured.e2e = now - self._sent
            self._stopped = True

    def _openai_event(self, event: SSEEvent, now: float) -> None:
        if event.data == b"[DONE]":
            self._measured.e2e = now - self._sent
            self._stopped = True
            return
        chunk = self._decode(event)
        if chunk is None:
            return
        if chunk.get("error") is not None:
            type_, message = _envelope_error(chunk)
            self._error("stream", type_ or "error", message)
            return
        usage = chunk.get("usage")
        if isinstance(usage, dict) and isinstance(usage.get("completion_tokens"), int):
            self._measured.output_tokens = usage["completion_tokens"]
        choices = chunk.get("choices")
        if isinstance(choices, list) and choices and _openai_has_content(choices[0]):
            self._content_delta(now)

    def _gemini_event(self, event: SSEEvent, now: float) -> None:
        chunk = self._decode(event)
        if chunk is None:
            return
        if chunk.get("error") is not None:
            type_, message = _envelope_error(chunk)
            self._error("stream", type_ or "error", message)
            return
        tokens = _usage_tokens(chunk, "gemini")
        if tokens is not None:
            self._measured.output_tokens = tokens
        candidates = chunk.get("candidates")
        candidate = candidates[0] if isinstance(candidates, list) and candidates else None
        if not isinstance(candidate, dict):
            return
        content = candidate.get("content")
        parts = content.get("parts") if isinstance(content, dict) else None
        if isinstance(parts, list) and any(
            isinstance(part, dict) and (part.get("text") or part.get("functionCall"))
            for part in parts
        ):
            self._content_delta(now)
        if candidate.get("finishReason"):
            self._finish_reason = True


_END_EVENTS = {"anthropic": "message_stop", "openai": "data: [DONE]", "gemini": "a finishReason"}


def _loads(data: bytes) -> Any:
    """JSON, or None when it is not: orjson first; the stdlib where orjson is stricter than
    JSON (an escaped lone surrogate, which the grammar allows and Claude Code sends)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None


def _openai_has_content(choice: Any) -> bool:
    delta = choice.get("delta") if isinstance(choice, dict) else None
    if not isinstance(delta, dict):
        return False
    if delta.get("content") or delta.get("reasoning_content") or delta.get("reasoning"):
        return True
    calls = delta.get("tool_calls")
    if isinstance(calls, list):
        for call in calls:
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict) and (function.get("arguments") or function.get("name")):
                return True
    return False


def _envelope_error(document: Any) -> tuple[str, str]:
    """(type, message) of an Anthropic or OpenAI error envelope; ("", "") if it is none."""
    if not isinstance(document, dict):
        return "", ""
    error = document.get("error")
    if not isinstance(error, dict):
        return "", ""
    type_ = error.get("type") or error.get("status") or error.get("code") or ""
    message = error.get("message") or ""
    return str(type_), str(message)


def _usage_tokens(document: dict[str, Any], protocol: Protocol) -> int | None:
    if protocol == "gemini":
        usage = document.get("usageMetadata")
        if not isinstance(usage, dict) or not isinstance(usage.get("candidatesTokenCount"), int):
            return None
        thoughts = usage.get("thoughtsTokenCount")
        return int(usage["candidatesTokenCount"]) + (thoughts if isinstance(thoughts, int) else 0)
    usage = document.get("usage")
    if not isinstance(usage, dict):
        return None
    tokens = usage.get("output_tokens" if protocol == "anthropic" else "completion_tokens")
    return tokens if isinstance(tokens, int) else None


def _excerpt(data: bytes, limit: int = 200) -> str:
    text = data[:limit].decode("utf-8", "replace")
    return text + ("..." if len(data) > limit else "")

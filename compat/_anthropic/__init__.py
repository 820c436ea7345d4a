"""Anthropic Messages ⇄ Gemini: the Anthropic side of compat.

Operations (re-exported here)
    to_gemini_request(anthropic_request, *, options=None) -> dict
    to_anthropic_message(gemini_response, *, model, stop_sequences=(), message_id=None) -> dict
    StreamTranslator(*, model, stop_sequences=(), message_id=None)
    encode_sse_event(event) -> bytes, PING_EVENT

Modules, by role
    request            the request front door: reads the request top-down, below
    fields             typed access to client JSON (RequestError with the JSON path)
    messages           `messages` and `system` -> `contents` and `systemInstruction` parts
    tools              `tools` and `tool_choice` -> declarations (cached) and toolConfig
    generation_config  sampling fields and `thinking` -> `generationConfig`
    fast_path          text-only requests, converted in one pass to the same body
    response           Gemini response -> Anthropic Message (non-stream)
    stream             Gemini stream bytes -> Anthropic SSE events (a sans-I/O state machine)
"""

from compat._anthropic.request import to_gemini_request
from compat._anthropic.response import to_anthropic_message
from compat._anthropic.stream import PING_EVENT, StreamTranslator, encode_sse_event

__all__ = [
    "PING_EVENT",
    "StreamTranslator",
    "encode_sse_event",
    "to_anthropic_message",
    "to_gemini_request",
]

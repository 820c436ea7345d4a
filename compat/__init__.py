"""compat: the protocol core. Anthropic Messages and OpenAI Chat <-> Gemini, sans I/O.

Public API (the front doors; everything else is private, by role):

Requests
    to_gemini_request(anthropic_request, *, options=None) -> dict
    openai_to_gemini_request(openai_request, *, options=None) -> dict
    ConversionOptions, RequestError
    dropped_fields(request, *, openai=False, options=None) -> list of JSON paths that
        do not reach Gemini (removing them leaves the converted body unchanged)
Responses (non-stream)
    to_anthropic_message(gemini_response, *, model, stop_sequences=(), message_id=None) -> dict
    to_openai_completion(gemini_response, *, model, stop=(), completion_id=None) -> dict
Streams (feed raw upstream bytes, Gemini API or Code Assist framing, any split)
    StreamTranslator(*, model, stop_sequences=(), message_id=None)
        .feed(data) -> list[event dict]   .close() -> list[event dict]
        .feed_sse(data) -> bytes          .close_sse() -> bytes
    OpenAIStreamTranslator(*, model, include_usage=False, stop=(), completion_id=None)
        same methods, OpenAI chunk dicts / `data:` frames ending with `data: [DONE]`
    encode_sse_event(event) -> bytes, PING_EVENT
Upstream errors
    parse_google_error(status, body) -> GoogleError
    turn_failure(gemini_response) -> GoogleError | None   a reply whose turn failed
        (MALFORMED_FUNCTION_CALL): answer it as an error, never convert it to model text
    anthropic_error_for(google_error) -> (http_status, body)
    openai_error_for(google_error) -> (http_status, body)
    anthropic_error_event(google_error) -> the `error` event ending a stream already started
Client errors (a gateway's own, in Anthropic's vocabulary; compat maps, callers render)
    error_body(dialect, status, error_type, message, *, param=None) -> (http_status, body)
        in the client's envelope: "anthropic" as is, "openai" with OpenAI's type and code
Schemas and JSON
    clean_schema(json_schema, *, mode="parameters") -> dict
    dumps(obj, *, indent=False) -> bytes, loads(data) -> object, JSONError

Inside, private and by role: `_anthropic/` and `_openai/` (each client dialect's request,
response and stream), `_gemini/` (upstream framing, responses, errors), and what both dialects
share: `_json` (the codec), `_schema` (tool schemas), `_options`, `_errors`, `_envelopes` (error
bodies), `_nesting` (the depth limit of a request).
"""

from compat._anthropic import (
    PING_EVENT,
    StreamTranslator,
    encode_sse_event,
    to_anthropic_message,
    to_gemini_request,
)
from compat._dropped import dropped_fields
from compat._envelopes import error_body
from compat._errors import RequestError
from compat._gemini import (
    GoogleError,
    anthropic_error_event,
    anthropic_error_for,
    openai_error_for,
    parse_google_error,
    turn_failure,
)
from compat._json import JSONError, dumps, loads
from compat._openai import OpenAIStreamTranslator, openai_to_gemini_request, to_openai_completion
from compat._options import ConversionOptions
from compat._schema import clean_schema

__all__ = [
    "PING_EVENT",
    "ConversionOptions",
    "GoogleError",
    "JSONError",
    "OpenAIStreamTranslator",
    "RequestError",
    "StreamTranslator",
    "anthropic_error_event",
    "anthropic_error_for",
    "clean_schema",
    "dropped_fields",
    "dumps",
    "encode_sse_event",
    "error_body",
    "loads",
    "openai_error_for",
    "openai_to_gemini_request",
    "parse_google_error",
    "to_anthropic_message",
    "to_gemini_request",
    "to_openai_completion",
    "turn_failure",
]

"""Gemini's side of compat: what the upstream sends, read once for both client dialects.

Operations (re-exported here)
    parse_google_error(status, body) -> GoogleError
    anthropic_error_for(error), openai_error_for(error) -> (http_status, body)
    anthropic_error_event(error) -> the stream `error` event
    turn_failure(response) -> GoogleError | None

Modules, by role
    framing    upstream stream bytes (SSE or JSON framing, any split) -> response dicts
    response   the facts of a response both translators share: candidate, parts, finish
               reasons, usage, ids
    errors     upstream error bodies: parse, classify (retry policy), answer the client
"""

from compat._gemini.errors import (
    GoogleError,
    anthropic_error_event,
    anthropic_error_for,
    openai_error_for,
    parse_google_error,
)
from compat._gemini.response import turn_failure

__all__ = [
    "GoogleError",
    "anthropic_error_event",
    "anthropic_error_for",
    "openai_error_for",
    "parse_google_error",
    "turn_failure",
]

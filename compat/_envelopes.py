"""Error bodies in each client dialect: the one place each envelope is spelled and each error
type is mapped from Anthropic's vocabulary to OpenAI's.

Operations
    error_body(dialect, status, error_type, message, *, param=None) -> (http_status, body)
        an error in Anthropic's vocabulary (the proxy's own: docs/reference/anthropic.md#errors)
        as the client of `dialect` ("anthropic" or "openai") gets it
    anthropic_error_body(error_type, message) -> dict     `{"type": "error", "error": {...}}`
    openai_error_body(message, error_type, *, param=None, code=None) -> dict
                                                          `{"error": {message, type, param, code}}`

Callers add what belongs to the response, not the error: the proxy's `request_id`, headers.
Upstream (Google) errors have their own mapping (compat._gemini.errors), which builds its
bodies here too.
"""

from __future__ import annotations

from typing import Any, Literal

__all__ = ["Dialect", "anthropic_error_body", "error_body", "openai_error_body"]

Dialect = Literal["anthropic", "openai"]

# Anthropic error type -> (OpenAI error type, OpenAI error code).
_OPENAI_TYPES: dict[str, tuple[str, str | None]] = {
    "invalid_request_error": ("invalid_request_error", None),
    "authentication_error": ("invalid_request_error", "invalid_api_key"),
    "permission_error": ("invalid_request_error", "permission_denied"),
    "not_found_error": ("invalid_request_error", None),  # `model_not_found` only for a model
    "request_too_large": ("invalid_request_error", "request_too_large"),
    "rate_limit_error": ("rate_limit_error", "rate_limit_exceeded"),
    "api_error": ("server_error", None),
    "overloaded_error": ("server_error", "model_overloaded"),
    "timeout_error": ("server_error", "timeout"),
}


def anthropic_error_body(error_type: str, message: str) -> dict[str, Any]:
    """The Anthropic error envelope `{"type": "error", "error": {"type", "message"}}`."""
    return {"type": "error", "error": {"type": error_type, "message": message}}


def openai_error_body(
    message: str, error_type: str, *, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    """The OpenAI error envelope `{"error": {"message", "type", "param", "code"}}`."""
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def error_body(
    dialect: Dialect, status: int, error_type: str, message: str, *, param: str | None = None
) -> tuple[int, dict[str, Any]]:
    """HTTP status and body of an error given in Anthropic's vocabulary, for `dialect`.

    OpenAI: the type and code of `_OPENAI_TYPES`; `model_not_found` when `param` is `model`
    (an unknown URL has code null, as OpenAI answers it); 529 becomes 503, since OpenAI has no
    529 and its clients retry any 5xx.
    """
    if dialect == "anthropic":
        return status, anthropic_error_body(error_type, message)
    openai_type, code = _OPENAI_TYPES.get(error_type, ("server_error", None))
    if error_type == "not_found_error" and param == "model":
        code = "model_not_found"
    status = 503 if status == 529 else status
    return status, openai_error_body(message, openai_type, param=param, code=code)

"""Errors in the route's own envelope: Anthropic on Anthropic routes, OpenAI on OpenAI routes.

Operations:
    envelope_for_path(path) -> "anthropic" | "openai"
    error_body(error, envelope, request_id) -> (status, body dict)
    stream_error_event(error) -> Anthropic `error` event dict (for a stream already started)
    json_error_response(error, envelope) -> Quart Response
    install_error_handlers(app)  every failure, including Quart's own 404/405/413 and bugs,
                                 answers as JSON in the route's envelope, never an HTML page

Goals: a `ProxyError` (server.errors) is rendered here, at the edge; upstream (Google) errors
keep the mapping of the protocol core (`compat.anthropic_error_for` /
`compat.openai_error_for`).
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from quart import Quart, Response, g, request
from werkzeug.exceptions import HTTPException

import compat
from server.errors import ProxyError

Envelope = Literal["anthropic", "openai"]

log = logging.getLogger("compatkit.server")

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

# Quart/werkzeug HTTP errors raised before our handlers run -> Anthropic error type.
_HTTP_ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    408: "timeout_error",
    413: "request_too_large",
    415: "invalid_request_error",
    429: "rate_limit_error",
}


def envelope_for_path(path: str) -> Envelope:
    """OpenAI routes answer errors in OpenAI's envelope, everything else in Anthropic's."""
    return "openai" if path.startswith("/v1/chat/") else "anthropic"


def error_body(
    error: ProxyError, envelope: Envelope, request_id: str
) -> tuple[int, dict[str, Any]]:
    """The HTTP status and JSON body of `error` in the given envelope."""
    if error.google is not None:
        if envelope == "openai":
            return compat.openai_error_for(error.google)
        status, body = compat.anthropic_error_for(error.google)
        return status, {**body, "request_id": request_id}
    if envelope == "openai":
        openai_type, code = _OPENAI_TYPES.get(error.error_type, ("server_error", None))
        if error.error_type == "not_found_error" and error.param == "model":
            code = "model_not_found"  # an unknown URL has code null, as OpenAI answers it
        # OpenAI has no 529: its clients retry any 5xx, and 503 is what compat answers too.
        status = 503 if error.status == 529 else error.status
        openai_error = {
            "message": error.message,
            "type": openai_type,
            "param": error.param,
            "code": code,
        }
        return status, {"error": openai_error}
    anthropic_error = {"type": error.error_type, "message": error.message}
    return error.status, {"type": "error", "error": anthropic_error, "request_id": request_id}


def stream_error_event(error: ProxyError) -> dict[str, Any]:
    """The Anthropic `error` event that ends a stream whose headers are already sent.

    docs/mapping.md: `overloaded_error` for capacity/503, `rate_limit_error` for 429,
    `api_error` otherwise.
    """
    error_type = error.error_type
    if error.google is not None:
        google = error.google
        if google.is_capacity or google.http_status == 503:
            error_type = "overloaded_error"
        elif google.http_status == 429:
            error_type = "rate_limit_error"
        else:
            error_type = "api_error"
    return {"type": "error", "error": {"type": error_type, "message": error.message}}


def current_request_id() -> str:
    """The id of the request being answered ('' outside a request)."""
    return str(getattr(g, "request_id", ""))


def json_error_response(error: ProxyError, envelope: Envelope) -> Response:
    """A complete JSON error response with `request-id` and the error's own headers."""
    request_id = current_request_id()
    status, body = error_body(error, envelope, request_id)
    response = Response(compat.dumps(body), status=status, content_type="application/json")
    for name, value in error.headers.items():
        response.headers[name] = value
    if request_id:
        response.headers["request-id"] = request_id
    return response


def _from_http_exception(exc: HTTPException) -> ProxyError:
    status = exc.code or 500
    error_type = _HTTP_ERROR_TYPES.get(
        status, "api_error" if status >= 500 else "invalid_request_error"
    )
    messages = {
        404: f"Not found: {request.path}",
        405: f"Method {request.method} not allowed on {request.path}",
        413: "Request body exceeds the maximum allowed number of bytes",
    }
    return ProxyError(status, error_type, messages.get(status, exc.description or exc.name))


def install_error_handlers(app: Quart) -> None:
    """Route every failure through the JSON envelopes: ours, Quart's, and bugs."""

    @app.errorhandler(ProxyError)
    async def _proxy_error(error: ProxyError) -> Response:
        return json_error_response(error, envelope_for_path(request.path))

    @app.errorhandler(HTTPException)
    async def _http_error(error: HTTPException) -> Response:
        return json_error_response(_from_http_exception(error), envelope_for_path(request.path))

    @app.errorhandler(Exception)
    async def _unexpected(error: Exception) -> Response:
        log.exception("unhandled error", extra={"request_id": current_request_id()})
        internal = ProxyError(500, "api_error", "Internal error in the proxy")
        return json_error_response(internal, envelope_for_path(request.path))

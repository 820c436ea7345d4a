"""Errors in the route's own envelope: Anthropic on Anthropic routes, OpenAI on OpenAI routes.

Operations:
    envelope_for_path(path) -> "anthropic" | "openai"
    error_body(error, envelope, request_id) -> (status, body dict)
    stream_error_event(error) -> Anthropic `error` event dict (for a stream already started)
    json_error_response(error, envelope) -> Quart Response
    install_error_handlers(app)  every failure, including Quart's own 404/405/413 and bugs,
                                 answers as JSON in the route's envelope, never an HTML page

Goals: a `ProxyError` (server.errors) is rendered here, at the edge, and mapped by the protocol
core, once: the proxy's own errors by `compat.error_body`, upstream (Google) errors by
`compat.anthropic_error_for` / `compat.openai_error_for` / `compat.anthropic_error_event`.
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
    """The HTTP status and JSON body of `error` in the given envelope (compat's mapping)."""
    if error.google is None:
        status, body = compat.error_body(
            envelope, error.status, error.error_type, error.message, param=error.param
        )
    elif envelope == "openai":
        status, body = compat.openai_error_for(error.google)
    else:
        status, body = compat.anthropic_error_for(error.google)
    return status, ({**body, "request_id": request_id} if envelope == "anthropic" else body)


def stream_error_event(error: ProxyError) -> dict[str, Any]:
    """The Anthropic `error` event that ends a stream whose headers are already sent
    (docs/mapping.md#upstream-stream-without-a-finish: compat's mapping for upstream errors)."""
    if error.google is not None:
        return compat.anthropic_error_event(error.google)
    return compat.error_body("anthropic", error.status, error.error_type, error.message)[1]


def current_request_id() -> str:
    """The id of the request being answered ('' outside a request)."""
    return str(getattr(g, "request_id", ""))


def json_error_response(error: ProxyError, envelope: Envelope) -> Response:
    """A complete JSON error response with `request-id` and the error's own headers."""
    request_id = current_request_id()
    g.error = error  # the access log's error fields
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

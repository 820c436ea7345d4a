"""The steps the routes share, whichever way they are served (Quart or raw ASGI): before a
route talks upstream (key, body, flags, model, upstream) and once it answers (metrics, log).

Operations:
    authorise_client(services, headers)          proxy key check (401 in the route's envelope)
    parse_json_object(raw) -> dict               the body: 400 when not a JSON object
                                                 (empty, malformed, lone bytes, nested
                                                 deeper than compat's limit: names the field)
    await flags_for_request(services, headers) -> Flags
                                                 the store's flags plus an admin-authorised
                                                 `x-compatkit-flags` override
    resolve_model(services, body) -> (client model, upstream model)   400 / 404
    stream_flag(body) -> bool                    the `stream` field, 400 unless a boolean
    require_upstream(services) -> Upstream       503 while no upstream is configured
    flags_applied(services, headers, flags) -> str | None
                                                 the `x-compatkit-flags-applied` header's value,
                                                 for a request carrying the admin key (else None)
    record_answer(services, ...)                 count an answered request and write its access
                                                 log line (the Quart hooks and the generation
                                                 routes alike)
    json_response(document, status=200)          a Quart JSON response (the Quart routes)

`headers` is any case-insensitive lookup with `.get(name)`: Quart's Headers, or the plain
dict of lower-case names the raw ASGI generation routes build.
"""

from __future__ import annotations

import logging
from typing import Any

from quart import Response

import compat
from server.edge.auth import ADMIN_KEY_HEADER, HeaderLookup, require_key
from server.edge.services import Services
from server.errors import ProxyError
from server.flags import FLAG_OVERRIDE_HEADER, FlagError, Flags, applied_header, request_flags
from server.upstream.call import UpstreamTrace
from server.upstream.client import Upstream

log = logging.getLogger("compatkit.server")

MAX_LOGGED_PATH = 200
"""Characters of a client-chosen path or model name kept in a log line."""
MAX_LOGGED_ERROR = 300


def authorise_client(services: Services, headers: HeaderLookup) -> None:
    """Raise 401 unless the request carries a proxy key (no keys configured: open proxy)."""
    if services.proxy_keys:
        require_key(services.proxy_keys, headers, "API key")


def parse_json_object(raw: bytes | str) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 that says what is wrong with it."""
    if not raw:
        raise ProxyError.invalid_request("Request body is empty; expected a JSON object")
    try:
        body = compat.loads(raw)
    except compat.JSONError as exc:
        if exc.path:  # valid JSON, refused at a place: nested past compat's limit
            raise ProxyError.invalid_request(exc.message, param=exc.path) from None
        raise ProxyError.invalid_request(f"Request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ProxyError.invalid_request("Request body must be a JSON object")
    return body


async def flags_for_request(services: Services, headers: HeaderLookup) -> Flags:
    """The flags this request runs with; an override needs the admin key."""
    base = await services.flags.current()
    header = headers.get(FLAG_OVERRIDE_HEADER)
    if header is None:
        return base
    if not services.admin_keys.accepts(headers.get(ADMIN_KEY_HEADER)):
        raise ProxyError(
            403,
            "permission_error",
            f"{FLAG_OVERRIDE_HEADER} needs the admin key in {ADMIN_KEY_HEADER}",
        )
    try:
        return request_flags(base, header, authorised=True)
    except FlagError as exc:
        raise ProxyError.invalid_request(str(exc)) from None


def flags_applied(services: Services, headers: HeaderLookup, flags: Flags) -> str | None:
    """What `flags` are, for the response header; only for a request with the admin key:
    which rollout arm served a request is the operator's business, not every client's."""
    if services.admin_keys.accepts(headers.get(ADMIN_KEY_HEADER)):
        return applied_header(flags)
    return None


def resolve_model(services: Services, body: dict[str, Any]) -> tuple[str, str]:
    """(client model, upstream model); 400 if `model` is not a string, 404 if unknown."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise ProxyError.invalid_request("must be a non-empty string", param="model")
    upstream_model = services.catalogue.upstream_for(model)
    if upstream_model is None:
        raise ProxyError(404, "not_found_error", f"model: {model}", param="model")
    return model, upstream_model


def stream_flag(body: dict[str, Any]) -> bool:
    """The `stream` field: absent or false → False; anything but a boolean → 400."""
    stream = body.get("stream", False)
    if stream is None:
        return False
    if not isinstance(stream, bool):
        raise ProxyError.invalid_request("must be a boolean", param="stream")
    return stream


def require_upstream(services: Services) -> Upstream:
    """The upstream client; 503 when the proxy has none."""
    if services.upstream is None:
        raise ProxyError(503, "api_error", "No upstream is configured for this proxy")
    return services.upstream


def record_answer(
    services: Services,
    *,
    request_id: str,
    method: str,
    path: str,
    route: str,
    model: str,
    status: int,
    elapsed: float,
    stream: bool,
    flags: Flags | None = None,
    client_model: str = "-",
    trace: UpstreamTrace | None = None,
    error: ProxyError | None = None,
) -> None:
    """Count a request whose answer starts now, `elapsed` seconds after it arrived (TTFB, E2E
    unless it streams, requests by status; `flags` the arm it ran in, None where no flag
    applies), and write its access log line: the request, its models, what the upstream
    call did (`trace`), the flags, and the error it was answered with."""
    metrics = services.metrics
    arm = metrics.flags_label(flags)
    metrics.ttfb.labels(route, arm).observe(elapsed)
    if not stream:
        metrics.e2e.labels(route, model, arm).observe(elapsed)
    metrics.requests.labels(route, model, str(status)).inc()
    if log.isEnabledFor(logging.INFO):
        fields: dict[str, object] = {
            "request_id": request_id,
            "method": method,
            "path": path[:MAX_LOGGED_PATH],
            "route": route,
            "client_model": client_model[:MAX_LOGGED_PATH],
            "model": model,
            "status": status,
            "duration_ms": round(elapsed * 1000, 3),
            "stream": stream,
            "flags": arm if flags is not None else "-",
            **upstream_fields(trace),
        }
        if error is not None:
            fields["error_type"] = error.error_type
            fields["error"] = error.message[:MAX_LOGGED_ERROR]
        log.info("request", extra=fields)


def upstream_fields(
    trace: UpstreamTrace | None,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
) -> dict[str, object]:
    """The log fields of an upstream call: its credential's id (never its secret), its
    attempts, and the tokens counted (the trace's, unless given: a stream's, at its end)."""
    if trace is None:
        return {"credential": "-", "attempts": 0}
    fields: dict[str, object] = {"credential": trace.credential, "attempts": trace.attempts}
    tokens_in = trace.input_tokens if input_tokens is None else input_tokens
    tokens_out = trace.output_tokens if output_tokens is None else output_tokens
    if tokens_in is not None:
        fields["input_tokens"] = tokens_in
    if tokens_out is not None:
        fields["output_tokens"] = tokens_out
    return fields


def json_response(document: object, status: int = 200) -> Response:
    """`document` as a JSON response of a Quart route."""
    return Response(compat.dumps(document), status=status, content_type="application/json")

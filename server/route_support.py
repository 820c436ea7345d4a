"""What every model route does before and after talking upstream.

Operations:
    authorise_client(services)                 proxy key check (401 in the route's envelope)
    await read_json_object() -> dict           the body: 413 over the limit, 400 when not a
                                               JSON object (malformed, lone bytes, too deep)
    await flags_for_request(services) -> Flags the store's flags plus an admin-authorised
                                               `x-compatkit-flags` override
    resolve_model(services, body) -> (client model, upstream model)   400 / 404
    await begin_model_request(services) -> ModelRequest   all of the above for a model route,
                                               with the stream flag and compat's options
    require_upstream(services) -> Upstream     503 while no upstream is configured
    stream_response(services, stream, dialect) -> Response            SSE, metrics on close
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, cast

from quart import Response, g, request

import compat
from server.auth import ADMIN_KEY_HEADER, require_key
from server.errors import ProxyError
from server.flags import FLAG_OVERRIDE_HEADER, FlagError, Flags, request_flags
from server.services import Services
from server.streaming import StreamBody, StreamDialect, StreamResult, register_cleanup
from server.upstream import OpenStream, Upstream

log = logging.getLogger("compatkit.server")


def authorise_client(services: Services) -> None:
    """Raise 401 unless the request carries a proxy key (no keys configured: open proxy)."""
    if services.proxy_keys:
        require_key(services.proxy_keys, request.headers, "API key")


async def read_json_object() -> dict[str, Any]:
    """The request body as a JSON object, or a 400 that says what is wrong with it."""
    raw = await request.get_data(cache=False)
    if not raw:
        raise ProxyError.invalid_request("Request body is empty; expected a JSON object")
    try:
        body = compat.loads(raw)
    except compat.JSONError as exc:
        raise ProxyError.invalid_request(f"Request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ProxyError.invalid_request("Request body must be a JSON object")
    return body


async def flags_for_request(services: Services) -> Flags:
    """The flags this request runs with; an override needs the admin key."""
    base = await services.flags.current()
    header = request.headers.get(FLAG_OVERRIDE_HEADER)
    if header is None:
        return base
    if not services.admin_keys.accepts(request.headers.get(ADMIN_KEY_HEADER)):
        raise ProxyError(
            403,
            "permission_error",
            f"{FLAG_OVERRIDE_HEADER} needs the admin key in {ADMIN_KEY_HEADER}",
        )
    try:
        return request_flags(base, header, authorised=True)
    except FlagError as exc:
        raise ProxyError.invalid_request(str(exc)) from None


def resolve_model(services: Services, body: dict[str, Any]) -> tuple[str, str]:
    """(client model, upstream model); 400 if `model` is not a string, 404 if unknown."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise ProxyError.invalid_request("must be a non-empty string", param="model")
    upstream_model = services.catalogue.upstream_for(model)
    if upstream_model is None:
        raise ProxyError(404, "not_found_error", f"model: {model}", param="model")
    g.model = upstream_model
    return model, upstream_model


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """A client request for a model, authorised and read, before conversion."""

    body: dict[str, Any]
    client_model: str
    upstream_model: str
    stream: bool
    flags: Flags
    options: compat.ConversionOptions


async def begin_model_request(services: Services) -> ModelRequest:
    """Authorise, read the body, resolve the model and the flags of a model route's request."""
    authorise_client(services)
    body = await read_json_object()
    client_model, upstream_model = resolve_model(services, body)
    stream = stream_flag(body)
    flags = await flags_for_request(services)
    options = compat.ConversionOptions(
        fast_path=flags.ff_converter_fast_path,
        schema_mode=services.schema_mode,
        upstream_model=upstream_model,
    )
    return ModelRequest(body, client_model, upstream_model, stream, flags, options)


def require_upstream(services: Services) -> Upstream:
    """The upstream client; 503 when the proxy has none."""
    if services.upstream is None:
        raise ProxyError(503, "api_error", "No upstream is configured for this proxy")
    return services.upstream


def stream_flag(body: dict[str, Any]) -> bool:
    """The `stream` field: absent or false → False; anything but a boolean → 400."""
    stream = body.get("stream", False)
    if stream is None:
        return False
    if not isinstance(stream, bool):
        raise ProxyError.invalid_request("must be a boolean", param="stream")
    return stream


def stream_response(services: Services, stream: OpenStream, dialect: StreamDialect) -> Response:
    """The SSE response relaying `stream`; TTFT, E2E and stream errors counted when it ends."""
    metrics = services.metrics
    route, model, started, request_id = g.route, g.model, g.started, g.request_id
    started_loop = _loop_time() - (time.monotonic() - started)

    def on_close(result: StreamResult) -> None:
        if result.first_content_at is not None:
            metrics.ttft.labels(route, model).observe(result.first_content_at - started_loop)
        metrics.e2e.labels(route, model).observe(time.monotonic() - started)
        if result.error_type is not None:
            metrics.stream_errors.labels(route, result.error_type).inc()
        metrics.in_flight.labels(route).dec()
        log.info(
            "stream closed",
            extra={
                "request_id": request_id,
                "route": route,
                "model": model,
                "duration_ms": round((time.monotonic() - started) * 1000, 3),
                "complete": result.complete,
                "error_type": result.error_type or "",
            },
        )

    body = StreamBody(
        stream, dialect, ping_interval=services.config.ping_interval, on_close=on_close
    )
    register_cleanup(cast("dict[str, Any]", request.scope), body.aclose)
    g.streaming = True
    response = Response(body, status=200, content_type="text/event-stream; charset=utf-8")
    response.headers["cache-control"] = "no-cache"
    response.headers["x-accel-buffering"] = "no"
    response.timeout = None
    return response


def _loop_time() -> float:
    return asyncio.get_running_loop().time()

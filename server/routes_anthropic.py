"""Anthropic Messages routes: `POST /v1/messages`, `POST /v1/messages/count_tokens`,
`GET /v1/models`, `GET /v1/models/{model_id}`.

Plan per request: authorise, read the body, resolve the model, convert with compat (the
request's `ff_converter_fast_path` arm), call upstream (non-stream: the whole reply, converted
with `compat.to_anthropic_message`; stream: `compat.StreamTranslator` fed the raw upstream
bytes, relayed as they arrive). Every failure is a ProxyError in the Anthropic envelope.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, g, request

import compat
from server.errors import ProxyError
from server.route_support import (
    authorise_client,
    begin_model_request,
    flags_for_request,
    read_json_object,
    require_upstream,
    resolve_model,
    stream_response,
)
from server.services import Services
from server.streaming import ANTHROPIC_DIALECT
from server.upstream import UpstreamCall

_MAX_PAGE = 1000


def blueprint(services: Services) -> Blueprint:
    """The Anthropic routes of one app."""
    routes = Blueprint("anthropic", __name__)

    @routes.post("/v1/messages")
    async def create_message() -> Response:
        req = await begin_model_request(services)
        client_model = req.client_model
        gemini = _convert(req.body, req.options)
        upstream = require_upstream(services)
        stop_sequences = _stop_sequences(req.body)
        method = "streamGenerateContent" if req.stream else "generateContent"
        call = UpstreamCall(req.upstream_model, method, gemini, req.flags, g.started)
        if req.stream:
            open_stream = await upstream.open_stream(
                call,
                lambda: compat.StreamTranslator(model=client_model, stop_sequences=stop_sequences),
            )
            return stream_response(services, open_stream, ANTHROPIC_DIALECT)
        reply = await upstream.generate(call)
        message = compat.to_anthropic_message(
            reply, model=client_model, stop_sequences=stop_sequences
        )
        return _json(message)

    @routes.post("/v1/messages/count_tokens")
    async def count_tokens() -> Response:
        authorise_client(services)
        body = await read_json_object()
        _, upstream_model = resolve_model(services, body)
        flags = await flags_for_request(services)
        options = compat.ConversionOptions(upstream_model=upstream_model)
        # count_tokens has no max_tokens; the converter wants one and it changes nothing counted.
        gemini = _convert({**body, "max_tokens": 1, "stream": False}, options)
        counted: dict[str, Any] = {
            k: gemini[k] for k in ("contents", "systemInstruction", "tools") if k in gemini
        }
        upstream = require_upstream(services)
        call = UpstreamCall(upstream_model, "countTokens", counted, flags, g.started)
        reply = await upstream.generate(call)
        total = reply.get("totalTokens")
        if not isinstance(total, int) or isinstance(total, bool):
            raise ProxyError(502, "api_error", "Upstream countTokens answered without totalTokens")
        return _json({"input_tokens": total})

    @routes.get("/v1/models")
    async def list_models() -> Response:
        authorise_client(services)
        limit = _limit(request.args.get("limit"))
        page = services.catalogue.page(
            after_id=request.args.get("after_id"),
            before_id=request.args.get("before_id"),
            limit=limit,
        )
        return _json(page)

    @routes.get("/v1/models/<path:model_id>")
    async def get_model(model_id: str) -> Response:
        authorise_client(services)
        if services.catalogue.upstream_for(model_id) is None:
            raise ProxyError(404, "not_found_error", f"model: {model_id}")
        return _json(services.catalogue.info(model_id))

    return routes


def _convert(body: dict[str, Any], options: compat.ConversionOptions) -> dict[str, Any]:
    try:
        return compat.to_gemini_request(body, options=options)
    except compat.RequestError as exc:
        raise ProxyError.from_request_error(exc) from None


def _stop_sequences(body: dict[str, Any]) -> tuple[str, ...]:
    value = body.get("stop_sequences")
    if isinstance(value, list):
        return tuple(item for item in value if isinstance(item, str))
    return ()


def _limit(value: str | None) -> int:
    if value is None:
        return 20
    try:
        limit = int(value)
    except ValueError:
        raise ProxyError.invalid_request("must be an integer", param="limit") from None
    if not 1 <= limit <= _MAX_PAGE:
        raise ProxyError.invalid_request(f"must be between 1 and {_MAX_PAGE}", param="limit")
    return limit


def _json(document: Any, status: int = 200) -> Response:
    return Response(compat.dumps(document), status=status, content_type="application/json")


__all__ = ["blueprint"]

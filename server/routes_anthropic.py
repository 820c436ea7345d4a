"""The Anthropic routes served by Quart: `POST /v1/messages/count_tokens`, `GET /v1/models`,
`GET /v1/models/{model_id}`. (`POST /v1/messages` is in server.model_routes.)

Plan per request: authorise, read the body, resolve the model, convert with compat, call
upstream `countTokens`. Every failure is a ProxyError in the Anthropic envelope.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, g, request

import compat
from server.errors import ProxyError
from server.route_support import (
    authorise_client,
    flags_for_request,
    parse_json_object,
    require_upstream,
    resolve_model,
)
from server.services import Services
from server.upstream import UpstreamCall

_MAX_PAGE = 1000


def blueprint(services: Services) -> Blueprint:
    """The Anthropic routes of one app."""
    routes = Blueprint("anthropic", __name__)

    @routes.post("/v1/messages/count_tokens")
    async def count_tokens() -> Response:
        authorise_client(services, request.headers)
        body = parse_json_object(await request.get_data(cache=False))
        _, upstream_model = resolve_model(services, body)
        g.model = upstream_model
        flags = await flags_for_request(services, request.headers)
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
        authorise_client(services, request.headers)
        limit = _limit(request.args.get("limit"))
        page = services.catalogue.page(
            after_id=request.args.get("after_id"),
            before_id=request.args.get("before_id"),
            limit=limit,
        )
        return _json(page)

    @routes.get("/v1/models/<path:model_id>")
    async def get_model(model_id: str) -> Response:
        authorise_client(services, request.headers)
        if services.catalogue.upstream_for(model_id) is None:
            raise ProxyError(404, "not_found_error", f"model: {model_id}")
        return _json(services.catalogue.info(model_id))

    return routes


def _convert(body: dict[str, Any], options: compat.ConversionOptions) -> dict[str, Any]:
    try:
        return compat.to_gemini_request(body, options=options)
    except compat.RequestError as exc:
        raise ProxyError.from_request_error(exc) from None


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

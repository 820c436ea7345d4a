"""`POST /v1/messages/count_tokens`, served by Quart (`POST /v1/messages` is in
server.edge.generation_routes).

Plan per request: authorise, read the body, resolve the model, convert with compat, call
upstream `countTokens`. Every failure is a ProxyError in the Anthropic envelope.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, g, request

import compat
from server.edge.route_steps import (
    authorise_client,
    flags_applied,
    flags_for_request,
    json_response,
    parse_json_object,
    require_upstream,
    resolve_model,
)
from server.edge.services import Services
from server.errors import ProxyError
from server.flags import FLAGS_APPLIED_HEADER
from server.upstream.call import UpstreamCall


def blueprint(services: Services) -> Blueprint:
    """The token count route of one app."""
    routes = Blueprint("token_count", __name__)

    @routes.post("/v1/messages/count_tokens")
    async def count_tokens() -> Response:
        authorise_client(services, request.headers)
        body = parse_json_object(await request.get_data(cache=False))
        g.client_model, upstream_model = resolve_model(services, body)
        g.model = upstream_model
        flags = await flags_for_request(services, request.headers)
        options = compat.ConversionOptions(upstream_model=upstream_model)
        # count_tokens has no max_tokens; the converter wants one and it changes nothing counted.
        gemini = _convert({**body, "max_tokens": 1, "stream": False}, options)
        counted: dict[str, Any] = {
            k: gemini[k] for k in ("contents", "systemInstruction", "tools") if k in gemini
        }
        upstream = require_upstream(services)
        call = UpstreamCall(upstream_model, "countTokens", counted, flags, g.started, g.request_id)
        g.trace = call.trace
        reply = await upstream.generate(call)
        total = reply.get("totalTokens")
        if not isinstance(total, int) or isinstance(total, bool):
            raise ProxyError(502, "api_error", "Upstream countTokens answered without totalTokens")
        response = json_response({"input_tokens": total})
        applied = flags_applied(services, request.headers, flags)
        if applied is not None:
            response.headers[FLAGS_APPLIED_HEADER] = applied
        return response

    return routes


def _convert(body: dict[str, Any], options: compat.ConversionOptions) -> dict[str, Any]:
    try:
        return compat.to_gemini_request(body, options=options)
    except compat.RequestError as exc:
        raise ProxyError.from_request_error(exc) from None


__all__ = ["blueprint"]

"""`GET /v1/models` and `GET /v1/models/{model_id}`, served by Quart: the Anthropic shapes of
the model catalogue (server.edge.model_catalogue). Failures are ProxyErrors in the Anthropic
envelope.
"""

from __future__ import annotations

from quart import Blueprint, Response, request

from server.edge.route_steps import authorise_client, json_response
from server.edge.services import Services
from server.errors import ProxyError

_MAX_PAGE = 1000


def blueprint(services: Services) -> Blueprint:
    """The model list routes of one app."""
    routes = Blueprint("model_list", __name__)

    @routes.get("/v1/models")
    async def list_models() -> Response:
        authorise_client(services, request.headers)
        limit = _limit(request.args.get("limit"))
        page = services.catalogue.page(
            after_id=request.args.get("after_id"),
            before_id=request.args.get("before_id"),
            limit=limit,
        )
        return json_response(page)

    @routes.get("/v1/models/<path:model_id>")
    async def get_model(model_id: str) -> Response:
        authorise_client(services, request.headers)
        if services.catalogue.upstream_for(model_id) is None:
            raise ProxyError(404, "not_found_error", f"model: {model_id}")
        return json_response(services.catalogue.info(model_id))

    return routes


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


__all__ = ["blueprint"]

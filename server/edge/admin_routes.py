"""The admin API (admin key required, `x-api-key` or `Authorization: Bearer`):

    GET    /admin/flags                      flags in force and their configured defaults
    PUT    /admin/flags                      {"ff_...": true, ...}: set several at once
    PUT    /admin/flags/{name}               {"value": true}: set one
    DELETE /admin/flags/{name}               back to the configured default
    GET    /admin/credentials                every credential: state, in-flight, error rate,
                                             cooldowns, disabled reason (secrets masked)
    POST   /admin/credentials/{id}/disable   {"reason": "..."} (optional)
    POST   /admin/credentials/{id}/enable
    DELETE /admin/credentials/{id}/cooldowns  end every cooldown of the credential

With no admin key configured the admin API answers 403: it is off, not open.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from quart import Blueprint, Response, request

from server.credentials.scheduler import CredentialBoard
from server.edge.auth import require_key
from server.edge.route_steps import json_response, parse_json_object
from server.edge.services import Services
from server.errors import ProxyError
from server.flags import FlagError


def blueprint(services: Services) -> Blueprint:
    """The admin routes of one app."""
    routes = Blueprint("admin", __name__, url_prefix="/admin")

    @routes.before_request
    async def _authorise() -> None:
        if not services.admin_keys:
            raise ProxyError(403, "permission_error", "The admin API is off: no admin key set")
        require_key(services.admin_keys, request.headers, "admin key")

    @routes.get("/flags")
    async def get_flags() -> Response:
        return await _flags_document(services)

    @routes.put("/flags")
    async def put_flags() -> Response:
        body = await _json_object()
        try:
            await services.flags.set_many(body)
        except FlagError as exc:
            raise ProxyError.invalid_request(str(exc)) from None
        return await _flags_document(services)

    @routes.put("/flags/<name>")
    async def put_flag(name: str) -> Response:
        body = await _json_object()
        value = body.get("value")
        if not isinstance(value, bool):
            raise ProxyError.invalid_request("must be true or false", param="value")
        try:
            await services.flags.set(name, value)
        except FlagError as exc:
            raise ProxyError(404, "not_found_error", str(exc)) from None
        return await _flags_document(services)

    @routes.delete("/flags/<name>")
    async def reset_flag(name: str) -> Response:
        try:
            await services.flags.reset(name)
        except FlagError as exc:
            raise ProxyError(404, "not_found_error", str(exc)) from None
        return await _flags_document(services)

    @routes.get("/credentials")
    async def list_credentials() -> Response:
        board = _board(services)
        described = {c.id: c.describe() for c in board.credentials}
        data = [{**described[status.credential], **asdict(status)} for status in board.snapshot()]
        return json_response({"data": data})

    @routes.post("/credentials/<credential_id>/disable")
    async def disable_credential(credential_id: str) -> Response:
        board = _credential_board(services, credential_id)
        reason = "disabled by an operator"
        body = await _optional_body()
        if isinstance(body.get("reason"), str) and body["reason"]:
            reason = body["reason"][:200]
        await board.disable(credential_id, reason)
        return json_response({"id": credential_id, "state": "disabled", "reason": reason})

    @routes.post("/credentials/<credential_id>/enable")
    async def enable_credential(credential_id: str) -> Response:
        board = _credential_board(services, credential_id)
        await board.enable(credential_id)
        return json_response({"id": credential_id, "state": "enabled"})

    @routes.delete("/credentials/<credential_id>/cooldowns")
    async def clear_cooldowns(credential_id: str) -> Response:
        board = _credential_board(services, credential_id)
        status = next(s for s in board.snapshot() if s.credential == credential_id)
        for model in status.cooldowns:
            await board.clear_cooldown(credential_id, model)
        return json_response({"id": credential_id, "cleared": sorted(status.cooldowns)})

    return routes


async def _flags_document(services: Services) -> Response:
    current = await services.flags.current()
    return json_response(
        {"flags": current.as_dict(), "defaults": services.flags.defaults.as_dict()}
    )


def _board(services: Services) -> CredentialBoard:
    if services.board is None:
        raise ProxyError(503, "api_error", "No upstream is configured for this proxy")
    return services.board


def _credential_board(services: Services, credential_id: str) -> CredentialBoard:
    board = _board(services)
    if credential_id not in {c.id for c in board.credentials}:
        raise ProxyError(404, "not_found_error", f"No credential with id {credential_id!r}")
    return board


async def _json_object() -> dict[str, Any]:
    return parse_json_object(await request.get_data(cache=False))


async def _optional_body() -> dict[str, Any]:
    raw = await request.get_data(cache=False)
    return parse_json_object(raw) if raw else {}

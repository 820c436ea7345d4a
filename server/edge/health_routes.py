"""Operational routes: `GET /` and `HEAD /` (200, as Anthropic's edge answers the `HEAD /`
every Claude Code session sends first), `GET /healthz` (the process answers), `GET /readyz`
(it can serve: store open, an upstream configured, at least one credential enabled), `GET /metrics`
(Prometheus text). None of them needs a key: they reveal no secrets, and probes and
scrapers rarely carry one.
"""

from __future__ import annotations

from quart import Blueprint, Response

from server.edge.route_steps import json_response
from server.edge.services import Services


def blueprint(services: Services) -> Blueprint:
    """The health and metrics routes of one app."""
    routes = Blueprint("health", __name__)

    @routes.get("/")  # Quart answers HEAD for every GET route, without the body
    async def root() -> Response:
        return json_response({"status": "ok", "service": "compatkit"}, 200)

    @routes.get("/healthz")
    async def healthz() -> Response:
        return json_response({"status": "ok"}, 200)

    @routes.get("/readyz")
    async def readyz() -> Response:
        problems = []
        if not services.ready:
            problems.append("not started")
        if services.upstream is None:
            problems.append("no upstream configured")
        elif services.board is not None and all(
            state == "disabled" for _, state in services.board.states()
        ):
            problems.append("every upstream credential is disabled")
        if problems:
            return json_response({"status": "unavailable", "problems": problems}, 503)
        return json_response({"status": "ready"}, 200)

    @routes.get("/metrics")
    async def metrics() -> Response:
        body, content_type = services.metrics.render()
        return Response(body, content_type=content_type)

    return routes

"""Operational routes: `GET /` and `HEAD /` (200, as Anthropic's edge answers the `HEAD /`
every Claude Code session sends first), `GET /healthz` (the process answers), `GET /readyz`
(it can serve: store open, an upstream configured, at least one credential enabled and able
to authenticate; the body names the mode: demo or upstream, the upstream kind, which clients
are accepted, and any warning), `GET /metrics`
(Prometheus text). None of them needs a key: they reveal no secrets, and probes and
scrapers rarely carry one.
"""

from __future__ import annotations

import time

from quart import Blueprint, Response

from server.edge.route_steps import json_response
from server.edge.services import Services
from server.edge.start_report import credential_problems, serving_mode


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
        warnings = credential_problems(services) + list(services.config.warnings)
        if not services.ready:
            problems.append("not started")
        if services.upstream is None:
            problems.append("no upstream configured")
        elif services.board is not None:
            usable = _usable_credentials(services)
            if not usable and all(state == "disabled" for _, state in services.board.states()):
                problems.append("every upstream credential is disabled")
            elif not usable:
                problems.append("no enabled upstream credential can authenticate")
        status, code = ("unavailable", 503) if problems else ("ready", 200)
        body: dict[str, object] = {"status": status, **serving_mode(services.config)}
        if problems:
            body["problems"] = problems
        if warnings:
            body["warnings"] = warnings
        return json_response(body, code)

    @routes.get("/metrics")
    async def metrics() -> Response:
        body, content_type = services.metrics.render()
        return Response(body, content_type=content_type)

    return routes


def _usable_credentials(services: Services) -> list[str]:
    """Ids of credentials neither disabled nor unable to authenticate (an expired token)."""
    assert services.board is not None
    now = time.time()
    states = dict(services.board.states())
    return [
        c.id
        for c in services.board.credentials
        if states[c.id] != "disabled" and c.problem(now) is None
    ]

"""The reference proxy's app factory: `create_app(config) -> Quart`.

Operations:
    create_app(config, *, timeouts=None, rng=None) -> Quart
    services_of(app) -> Services          what the routes share (store, flags, upstream, ...)

Plan: everything an app needs lives on one `Services` object in `app.extensions`, built by
the factory and opened in `before_serving` (store, credentials, the credential board, the
upstream client), closed in `after_serving`; no globals, nothing at import time, so several
apps run side by side in one process (tests, duet benchmarks). The two generation routes
are raw ASGI in front of Quart (server.edge.generation_routes); Quart serves the rest.
A demo app (the emulator as upstream) marks every answer (server.edge.demo_marker). At start
the app logs its mode, credentials, flags and state (server.edge.start_report).
Request hooks (and the generation routes, alike) give every request an id (`request-id`
header, log records), count it in the metrics, and add a `server-timing` header with the
proxy's own time to non-stream responses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
from pathlib import Path
from types import TracebackType

from quart import Quart, Response, g, request

from server.config import Config
from server.credentials.credential import load_credentials
from server.credentials.scheduler import CredentialBoard, Schedulers
from server.edge import admin_routes, health_routes, model_list_routes, token_count_routes
from server.edge.auth import KeyRing
from server.edge.demo_marker import DemoMarker
from server.edge.early_answers import CloseAfterUnreadBody
from server.edge.envelopes import install_error_handlers
from server.edge.generation_routes import GenerationRoutes
from server.edge.model_catalogue import ModelCatalogue
from server.edge.route_steps import record_answer
from server.edge.services import SchemaMode, Services
from server.edge.start_report import log_start_report
from server.errors import ServerError, StartupError
from server.flags import FlagService
from server.metrics import ProxyMetrics, route_label
from server.panel import routes as panel_routes
from server.state.factory import open_store
from server.upstream.client import Upstream
from server.upstream.transports import UpstreamTimeouts

log = logging.getLogger("compatkit.server")
_EXTENSION = "compatkit"

SHARED_SYNC_INTERVAL = 0.25
"""Seconds between two reads of the shared state (flags, cooldowns, disabled credentials): with
Redis, what one instance changes applies on every other within this plus one round trip."""


class _ProxyApp(Quart):
    """Quart, leaving a failed start-up to the server's one-line report (the lifespan's
    failure message, server.hypercorn_serving); its traceback is logged at debug level."""

    def log_exception(
        self,
        exception_info: tuple[type, BaseException, TracebackType] | tuple[None, None, None],
    ) -> None:
        if isinstance(exception_info[1], StartupError):
            log.debug("start-up failed", exc_info=exception_info)
            return
        super().log_exception(exception_info)


def services_of(app: Quart) -> Services:
    """The Services object of an app made by create_app."""
    services: Services = app.extensions[_EXTENSION]
    return services


def create_app(
    config: Config,
    *,
    timeouts: UpstreamTimeouts | None = None,
    rng: random.Random | None = None,
    schema_mode: SchemaMode | None = None,
) -> Quart:
    """A proxy app for `config`. Serve it with Hypercorn (see server.serve).

    `schema_mode` overrides `config.schema_mode`: client tool schemas go upstream cleaned into
    Gemini's `parameters` Schema subset (the default) or as JSON Schema (`parametersJsonSchema`,
    what gemini-cli sends for MCP tools).
    """
    app = _ProxyApp("compatkit", static_folder=None)
    app.config.update(
        MAX_CONTENT_LENGTH=config.max_body_bytes,
        BODY_TIMEOUT=60,
        RESPONSE_TIMEOUT=None,  # streams last as long as the generation
        PROVIDE_AUTOMATIC_OPTIONS=False,
    )
    store = open_store(config.state_path, url=config.state_url, prefix=config.state_prefix)

    def credential_states() -> list[tuple[str, str]]:
        return services.credential_states()

    services = Services(
        config=config,
        store=store,
        flags=FlagService(store, config.flags),
        metrics=ProxyMetrics(
            credential_states, store.status, models=config.models.upstream_models()
        ),
        catalogue=ModelCatalogue(config.models),
        proxy_keys=KeyRing(config.proxy_keys),
        admin_keys=KeyRing([config.admin_key] if config.admin_key else []),
        timeouts=timeouts or UpstreamTimeouts(),
        rng=rng or random.Random(),
        schema_mode=schema_mode or config.schema_mode,
    )
    app.extensions[_EXTENSION] = services

    install_error_handlers(app)
    _install_request_hooks(app, services)

    @app.before_serving
    async def _startup() -> None:
        try:
            await _start(services)
        except ServerError as exc:  # its message is the reason
            raise StartupError(str(exc)) from exc
        except Exception as exc:  # unforeseen: named by its type
            raise StartupError(f"start-up failed: {type(exc).__name__}: {exc}") from exc

    @app.after_serving
    async def _shutdown() -> None:
        await _stop(services)

    for module in (health_routes, admin_routes, token_count_routes, model_list_routes):
        app.register_blueprint(module.blueprint(services))
    app.register_blueprint(
        panel_routes.blueprint(services, reports_dir=Path(config.panel_reports_dir))
    )
    # The generation routes are raw ASGI in front of Quart (server.edge.generation_routes says why).
    app.asgi_app = GenerationRoutes(  # type: ignore[method-assign,assignment]
        services, CloseAfterUnreadBody(app.asgi_app)
    )
    if config.demo:  # every answer says it is the emulator's
        app.asgi_app = DemoMarker(app.asgi_app)  # type: ignore[method-assign,assignment]
    return app


async def _start(services: Services) -> None:
    await services.store.open()
    upstream_config = services.config.upstream
    if upstream_config is not None:
        credentials = load_credentials(upstream_config)
        board = CredentialBoard(
            credentials,
            services.store,
            limit=upstream_config.max_in_flight,
            slot_wait=upstream_config.max_in_flight_wait,
        )
        await board.load()
        services.board = board
        services.schedulers = Schedulers(board, services.rng)
        services.upstream = Upstream(
            services.config,
            upstream_config,
            services.schedulers,
            services.metrics,
            timeouts=services.timeouts,
            rng=services.rng,
        )
    else:
        log.warning("no upstream configured: generation routes answer 503")
    if not services.config.proxy_keys:
        log.warning("no proxy keys configured: the API routes accept any client")
    await log_start_report(services)
    if services.store.status().shared:
        services.extra["shared_state_sync"] = asyncio.ensure_future(_sync_shared_state(services))
    services.ready = True


async def _sync_shared_state(services: Services) -> None:
    """With a shared store: take in other instances' flags, cooldowns and disabled
    credentials every SHARED_SYNC_INTERVAL, so requests never wait on the store for them."""
    while True:
        await asyncio.sleep(SHARED_SYNC_INTERVAL)
        try:
            await services.flags.refresh()
            if services.board is not None:
                await services.board.sync()
        except Exception:  # a bad round must not end the loop; the next one retries
            log.exception("shared state sync failed")


async def _stop(services: Services) -> None:
    services.ready = False
    sync = services.extra.pop("shared_state_sync", None)
    if sync is not None:
        sync.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sync
    if services.upstream is not None:
        await services.upstream.aclose()
    if services.board is not None:
        await services.board.close()
    await services.store.close()


def _install_request_hooks(app: Quart, services: Services) -> None:
    metrics = services.metrics

    @app.before_request
    async def _begin() -> None:
        g.request_id = "req_" + secrets.token_hex(12)
        g.started = time.monotonic()
        rule = request.url_rule
        g.route = route_label(rule.rule) if rule is not None else "unmatched"
        g.model = "-"
        metrics.in_flight.labels(g.route).inc()
        g.in_flight = True

    @app.after_request
    async def _finish(response: Response) -> Response:
        request_id = getattr(g, "request_id", "")
        if request_id:
            response.headers["request-id"] = request_id
        route, model = getattr(g, "route", "unmatched"), getattr(g, "model", "-")
        started = getattr(g, "started", None)
        if started is None:  # answered before the hooks ran: counted only
            metrics.requests.labels(route, model, str(response.status_code)).inc()
            return response
        elapsed = time.monotonic() - started
        response.headers["server-timing"] = f"proxy;dur={elapsed * 1000:.3f}"
        record_answer(
            services,
            request_id=request_id,
            method=request.method,
            path=request.path,
            route=route,
            model=model,
            status=response.status_code,
            elapsed=elapsed,
            stream=False,  # Quart's routes do not stream (server.edge.generation_routes do)
            client_model=getattr(g, "client_model", "-"),
            trace=getattr(g, "trace", None),
            error=getattr(g, "error", None),
        )
        return response

    @app.teardown_request
    async def _teardown(exc: BaseException | None) -> None:
        if getattr(g, "in_flight", False):
            metrics.in_flight.labels(g.route).dec()
            g.in_flight = False

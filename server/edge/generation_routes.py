"""The generation routes, `POST /v1/messages` and `POST /v1/chat/completions`, as raw ASGI.

Operations:
    GenerationRoutes(services, app, *, body_timeout=BODY_TIMEOUT)
                                 an ASGI app: answers the two generation routes itself and hands
                                 every other request (and the lifespan) to `app`, the Quart
                                 app's own ASGI callable

Why not Quart routes: these two routes carry nearly all of the proxy's traffic, and Quart's
per-request machinery (a Request object with werkzeug headers, two tasks per request, the
request hooks and the response wrapper) costs ~0.27 ms of CPU per request on the reference
2-core machine, a fifth of what the proxy adds to a streamed reply (docs/performance.md).
Everything else (admin API, models, count_tokens, health, metrics) stays in Quart.

Plan per request (the two routes differ only in their `_Route`):
    1. a request id, the in-flight gauge; the proxy key is checked before the body is read;
    2. the body (413 over the limit, 408 when it does not arrive), parsed; the model, the
       flags (an admin-authorised override honoured), compat's conversion;
    3. non-stream: the upstream reply converted and answered as JSON with `server-timing`;
       stream: `server.edge.stream_relay.StreamBody` relayed as the chunks arrive;
    4. every failure is a ProxyError answered in the route's envelope; a bug is a 500 in it.
A watcher task cancels the request when the client disconnects, which cancels the upstream
call at once. HTTP/1.x answers that leave request bytes unread say `connection: close`
(server.edge.early_answers explains why); HTTP/2 answers of that kind end only once the
body did. Metrics and log lines are those of the Quart routes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import compat
from server.edge.early_answers import (
    HTTP1_VERSIONS,
    announces_body,
    body_pending,
    drain_request_body,
)
from server.edge.envelopes import Envelope, error_body, stream_error_event
from server.edge.route_steps import (
    authorise_client,
    flags_applied,
    flags_for_request,
    parse_json_object,
    record_answer,
    require_upstream,
    resolve_model,
    stream_flag,
    upstream_fields,
)
from server.edge.services import Services
from server.edge.stream_relay import (
    ANTHROPIC_DIALECT,
    OPENAI_DIALECT,
    StreamBody,
    StreamDialect,
    StreamResult,
)
from server.errors import ProxyError
from server.flags import FLAGS_APPLIED_HEADER, Flags
from server.upstream.call import UpstreamCall
from server.upstream.stream import OpenStream, Translator

log = logging.getLogger("compatkit.server")

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
Body = dict[str, Any]

BODY_TIMEOUT = 60.0
"""Seconds a client may take to send its request body (then 408)."""

_JSON = (b"content-type", b"application/json")
_SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


@dataclass(frozen=True, slots=True)
class _Route:
    """What one generation route does differently: its protocol's converters and envelope."""

    path: str
    envelope: Envelope
    dialect: StreamDialect
    to_gemini: Callable[[Body, compat.ConversionOptions], Body]
    new_translator: Callable[[Body, str], Translator]  # (request body, client model)
    to_client: Callable[[Body, Body, str], Body]  # (upstream reply, request body, client model)


def _anthropic_stop(body: Body) -> tuple[str, ...]:
    value = body.get("stop_sequences")
    if isinstance(value, list):
        return tuple(item for item in value if isinstance(item, str))
    return ()


def _openai_stop(body: Body) -> tuple[str, ...]:
    value = body.get("stop")
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(item for item in value if isinstance(item, str))
    return ()


def _include_usage(body: Body) -> bool:
    options = body.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


ANTHROPIC_MESSAGES = _Route(
    path="/v1/messages",
    envelope="anthropic",
    dialect=ANTHROPIC_DIALECT,
    to_gemini=lambda body, options: compat.to_gemini_request(body, options=options),
    new_translator=lambda body, model: compat.StreamTranslator(
        model=model, stop_sequences=_anthropic_stop(body)
    ),
    to_client=lambda reply, body, model: compat.to_anthropic_message(
        reply, model=model, stop_sequences=_anthropic_stop(body)
    ),
)
OPENAI_CHAT = _Route(
    path="/v1/chat/completions",
    envelope="openai",
    dialect=OPENAI_DIALECT,
    to_gemini=lambda body, options: compat.openai_to_gemini_request(body, options=options),
    new_translator=lambda body, model: compat.OpenAIStreamTranslator(
        model=model, include_usage=_include_usage(body), stop=_openai_stop(body)
    ),
    to_client=lambda reply, body, model: compat.to_openai_completion(
        reply, model=model, stop=_openai_stop(body)
    ),
)


class GenerationRoutes:
    """ASGI app: the generation routes, then `app` for everything else."""

    def __init__(
        self, services: Services, app: ASGIApp, *, body_timeout: float = BODY_TIMEOUT
    ) -> None:
        self.services = services
        self.app = app
        self.body_timeout = body_timeout
        self._routes = {route.path: route for route in (ANTHROPIC_MESSAGES, OPENAI_CHAT)}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        route = self._routes.get(scope["path"]) if scope["type"] == "http" else None
        if route is None:
            await self.app(scope, receive, send)
            return
        exchange = _Exchange(self.services, route, scope, receive, send, self.body_timeout)
        await exchange.run()


class _ClientGone(Exception):
    """The client disconnected before its request was answered."""


class _Exchange:
    """One request on a generation route, from its first byte to its answer's last."""

    def __init__(
        self,
        services: Services,
        route: _Route,
        scope: dict[str, Any],
        receive: Any,
        send: Any,
        body_timeout: float,
    ) -> None:
        self.services = services
        self.body_timeout = body_timeout
        self.route = route
        self.scope = scope
        self.receive = receive
        self.send = send
        self.request_id = "req_" + secrets.token_hex(12)
        self.started = time.monotonic()
        self.model = "-"  # the upstream model, once resolved (a metrics label)
        self.client_model = "-"  # the model the client asked for (the access log)
        self.flags: Flags | None = None  # the flags it runs with, once read
        self.call: UpstreamCall | None = None  # once made: its trace is logged
        self.error: ProxyError | None = None  # what the request was answered with
        self.headers = _header_dict(scope["headers"])
        self.body_read = False
        self.response_started = False
        self.answered = False
        self.client_gone = False

    # --- the request ------------------------------------------------------------------------

    async def run(self) -> None:
        """Answer the request; never raises, except to let a server shutdown cancel it."""
        in_flight = self.services.metrics.in_flight.labels(self.route.path)
        in_flight.inc()
        watcher: asyncio.Task[None] | None = None
        try:
            if self.scope["method"] != "POST":
                raise _method_not_allowed(self.scope["method"], self.route.path)
            authorise_client(self.services, self.headers)
            body = parse_json_object(await self._read_body())
            watcher = self._watch_disconnect()
            await self._answer(body)
        except ProxyError as error:
            await self._answer_failure(error)
        except _ClientGone:
            pass
        except asyncio.CancelledError:
            if not self.client_gone:
                raise  # the server is shutting down
            _uncancel()
        except Exception:
            log.exception("unhandled error", extra={"request_id": self.request_id})
            await self._answer_failure(ProxyError(500, "api_error", "Internal error in the proxy"))
        finally:
            self.answered = True
            if watcher is not None:
                watcher.cancel()
            in_flight.dec()

    async def _read_body(self) -> bytes:
        limit = self.services.config.max_body_bytes
        declared = self.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _too_large()
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.body_timeout):
                while True:
                    message = await self.receive()
                    if message["type"] == "http.disconnect":
                        raise _ClientGone
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > limit:
                        raise _too_large()
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            text = f"The request body did not arrive within {self.body_timeout:g} seconds"
            raise ProxyError(408, "timeout_error", text) from None
        self.body_read = True
        return b"".join(chunks)

    def _watch_disconnect(self) -> asyncio.Task[None]:
        """A task that cancels this request when the client disconnects."""
        request_task = asyncio.current_task()
        assert request_task is not None

        async def watch() -> None:
            while (await self.receive())["type"] != "http.disconnect":
                pass
            if not self.answered:
                self.client_gone = True
                request_task.cancel()

        return asyncio.ensure_future(watch())

    async def _answer(self, body: Body) -> None:
        services, route = self.services, self.route
        client_model, upstream_model = resolve_model(services, body)
        self.model, self.client_model = upstream_model, client_model
        stream = stream_flag(body)
        flags = self.flags = await flags_for_request(services, self.headers)
        options = compat.ConversionOptions(
            fast_path=flags.ff_converter_fast_path,
            schema_mode=services.schema_mode,
            upstream_model=upstream_model,
        )
        try:
            gemini = route.to_gemini(body, options)
        except compat.RequestError as exc:
            raise ProxyError.from_request_error(exc) from None
        upstream = require_upstream(services)
        method = "streamGenerateContent" if stream else "generateContent"
        call = UpstreamCall(upstream_model, method, gemini, flags, self.started, self.request_id)
        self.call = call
        if stream:
            opened = await upstream.open_stream(
                call, lambda: route.new_translator(body, client_model)
            )
            await self._relay(opened)
            return
        reply = await upstream.generate(call)
        await self._send_json(200, compat.dumps(route.to_client(reply, body, client_model)))

    # --- the answer -------------------------------------------------------------------------

    async def _start_response(
        self, status: int, headers: list[tuple[bytes, bytes]], *, stream: bool
    ) -> None:
        """Send the status and headers; count the request as the Quart routes do."""
        elapsed = time.monotonic() - self.started
        headers.append((b"request-id", self.request_id.encode()))
        if not stream:
            headers.append((b"server-timing", f"proxy;dur={elapsed * 1000:.3f}".encode()))
        if self._leaves_body_unread(status):
            headers.append((b"connection", b"close"))
        applied = (
            None if self.flags is None else flags_applied(self.services, self.headers, self.flags)
        )
        if applied is not None:
            headers.append((FLAGS_APPLIED_HEADER.encode(), applied.encode()))
        record_answer(
            self.services,
            request_id=self.request_id,
            method=self.scope["method"],
            path=self.scope["path"],
            route=self.route.path,
            model=self.model,
            status=status,
            elapsed=elapsed,
            stream=stream,
            flags=self.flags,
            client_model=self.client_model,
            trace=None if self.call is None else self.call.trace,
            error=self.error,
        )
        self.response_started = True
        await self.send({"type": "http.response.start", "status": status, "headers": headers})

    def _leaves_body_unread(self, status: int) -> bool:
        return (
            self.scope.get("http_version") in HTTP1_VERSIONS
            and announces_body(self.scope)
            and (not self.body_read or status == 413)
        )

    async def _send_json(
        self, status: int, payload: bytes, extra: dict[str, str] | None = None
    ) -> None:
        headers = [_JSON, (b"content-length", str(len(payload)).encode())]
        for name, value in (extra or {}).items():
            headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
        await self._start_response(status, headers, stream=False)
        if status != 408 and body_pending(self.scope, self.body_read):
            # The answer goes out now; its end waits for the body (early_answers says why).
            await self.send({"type": "http.response.body", "body": payload, "more_body": True})
            await drain_request_body(self.receive, self.body_timeout)
            payload = b""
        await self.send({"type": "http.response.body", "body": payload, "more_body": False})

    async def _answer_failure(self, error: ProxyError) -> None:
        """`error` in the route's envelope, or, once the stream began, as its last event."""
        if self.response_started:
            await self._end_broken_stream(error)
        else:
            await self._send_error(error)

    async def _send_error(self, error: ProxyError) -> None:
        self.error = error
        status, body = error_body(error, self.route.envelope, self.request_id)
        await self._send_json(status, compat.dumps(body), error.headers)

    async def _end_broken_stream(self, error: ProxyError) -> None:
        """A failure after the stream began: an `error` event and the end of the body, so no
        client waits on a stream nobody will finish (Hypercorn's HTTP/2 would leave it open)."""
        if self.route.envelope == "anthropic":
            event = stream_error_event(error)
        else:
            event = error_body(error, "openai", self.request_id)[1]
        with contextlib.suppress(Exception):  # the client may be what broke
            body = self.route.dialect.encode([event])
            await self.send({"type": "http.response.body", "body": body, "more_body": False})

    async def _relay(self, opened: OpenStream) -> None:
        """Send the stream's events as they come; the body is closed whatever happens."""
        body = StreamBody(
            opened,
            self.route.dialect,
            ping_interval=self.services.config.ping_interval,
            on_close=self._stream_closed,
        )
        try:
            await self._start_response(200, list(_SSE_HEADERS), stream=True)
            async for data in body:
                await self.send({"type": "http.response.body", "body": data, "more_body": True})
            await self.send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await body.aclose()

    def _stream_closed(self, result: StreamResult) -> None:
        metrics, path, model = self.services.metrics, self.route.path, self.model
        arm = metrics.flags_label(self.flags)
        now = time.monotonic()
        if result.first_content_at is not None:
            started_loop = asyncio.get_running_loop().time() - (now - self.started)
            metrics.ttft.labels(path, model, arm).observe(result.first_content_at - started_loop)
        metrics.e2e.labels(path, model, arm).observe(now - self.started)
        if result.error_type is not None:
            metrics.stream_errors.labels(path, result.error_type).inc()
        log.info(
            "stream closed",
            extra={
                "request_id": self.request_id,
                "route": path,
                "client_model": self.client_model,
                "model": model,
                "duration_ms": round((now - self.started) * 1000, 3),
                "complete": result.complete,
                "error_type": result.error_type or "",
                "flags": arm,
                **upstream_fields(
                    None if self.call is None else self.call.trace,
                    result.input_tokens,
                    result.output_tokens,
                ),
            },
        )


def _header_dict(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Lower-case header names to values; of a repeated header, the first (as Quart's get)."""
    headers: dict[str, str] = {}
    for name, value in raw:
        headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return headers


def _too_large() -> ProxyError:
    message = "Request body exceeds the maximum allowed number of bytes"
    return ProxyError(413, "request_too_large", message)


def _method_not_allowed(method: str, path: str) -> ProxyError:
    message = f"Method {method} not allowed on {path}"
    return ProxyError(405, "invalid_request_error", message, headers={"allow": "POST"})


def _uncancel() -> None:
    task = asyncio.current_task()
    if task is not None:
        task.uncancel()


__all__ = ["ANTHROPIC_MESSAGES", "BODY_TIMEOUT", "OPENAI_CHAT", "GenerationRoutes"]

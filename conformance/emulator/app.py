"""The emulator as a raw ASGI app: Gemini API v1beta, Code Assist v1internal, OAuth, control routes.

Routes:
- Gemini API (auth: `x-goog-api-key`, `?key=` or `Authorization: Bearer`; `/v1/` is an alias of
  `/v1beta/`, as on Google, since recent google-genai releases default to `v1`):
  `GET /v1beta/models`, `GET /v1beta/models/{model}`,
  `POST /v1beta/models/{model}:generateContent | :streamGenerateContent[?alt=sse] | :countTokens`,
  `POST /v1beta/cachedContents`, `GET|DELETE /v1beta/cachedContents/{id}`.
- Code Assist (auth: Bearer): `POST /v1internal:{generateContent | streamGenerateContent |
  countTokens | loadCodeAssist | onboardUser | ...}`, `GET /v1internal/{operation name}`.
- OAuth: `POST /token` (also `/oauth2/v4/token`), the refresh grant; `POST /revoke` (also
  `/o/oauth2/revoke`), token revocation.
- Account setup a Code Assist proxy does (auth: Bearer): `GET /oauth2/v2/userinfo`,
  `GET /v1/projects`, `POST /v1/projects/{p}/services/{s}:enable` (codeassist.account_answer).
- Control: `GET /_emulator/requests[?since=N]`, `POST /_emulator/reset`, `POST /_emulator/script`
  (arm a scenario for every following request, script.py), `GET /_emulator/health` (200 `{}`:
  what readiness probes ask, readiness.py). Control requests are not recorded.

Goals: the oracle is strict and fast. Strict: every request is authenticated, validated
(validation.py), answered per its scenario (scenarios.py, replies.py, faults.py, capacity.py) and
recorded with its verdict and the reply it got (recorder.py); nothing here imports `compat`. Fast: no framework; routing by
string splits; replies and validation verdicts cached by request bytes (same request and scenario →
same bytes, so a cache is exact); constant headers precomputed; orjson throughout.

Plan: `Emulator.__call__` reads the request, `_route` picks a handler, the handler returns a
`Handled` (a whole response or a planned stream, plus what to record), the call records it and
`_transmit` hands it to wire.py, which applies the scenario's latency, framing, gzip and wire faults.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import orjson

from conformance.emulator import codeassist, google_errors, json_text, replies, validation, wire
from conformance.emulator.capacity import CapacityLedger
from conformance.emulator.faults import FaultPicker, capacity_rejection, fault_rejection
from conformance.emulator.google_errors import Rejection
from conformance.emulator.oauth import TokenIssuer
from conformance.emulator.recorder import Recorder, redact_fields, redact_headers
from conformance.emulator.scenarios import (
    STATUS_FAULTS,
    EmulatorConfig,
    Fault,
    Scenario,
    UnknownScenario,
    credential_id,
    load_config,
    request_marker,
)
from conformance.emulator.script import ScenarioScript, ScriptError

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

MAX_BODY_BYTES = 20 * 1024 * 1024  # Google's request payload limit
SCENARIO_HEADER = b"x-emulator-scenario"
_ACCOUNT_PREFIXES = ("/oauth2/v2/userinfo", "/oauth2/v3/userinfo", "/userinfo/", "/v1/projects")
_CACHE_LIMIT = 1024
# A proto Duration in JSON: seconds, up to nine fraction digits, an `s`; at most 10000 years.
_DURATION = re.compile(r"-?[0-9]+(\.[0-9]{0,9})?s")
_MAX_DURATION_SECONDS = 315_576_000_000
_RECORD_NUMBER = re.compile(r"-?[0-9]{1,18}")


@dataclass(slots=True)
class Request:
    """One received HTTP request, body fully read."""

    method: str
    path: str
    query: dict[str, str]
    headers: list[tuple[bytes, bytes]]
    body: bytes
    route: str = ""  # the path with `/v1/` read as `/v1beta/` (Google serves both)
    http_version: str = "1.1"  # as the server saw it: "1.1", or "2" (TLS h2 or h2c)

    def header(self, name: bytes) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value.decode("latin-1")
        return None


@dataclass(slots=True)
class PlannedStream:
    """A stream reply: encoded JSON chunks, framed at send time (wire.py)."""

    events: tuple[bytes, ...]
    sse: bool


@dataclass(slots=True)
class Handled:
    """A handler's answer: what to send and what to record."""

    status: int
    body: bytes | PlannedStream
    verdict: str
    surface: str = "control"
    parsed: Any = None
    model: str | None = None
    scenario: Scenario | None = None
    credential: str | None = None
    content_type: bytes = wire.JSON
    request_number: int = 0
    chunk_count: int = 1
    fault: Fault | None = None  # a wire fault (drop, stall, malformed_chunk) to apply when sending


@dataclass(slots=True)
class _Call:
    """What a generate/count call resolved to before its reply is built."""

    surface: str
    method: str
    model: str
    body: Any
    credential: str
    scenario: Scenario | None = None
    request_number: int = 0


class _Refused(Exception):
    """A request refused before its reply: carries the Rejection and the verdict to record,
    and the id of the credential it presented when that is what was refused."""

    def __init__(
        self,
        rejection: Rejection,
        verdict: str,
        *,
        array_body: bool = False,
        credential: str | None = None,
    ) -> None:
        super().__init__(verdict)
        self.rejection = rejection
        self.verdict = verdict
        self.array_body = array_body
        self.credential = credential


def create_emulator(
    config: EmulatorConfig | str | Path | None = None,
    *,
    jsonl_path: str | Path | None = None,
) -> Emulator:
    """An emulator ASGI app for `config` (an EmulatorConfig, a TOML path, or the packaged default)."""
    if not isinstance(config, EmulatorConfig):
        config = load_config(config)
    return Emulator(config, jsonl_path=jsonl_path)


class Emulator:
    """The ASGI app; state (records, counters, buckets, caches, onboarding) lives on the instance."""

    def __init__(
        self,
        config: EmulatorConfig,
        *,
        jsonl_path: str | Path | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.config = config
        self.recorder = Recorder(max_records=config.max_records, jsonl_path=jsonl_path)
        self.faults = FaultPicker()
        self.capacity = CapacityLedger()
        self.tokens = TokenIssuer(config)
        self.setup = codeassist.SetupFlow(config.onboarding_polls)
        self.script = ScenarioScript(config)
        self._sleep = sleep
        self._cached_contents: dict[str, dict[str, Any]] = {}
        self._verdicts: dict[tuple[Any, ...], Rejection | None] = {}
        self._replies: dict[tuple[Any, ...], tuple[int, tuple[bytes, ...], bytes]] = {}
        self._models = {m: _model_info(m) for m in config.models}
        self._models_body = orjson.dumps({"models": list(self._models.values())})

    # --- ASGI -------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = await _read_request(scope, receive)
        if request is None:
            handled = _refusal(
                google_errors.invalid_argument(
                    f"Request payload size exceeds the limit: {MAX_BODY_BYTES} bytes."
                ),
                "too_large",
            )
            assert isinstance(handled.body, bytes)
            # The rest of the body is left unread, so the connection cannot carry another
            # request: say so on HTTP/1 (HTTP/2 forbids the header; its stream just ends).
            closing = scope.get("http_version", "1.1").startswith("1")
            await wire.send_whole(
                send, status=handled.status, body=handled.body, connection_close=closing
            )
            return
        handled = self._route(request)
        if not request.path.startswith("/_emulator/"):
            self._record(request, handled)
        await self._transmit(request, handled, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.recorder.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # --- routing ----------------------------------------------------------------------------------

    def _route(self, request: Request) -> Handled:
        path, method = request.path, request.method
        if path.startswith(_ACCOUNT_PREFIXES):
            return self._account(request)
        if path.startswith("/v1/"):
            path = "/v1beta/" + path[4:]
        request.route = path
        try:
            if path.startswith("/v1beta/models"):
                return self._gemini_models(request)
            if path.startswith("/v1internal"):
                return self._code_assist(request)
            if path.startswith("/v1beta/cachedContents"):
                return self._cached_content(request)
            if path in {"/token", "/oauth2/v4/token"} and method == "POST":
                return self._oauth_token(request)
            if path in {"/revoke", "/o/oauth2/revoke"} and method == "POST":
                return self._oauth_revoke(request)
            if path == "/_emulator/requests" and method == "GET":
                return self._records(request)
            if path == "/_emulator/reset" and method == "POST":
                self.reset()
                return Handled(200, b"{}", "control")
            if path == "/_emulator/script" and method == "POST":
                return self._arm_script(request)
            if path == "/_emulator/health" and method == "GET":
                return Handled(200, b"{}", "control")
        except _Refused as refused:
            handled = _refusal(refused.rejection, refused.verdict)
            handled.credential = refused.credential
            return handled
        return _refusal(google_errors.not_found(f"No route for {method} {path}."), "not_found")

    def _records(self, request: Request) -> Handled:
        since = request.query.get("since", "0") or "0"
        if _RECORD_NUMBER.fullmatch(since) is None:
            raise _Refused(
                google_errors.invalid_argument(
                    f"Invalid value for 'since': {json_text.dumps(since).decode()}; "
                    "expected an integer (a record sequence number)."
                ),
                "rejected",
            )
        return Handled(200, json_text.dumps(self.recorder.snapshot(int(since))), "control")

    def _arm_script(self, request: Request) -> Handled:
        try:
            armed = self.script.arm(_parse_json(request.body))
        except ScriptError as exc:
            raise _Refused(
                google_errors.invalid_argument(f"Invalid emulator script: {exc}"), "rejected"
            ) from None
        return Handled(200, orjson.dumps({"scenario": armed.name if armed else None}), "control")

    def reset(self) -> None:
        """Forget records, request counters, buckets, cached contents, cached replies and the
        scripted scenario."""
        self.recorder.reset()
        self.script.disarm()
        self.faults.reset()
        self.capacity.reset()
        self._cached_contents.clear()
        self._replies.clear()

    # --- Gemini API -------------------------------------------------------------------------------

    def _gemini_models(self, request: Request) -> Handled:
        credential = self._authenticate(request, "gemini")
        rest = request.route[len("/v1beta/models") :]
        if request.method == "GET":
            if rest in {"", "/"}:
                return Handled(200, self._models_body, "ok", "gemini", credential=credential)
            info = self._models.get(rest.lstrip("/").removeprefix("models/"))
            if info is None:
                raise _Refused(google_errors.model_not_found(rest.lstrip("/"), "get"), "not_found")
            return Handled(200, orjson.dumps(info), "ok", "gemini", credential=credential)
        model, _, method = rest.lstrip("/").partition(":")
        if request.method != "POST" or method not in {
            "generateContent",
            "streamGenerateContent",
            "countTokens",
        }:
            raise _Refused(
                google_errors.not_found(f"No route for {request.method} {request.path}."),
                "not_found",
            )
        call = _Call("gemini", method, model, None, credential)
        return self._generate_or_count(request, call)

    def _cached_content(self, request: Request) -> Handled:
        credential = self._authenticate(request, "gemini")
        name = request.route.removeprefix("/v1beta/").rstrip("/")
        if request.method == "POST" and name == "cachedContents":
            body = _parse_json(request.body)
            model = str(body.get("model", "")).removeprefix("models/")
            if model not in self._models:
                raise _Refused(
                    google_errors.model_not_found(model, "createCachedContent"), "not_found"
                )
            tokens = replies.count_request_tokens(body)
            ident = hashlib.sha256(request.body).hexdigest()[:12] + f"{len(self._cached_contents)}"
            now = time.time()
            ttl = _duration_seconds(body.get("ttl", "3600s"))
            entry: dict[str, Any] = {
                "name": f"cachedContents/{ident}",
                "model": f"models/{model}",
                "createTime": _timestamp(now),
                "updateTime": _timestamp(now),
                "expireTime": _timestamp(now + ttl),
                "usageMetadata": {"totalTokenCount": tokens},
            }
            if "displayName" in body:
                entry["displayName"] = body["displayName"]
            self._cached_contents[entry["name"]] = entry
            return Handled(
                200, json_text.dumps(entry), "ok", "gemini", body, model, credential=credential
            )
        found = self._cached_contents.get(name)
        if found is None:
            raise _Refused(
                google_errors.permission_denied("CachedContent not found (or permission denied)"),
                "not_found",
            )
        if request.method == "DELETE":
            del self._cached_contents[name]
            return Handled(200, b"{}", "ok", "gemini", credential=credential)
        return Handled(200, json_text.dumps(found), "ok", "gemini", credential=credential)

    # --- Code Assist ------------------------------------------------------------------------------

    def _code_assist(self, request: Request) -> Handled:
        credential = self._authenticate(request, "code_assist")
        rest = request.route[len("/v1internal") :]
        if request.method == "GET" and rest.startswith("/"):
            answer = self.setup.get_operation(rest[1:])
            return _answer(answer, "code_assist", credential)
        method = rest.removeprefix(":")
        if (
            method in {"generateContent", "streamGenerateContent", "countTokens"}
            and request.method == "POST"
        ):
            call = _Call("code_assist", method, "", None, credential)
            return self._generate_or_count(request, call)
        if method == "loadCodeAssist":
            body = _parse_json(request.body)
            return _answer(
                self.setup.load_code_assist(credential, body), "code_assist", credential, body
            )
        if method == "onboardUser":
            body = _parse_json(request.body)
            return _answer(
                self.setup.onboard_user(credential, body), "code_assist", credential, body
            )
        if method in codeassist.SIMPLE_METHODS:
            body = _parse_json(request.body) if request.body else None
            return _answer(codeassist.SIMPLE_METHODS[method], "code_assist", credential, body)
        raise _Refused(
            google_errors.not_found(f"No route for {request.method} {request.path}."), "not_found"
        )

    def _account(self, request: Request) -> Handled:
        try:
            credential = self._authenticate(request, "code_assist")
        except _Refused as refused:
            return _refusal(refused.rejection, refused.verdict)
        answer = codeassist.account_answer(request.method, request.path, credential)
        if answer is None:
            path = request.path
            return _refusal(
                google_errors.not_found(f"No route for {request.method} {path}."), "not_found"
            )
        return Handled(200, orjson.dumps(answer), "ok", "account", credential=credential)

    # --- generate / count (both surfaces) ----------------------------------------------------------

    def _generate_or_count(self, request: Request, call: _Call) -> Handled:
        try:
            call.body = _parse_json(request.body)
            inner = call.body
            if call.surface == "code_assist":
                inner = call.body.get("request")
                if not isinstance(inner, dict):
                    inner = {}
                raw_model = call.body.get("model") or inner.get("model") or ""
                call.model = str(raw_model).removeprefix("models/")
            if call.model not in self._models:
                raise _Refused(self._unknown_model(call), "not_found")
            if call.method == "countTokens":
                return self._count_tokens(request, call, inner)
            return self._generate(request, call, inner)
        except _Refused as refused:
            streaming = call.method == "streamGenerateContent"
            array = streaming and (request.query.get("alt") != "sse" or refused.array_body)
            handled = _refusal(refused.rejection, refused.verdict, stream=array)
            handled.surface, handled.parsed, handled.credential = (
                call.surface,
                call.body,
                call.credential,
            )
            handled.model, handled.scenario = call.model or None, call.scenario
            handled.request_number = call.request_number
            return handled

    def _unknown_model(self, call: _Call) -> Rejection:
        if call.surface == "code_assist":
            return google_errors.not_found("Requested entity was not found.")
        return google_errors.model_not_found(call.model, call.method)

    def _count_tokens(self, request: Request, call: _Call, inner: Any) -> Handled:
        self._validate(
            request, call, validation.validate_count_tokens_request, call.body, surface=call.surface
        )
        source = (
            replies.field(inner, "generateContentRequest", inner)
            if call.surface == "gemini"
            else inner
        )
        tokens = replies.count_request_tokens(source)
        answer: dict[str, Any] = {"totalTokens": tokens}
        if call.surface == "gemini":
            answer["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": tokens}]
        return Handled(
            200,
            orjson.dumps(answer),
            "ok",
            call.surface,
            call.body,
            call.model,
            credential=call.credential,
        )

    def _generate(self, request: Request, call: _Call, inner: Mapping[str, Any]) -> Handled:
        self._validate(
            request,
            call,
            validation.validate_generate_content_request,
            call.body,
            model=call.model,
            surface=call.surface,
        )
        call.scenario = self._choose_scenario(request, inner)
        call.request_number, fault = self.faults.pick(call.scenario, call.credential)
        if fault is not None and fault.kind in STATUS_FAULTS:
            rejection = fault_rejection(fault, model=call.model, surface=call.surface)
            raise _Refused(rejection, f"fault:{fault.kind}", array_body=fault.array_body)
        wait = self.capacity.admit(call.scenario, credential=call.credential, model=call.model)
        if wait is not None:
            raise _Refused(
                capacity_rejection(model=call.model, surface=call.surface, retry_after_s=wait),
                "capacity",
            )
        cached_tokens = self._cached_tokens(inner)
        chunk_count, events, whole = self._reply(request, call, inner, cached_tokens)
        stream = call.method == "streamGenerateContent"
        handled = Handled(
            200,
            PlannedStream(events, request.query.get("alt") == "sse") if stream else whole,
            f"fault:{fault.kind}" if fault is not None else "ok",
            call.surface,
            call.body,
            call.model,
            call.scenario,
            call.credential,
            request_number=call.request_number,
            chunk_count=chunk_count,
            fault=fault,
        )
        if stream and handled.body.sse:  # type: ignore[union-attr]
            handled.content_type = wire.SSE
        return handled

    def _validate(
        self,
        request: Request,
        call: _Call,
        validator: Callable[..., Rejection | None],
        body: Any,
        **kwargs: Any,
    ) -> None:
        key = (call.surface, call.method, call.model, request.body)
        if key in self._verdicts:
            rejection = self._verdicts[key]
        else:
            rejection = validator(body, **kwargs)
            self._remember(self._verdicts, key, rejection)
        if rejection is not None:
            raise _Refused(rejection, "rejected")

    def _choose_scenario(self, request: Request, inner: Mapping[str, Any]) -> Scenario:
        """The scenario header's, else the marker's, else the scripted one, else the default."""
        name = request.header(SCENARIO_HEADER) or request_marker(inner)
        if name is None and self.script.current is not None:
            return self.script.current
        try:
            return self.config.scenario(name)
        except UnknownScenario:
            known = ", ".join(sorted(self.config.scenarios))
            raise _Refused(
                google_errors.invalid_argument(
                    f"Unknown emulator scenario {name!r}; known: {known}."
                ),
                "unknown_scenario",
            ) from None

    def _cached_tokens(self, inner: Mapping[str, Any]) -> int:
        name = replies.field(inner, "cachedContent")
        if not name:
            return 0
        entry = self._cached_contents.get(str(name))
        if entry is None:
            raise _Refused(
                google_errors.permission_denied("CachedContent not found (or permission denied)"),
                "not_found",
            )
        return int(entry["usageMetadata"]["totalTokenCount"])

    def _reply(
        self, request: Request, call: _Call, inner: Mapping[str, Any], cached_tokens: int
    ) -> tuple[int, tuple[bytes, ...], bytes]:
        assert call.scenario is not None
        key = (call.surface, call.model, call.scenario.name, cached_tokens, request.body)
        cached = self._replies.get(key)
        if cached is not None:
            return cached
        code_assist = call.surface == "code_assist"
        reply = replies.plan_reply(
            inner,
            model=call.model,
            scenario=call.scenario,
            cached_tokens=cached_tokens,
            include_response_id=not code_assist,
        )
        if code_assist:
            trace = codeassist.trace_id(replies.request_seed(inner, call.scenario))
            events = tuple(_reply_json(codeassist.wrap(c, trace)) for c in reply.chunks)
            whole = _reply_json(codeassist.wrap(reply.whole, trace))
        else:
            events = tuple(_reply_json(c) for c in reply.chunks)
            whole = _reply_json(reply.whole)
        result = (len(events), events, whole)
        self._remember(self._replies, key, result)
        return result

    @staticmethod
    def _remember(cache: dict[Any, Any], key: Any, value: Any) -> None:
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[key] = value

    # --- OAuth ------------------------------------------------------------------------------------

    def _oauth_token(self, request: Request) -> Handled:
        form = dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
        status, answer = self.tokens.refresh(form)
        verdict = "ok" if status == 200 else f"oauth:{answer['error']}"
        return Handled(status, orjson.dumps(answer), verdict, "oauth", redact_fields(form))

    def _oauth_revoke(self, request: Request) -> Handled:
        form = dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
        status, answer = self.tokens.revoke(form.get("token") or request.query.get("token"))
        verdict = "ok" if status == 200 else f"oauth:{answer['error']}"
        return Handled(status, orjson.dumps(answer), verdict, "oauth")

    # --- auth -------------------------------------------------------------------------------------

    def _authenticate(self, request: Request, surface: str) -> str:
        """The credential id, or raise _Refused with Google's 400/401/403 body."""
        bearer = request.header(b"authorization")
        if surface == "gemini":
            key = request.header(b"x-goog-api-key") or request.query.get("key")
            if key:
                presented = "key:" + credential_id(key)
                if self.config.api_keys is not None and key not in self.config.api_keys:
                    rejection = google_errors.api_key_invalid()
                    raise _Refused(rejection, "unauthenticated", credential=presented)
                refused = self.config.refused_api_keys.get(key)
                if refused is not None:
                    rejection = _refused_key(refused, key)
                    raise _Refused(rejection, "unauthenticated", credential=presented)
                return presented
        if bearer and bearer[:7].lower() == "bearer ":
            token = bearer[7:].strip()
            issued = self.tokens.identity(token)
            if issued is not None:
                return issued
            presented = "bearer:" + credential_id(token)
            if self.config.access_tokens is None or token in self.config.access_tokens:
                return presented
            raise _Refused(google_errors.unauthenticated(), "unauthenticated", credential=presented)
        if surface == "gemini":
            raise _Refused(google_errors.api_key_missing(), "unauthenticated")
        raise _Refused(google_errors.unauthenticated(), "unauthenticated")

    # --- recording and sending ----------------------------------------------------------------------

    def _record(self, request: Request, handled: Handled) -> None:
        body: Any = handled.parsed
        if body is None and request.body and handled.surface != "oauth":
            body = request.body.decode("utf-8", "replace")
        reply: bytes | tuple[bytes, ...] | None = None
        if handled.model is not None:  # a generate or count call: its reply or its error
            reply = handled.body.events if isinstance(handled.body, PlannedStream) else handled.body
        fault = handled.fault
        self.recorder.record(
            method=request.method,
            path=request.path,
            query=request.query,
            headers=redact_headers(request.headers),
            body=body,
            surface=handled.surface,
            credential=handled.credential,
            model=handled.model,
            scenario=handled.scenario.name if handled.scenario else None,
            verdict=handled.verdict,
            status=handled.status,
            reply=reply,
            fault={"kind": fault.kind, "after_chunks": fault.after_chunks} if fault else None,
            http_version=request.http_version,
        )

    async def _transmit(self, request: Request, handled: Handled, send: Send) -> None:
        scenario = handled.scenario
        gzip_ok = (
            scenario is not None
            and scenario.gzip
            and "gzip" in (request.header(b"accept-encoding") or "")
        )
        timing = None
        if scenario is not None and not scenario.latency.is_zero:
            seed = f"{scenario.name}/{scenario.seed}/latency/{handled.request_number}"
            timing = random.Random(seed)
        body = handled.body
        if isinstance(body, bytes):
            if timing is not None and scenario is not None:
                await self._pause(
                    wire.whole_delay_ms(scenario.latency, timing, handled.chunk_count)
                )
            await wire.send_whole(
                send,
                status=handled.status,
                body=body,
                content_type=handled.content_type,
                gzip_ok=gzip_ok,
                fault=handled.fault,
                pause=self._pause,
            )
            return
        assert scenario is not None
        await wire.send_stream(
            send,
            events=body.events,
            sse=body.sse,
            scenario=scenario,
            timing=timing,
            pause=self._pause,
            gzip_ok=gzip_ok,
            fault=handled.fault,
        )

    async def _pause(self, milliseconds: float) -> None:
        if milliseconds > 0:
            await self._sleep(milliseconds / 1000.0)


# --- helpers ----------------------------------------------------------------------------------------


async def _read_request(scope: Scope, receive: Receive) -> Request | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    raw_query = scope.get("query_string", b"")
    query = dict(parse_qsl(raw_query.decode("latin-1"))) if raw_query else {}
    return Request(
        scope["method"], scope["path"], query, scope["headers"], b"".join(chunks),
        http_version=scope.get("http_version", "1.1"),
    )  # fmt: skip


def _parse_json(body: bytes) -> Any:
    parsed, rejection = validation.decode_request_body(body)
    if rejection is not None:
        raise _Refused(rejection, "invalid_json")
    if not isinstance(parsed, dict):
        raise _Refused(
            google_errors.invalid_argument(
                "Invalid JSON payload received. Expected an object at the top level."
            ),
            "invalid_json",
        )
    return parsed


def _refusal(rejection: Rejection, verdict: str, *, stream: bool = False) -> Handled:
    body = rejection.stream_body() if stream else rejection.body()
    return Handled(rejection.http_status, json_text.dumps(body), verdict)


def _answer(
    answer: dict[str, Any] | Rejection, surface: str, credential: str, body: Any = None
) -> Handled:
    if isinstance(answer, Rejection):
        handled = _refusal(answer, "rejected")
        handled.surface, handled.credential, handled.parsed = surface, credential, body
        return handled
    return Handled(200, json_text.dumps(answer), "ok", surface, body, credential=credential)


def _refused_key(kind: str, key: str) -> Rejection:
    """Google's answer to a key refused as `kind` (scenarios.REFUSED_KEY_KINDS)."""
    if kind == "expired":
        return google_errors.api_key_expired()
    if kind == "suspended":
        return google_errors.consumer_suspended(key)
    return google_errors.permission_denied()


def _reply_json(value: Any) -> bytes:
    """A reply's JSON: a lone surrogate in it was scripted (requests are repaired when read), so
    it goes out as the escape a real upstream would send."""
    return json_text.dumps(value, escape_surrogates=True)


def _model_info(name: str) -> dict[str, Any]:
    pro = "pro" in name
    return {
        "name": f"models/{name}",
        "version": "001",
        "displayName": name.replace("-", " ").title(),
        "description": f"Emulated {name}",
        "inputTokenLimit": 1_048_576,
        "outputTokenLimit": 65_536,
        "supportedGenerationMethods": [
            "generateContent",
            "countTokens",
            "createCachedContent",
            "streamGenerateContent",
        ],
        "temperature": 1,
        "topP": 0.95,
        "topK": 64,
        "maxTemperature": 2,
        "thinking": name.startswith(("gemini-2.5", "gemini-3")) or pro,
    }


def _duration_seconds(value: Any) -> float:
    """A proto Duration (`"300s"`, `"1.5s"`) in seconds, within the proto's +-10000 years; else
    the parser's 400 (wording in the style of Google's parser, not verified)."""
    text = value if isinstance(value, str) else json_text.dumps(value).decode()
    if _DURATION.fullmatch(text) is None or abs(float(text[:-1])) > _MAX_DURATION_SECONDS:
        location = "cached_content.ttl"
        shown = json_text.dumps(text).decode()
        line = (
            f"Invalid value at '{location}' (type.googleapis.com/google.protobuf.Duration), {shown}"
        )
        raise _Refused(
            google_errors.invalid_argument(line, [google_errors.FieldViolation(location, line)]),
            "rejected",
        )
    return float(text[:-1])


def _timestamp(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch % 1 * 1e6):06d}Z"

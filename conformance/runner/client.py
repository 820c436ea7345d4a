"""The client side of a case: the request a real client would send, sent once, its answer kept.

Operations:
    Target(url, key, flavor)                        the proxy under test
    build_request(case, target, previous=None) -> SentRequest   the case's request (or the
        second turn built from the first exchange's reply, for a case with a follow-up)
    send(http, target, request, deadline_s) -> Exchange          one HTTP exchange, body read
        to the end (or to the deadline), never raising
    anthropic_message(exchange) / openai_completion(exchange)    what the reply adds up to, read
        leniently (a JSON body, or the stream's events), for the checks and the follow-up

Requests carry what the official SDKs send: Anthropic routes `x-api-key` and
`anthropic-version: 2023-06-01`; the OpenAI route `Authorization: Bearer`. Bodies are sent as the
exact bytes the case gives (a hostile body stays hostile); JSON bodies are encoded like the
JavaScript clients (Claude Code) do: compact, non-ASCII as UTF-8.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance.checks.sse import parse_sse
from conformance.runner import bodies
from conformance.runner.case import Case

ANTHROPIC_VERSION = "2023-06-01"
NO_KEY = "conformance-client-key"  # sent when the proxy under test has no keys
_ROUTE_PATHS = {
    "messages": "/v1/messages",
    "chat": "/v1/chat/completions",
    "count_tokens": "/v1/messages/count_tokens",
    "models": "/v1/models",
}


@dataclass(frozen=True)
class Target:
    """The proxy under test: its base URL, the key clients use, the upstream flavour it has."""

    url: str
    key: str | None
    flavor: str


@dataclass(frozen=True)
class SentRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON (lone-surrogate escapes decode as lone surrogates); None if not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass
class Exchange:
    """One request and what came back (status None: no HTTP answer, `failure` says why)."""

    request: SentRequest
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    failure: str | None = None
    seconds: float = 0.0
    records: list[dict[str, Any]] = field(default_factory=list)  # upstream requests meanwhile

    @property
    def is_sse(self) -> bool:
        return self.headers.get("content-type", "").startswith("text/event-stream")

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def build_request(case: Case, target: Target, previous: Exchange | None = None) -> SentRequest:
    """The case's request; with `previous`, the follow-up turn built from its reply."""
    path = case.path or _ROUTE_PATHS.get(case.route, "/v1/models")
    if case.route == "model":
        path = case.path or "/v1/models/" + case.model
    method = case.method if case.route not in {"models", "model"} else "GET"
    headers = _headers(case, target)
    if method == "GET":
        return SentRequest(method, path, headers, b"")
    if case.raw_body is not None:
        body = case.raw_body.replace("$model", case.model).encode("utf-8")
    elif case.body is not None:
        body = bodies.generate(case.body, model=case.model)
    else:
        document = _document(case)
        if previous is not None:
            document = _follow_up(case, document, previous)
        body = bodies.js_json(document)
    return SentRequest(method, path, headers, body)


def _headers(case: Case, target: Target) -> dict[str, str]:
    key = target.key or NO_KEY
    if case.route == "chat":
        headers = {"authorization": f"Bearer {key}"}
    else:
        headers = {"x-api-key": key, "anthropic-version": ANTHROPIC_VERSION}
    if case.method != "GET" and case.route not in {"models", "model"}:
        headers["content-type"] = "application/json"
    for name, value in case.headers.items():
        if value == "$none":
            headers.pop(name.lower(), None)
        else:
            headers[name.lower()] = value.replace("$key", key)
    return headers


def _document(case: Case) -> dict[str, Any]:
    document: dict[str, Any] = {"model": case.model}
    if case.route in {"messages"}:
        document["max_tokens"] = 256
    document.update(bodies.expanded(dict(case.request or {})))
    if case.tools_json is not None:
        document["tools"] = json.loads(case.tools_json)
    if case.stream:
        document["stream"] = True
    return document


def _follow_up(case: Case, document: dict[str, Any], previous: Exchange) -> dict[str, Any]:
    messages = list(document.get("messages", []))
    if case.route == "chat":
        completion = openai_completion(previous) or {}
        message = ((completion.get("choices") or [{}])[0]).get("message") or {}
        assistant: dict[str, Any] = {"role": "assistant", "content": message.get("content")}
        calls = message.get("tool_calls") or []
        if calls:
            assistant["tool_calls"] = calls
        messages.append(assistant)
        for call in calls:
            name = (call.get("function") or {}).get("name")
            messages.append(
                {"role": "tool", "tool_call_id": call.get("id"), "content": f"{name}: done"}
            )
        if not calls or case.followup == "continue":
            messages.append({"role": "user", "content": "Continue."})
        return {**document, "messages": messages}
    message = anthropic_message(previous) or {}
    blocks = [_as_param(block) for block in message.get("content") or []]
    messages.append({"role": "assistant", "content": blocks})
    results = [
        {"type": "tool_result", "tool_use_id": b["id"], "content": f"{b['name']}: done"}
        for b in blocks
        if b.get("type") == "tool_use"
    ]
    if case.followup == "tool_results" and results:
        messages.append({"role": "user", "content": results})
    else:
        messages.append({"role": "user", "content": "Continue."})
    return {**document, "messages": messages}


def _as_param(block: Mapping[str, Any]) -> dict[str, Any]:
    """A response content block as a request block (what a client sends back)."""
    keep = {
        "text": ("type", "text"),
        "thinking": ("type", "thinking", "signature"),
        "redacted_thinking": ("type", "data"),
        "tool_use": ("type", "id", "name", "input"),
    }.get(str(block.get("type")), tuple(block))
    return {key: block[key] for key in keep if key in block}


def send(http: httpx.Client, target: Target, request: SentRequest, deadline_s: float) -> Exchange:
    """Send `request` to the proxy; read the whole answer (at most `deadline_s` seconds)."""
    exchange = Exchange(request)
    started = time.monotonic()
    try:
        with http.stream(
            request.method,
            target.url + request.path,
            headers=request.headers,
            content=request.body or None,
        ) as response:
            exchange.status = response.status_code
            exchange.headers = {k.lower(): v for k, v in response.headers.items()}
            body = bytearray()
            for piece in response.iter_bytes():
                body += piece
                if time.monotonic() - started > deadline_s:
                    exchange.failure = f"the answer took longer than {deadline_s:.0f} s"
                    break
            exchange.body = bytes(body)
    except httpx.HTTPError as exc:
        exchange.failure = f"{type(exc).__name__}: {exc}"
    exchange.seconds = time.monotonic() - started
    return exchange


# --- what a reply adds up to ------------------------------------------------------------------------


def anthropic_message(exchange: Exchange) -> dict[str, Any] | None:
    """The Anthropic Message of a 200 answer: the JSON body, or the stream's events added up
    (leniently: by index, whatever the order; an `error` event leaves the message without a
    stop reason)."""
    if exchange.status != 200:
        return None
    if not exchange.is_sse:
        body = exchange.json()
        return body if isinstance(body, dict) else None
    message: dict[str, Any] | None = None
    buffers: dict[int, str] = {}
    for event in parse_sse(exchange.body):
        data = event.json()
        if not isinstance(data, dict):
            continue
        kind = data.get("type")
        if kind == "message_start" and isinstance(data.get("message"), dict):
            message = {**data["message"], "content": []}
        elif message is None:
            continue
        elif kind == "content_block_start" and isinstance(data.get("content_block"), dict):
            message["content"].append(dict(data["content_block"]))
        elif kind == "content_block_delta":
            _apply_delta(message["content"], data, buffers)
        elif kind == "message_delta":
            message.update(data.get("delta") or {})
            message["usage"] = {**(message.get("usage") or {}), **(data.get("usage") or {})}
    if message is not None:
        for index, text in buffers.items():
            with contextlib.suppress(ValueError, IndexError):
                message["content"][index]["input"] = json.loads(text)
    return message


def _apply_delta(
    blocks: list[dict[str, Any]], data: dict[str, Any], buffers: dict[int, str]
) -> None:
    index = data.get("index")
    delta = data.get("delta") or {}
    if not isinstance(index, int) or not 0 <= index < len(blocks):
        return
    block = blocks[index]
    kind = delta.get("type")
    if kind == "text_delta":
        block["text"] = block.get("text", "") + str(delta.get("text", ""))
    elif kind == "thinking_delta":
        block["thinking"] = block.get("thinking", "") + str(delta.get("thinking", ""))
    elif kind == "signature_delta":
        block["signature"] = block.get("signature", "") + str(delta.get("signature", ""))
    elif kind == "input_json_delta":
        buffers[index] = buffers.get(index, "") + str(delta.get("partial_json", ""))


def openai_completion(exchange: Exchange) -> dict[str, Any] | None:
    """The ChatCompletion of a 200 answer: the JSON body, or the chunks added up leniently."""
    if exchange.status != 200:
        return None
    if not exchange.is_sse:
        body = exchange.json()
        return body if isinstance(body, dict) else None
    content = ""
    calls: list[dict[str, Any]] = []
    finish: str | None = None
    usage: Any = None
    for event in parse_sse(exchange.body):
        chunk = event.json()
        if not isinstance(chunk, dict) or chunk.get("error"):
            continue
        usage = chunk.get("usage") or usage
        for choice in chunk.get("choices") or []:
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            content += delta.get("content") or ""
            for call in delta.get("tool_calls") or []:
                _apply_call_delta(calls, call)
            finish = choice.get("finish_reason") or finish
    message = {"role": "assistant", "content": content or None}
    if calls:
        message["tool_calls"] = calls
    return {"choices": [{"index": 0, "message": message, "finish_reason": finish}], "usage": usage}


def _apply_call_delta(calls: list[dict[str, Any]], call: dict[str, Any]) -> None:
    index = call.get("index")
    if not isinstance(index, int):
        return
    while len(calls) <= index:
        calls.append({"id": "", "type": "function", "function": {"name": "", "arguments": ""}})
    target = calls[index]
    function = call.get("function") or {}
    if call.get("id"):
        target["id"] = call["id"]
    if function.get("name"):
        target["function"]["name"] = function["name"]
    target["function"]["arguments"] += function.get("arguments") or ""

"""The generation routes' own ASGI handling (server.edge.generation_routes), beyond what the
route tests see.

The routes' answers are specified by test_anthropic_routes / test_openai_routes /
test_hostile_input through real servers; here: what only shows at the ASGI boundary or with
a client that behaves badly (a body that never ends, a hang-up before any answer), a bug in
the middle of a stream, and that the Quart app still serves everything else.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from compat import loads
from server.app import create_app, services_of
from server.config import Config
from server.edge.generation_routes import GenerationRoutes
from server.edge.stream_relay import StreamBody
from tests.server.conftest import PROXY_KEY, RunningProxy, on_every_server, scenario

Message = dict[str, Any]


def _scope(path: str = "/v1/messages", *, body_length: int = 10) -> dict[str, Any]:
    return {
        "type": "http",
        "http_version": "1.1",
        "method": "POST",
        "path": path,
        "headers": [
            (b"x-api-key", PROXY_KEY.encode()),
            (b"content-length", str(body_length).encode()),
        ],
    }


async def _not_quart(scope: dict[str, Any], receive: Any, send: Any) -> None:
    raise AssertionError("a generation route went to the fallback app")


def _routes(body_timeout: float = 60.0) -> GenerationRoutes:
    services = services_of(create_app(Config(proxy_keys=(PROXY_KEY,))))
    return GenerationRoutes(services, _not_quart, body_timeout=body_timeout)


async def _call(
    routes: GenerationRoutes, scope: dict[str, Any], incoming: list[Message]
) -> list[Message]:
    """Run one request; `incoming` are the receive messages, then the receive blocks."""
    queue: asyncio.Queue[Message] = asyncio.Queue()
    for message in incoming:
        queue.put_nowait(message)
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await asyncio.wait_for(routes(scope, queue.get, send), timeout=10)
    return sent


def _in_flight(routes: GenerationRoutes, path: str) -> float:
    return routes.services.metrics.in_flight.labels(path)._value.get()  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/chat/completions"])
async def test_a_body_that_never_ends_is_a_408_that_closes_the_connection(path: str) -> None:
    routes = _routes(body_timeout=0.05)
    partial = {"type": "http.request", "body": b'{"mod', "more_body": True}
    sent = await _call(routes, _scope(path), [partial])
    start, body = sent
    assert start["status"] == 408
    headers = dict(start["headers"])
    assert headers[b"connection"] == b"close"  # the rest of the body is never read
    assert headers[b"request-id"].startswith(b"req_")
    error = loads(body["body"])["error"]
    assert error["type"] == ("timeout_error" if path == "/v1/messages" else "server_error")
    assert "did not arrive within 0.05 seconds" in error["message"]
    assert _in_flight(routes, path) == 0


async def test_a_client_gone_while_sending_its_body_gets_nothing_and_leaves_no_trace() -> None:
    routes = _routes()
    sent = await _call(
        routes,
        _scope(),
        [{"type": "http.request", "body": b"{", "more_body": True}, {"type": "http.disconnect"}],
    )
    assert sent == []
    assert _in_flight(routes, "/v1/messages") == 0


async def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    routes = _routes()
    limit = routes.services.config.max_body_bytes
    sent = await _call(routes, _scope(body_length=limit + 1), [])  # receive would block
    assert sent[0]["status"] == 413
    assert dict(sent[0]["headers"])[b"connection"] == b"close"
    assert loads(sent[1]["body"])["error"]["type"] == "request_too_large"


async def test_other_paths_and_the_lifespan_go_to_the_fallback_app() -> None:
    seen: list[str] = []

    async def fallback(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope.get("path", scope["type"]))

    services = services_of(create_app(Config()))
    routes = GenerationRoutes(services, fallback)
    for scope in (_scope("/v1/messages/count_tokens"), _scope("/v1/models"), {"type": "lifespan"}):
        await routes(scope, None, None)
    assert seen == ["/v1/messages/count_tokens", "/v1/models", "lifespan"]


@on_every_server
def test_a_client_that_hangs_up_before_any_answer_cancels_the_upstream_call(
    proxy: RunningProxy,
) -> None:
    """Non-stream, so nothing is sent before the upstream's whole reply: the hang-up comes
    while the proxy waits on upstream (the emulator stalls 8 s mid-reply), and the upstream
    call and its credential lease end at once, long before the stall would have."""
    body = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": f"{scenario('stall_long')} hello"}],
    }
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            proxy.url + "/v1/messages",
            json=body,
            headers={"x-api-key": PROXY_KEY},
            timeout=httpx.Timeout(5, read=0.2),
        )
    hung_up = time.monotonic()
    board = proxy.services.board
    assert board is not None
    while sum(board.in_flight(c.id) for c in board.credentials) and time.monotonic() < hung_up + 4:
        time.sleep(0.01)
    assert sum(board.in_flight(c.id) for c in board.credentials) == 0
    gauge = proxy.services.metrics.in_flight.labels("/v1/messages")
    assert gauge._value.get() == 0  # type: ignore[attr-defined]


@on_every_server
@pytest.mark.parametrize("path", ["/v1/messages", "/v1/chat/completions"])
def test_a_bug_in_the_middle_of_a_stream_ends_it_with_an_error_event(
    proxy: RunningProxy, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over HTTP/2 (h2c), where Hypercorn would leave a stream the app did not finish open:
    the client gets an `error` event and the end of the stream, not a hang."""
    original = StreamBody.__anext__
    calls = 0

    async def failing_after_the_first_piece(self: StreamBody) -> bytes:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise RuntimeError("a bug in the relay")
        return await original(self)

    monkeypatch.setattr(StreamBody, "__anext__", failing_after_the_first_piece)
    body = {
        "model": "claude-sonnet-4-6" if path == "/v1/messages" else "gpt-4o",
        "max_tokens": 64,
        "stream": True,
        "messages": [{"role": "user", "content": "hello"}],
    }
    with (
        httpx.Client(http1=False, http2=True, timeout=10) as client,
        client.stream(
            "POST", proxy.url + path, json=body, headers={"x-api-key": PROXY_KEY}
        ) as response,
    ):
        assert response.http_version == "HTTP/2"
        text = response.read().decode()
    last = [line for line in text.splitlines() if line][-1]
    if path == "/v1/messages":
        assert "event: error" in text and "message_stop" not in text
        assert loads(last.removeprefix("data: "))["error"]["type"] == "api_error"
    else:
        assert "[DONE]" not in text
        assert loads(last.removeprefix("data: "))["error"]["type"] == "server_error"

"""server.edge.early_answers: an HTTP/1.1 answer given before the request body was read says
`connection: close`, so a keep-alive client's next request opens a new connection; answers
after the whole body was read keep the connection; HTTP/2 never gets a connection header, and
an HTTP/2 answer given before the body was read (401, 403, 404, 413, on the raw generation
routes and on Quart's) leaves the connection serving: its end waits for the body, so the
body's later DATA frames never meet a stream Hypercorn has forgotten (which dropped the whole
connection, pgjones/hypercorn#329).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from server.edge.early_answers import CloseAfterUnreadBody
from tests.server.conftest import PROXY_KEY, RunningProxy, on_every_server

GOOD = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 16,
    "messages": [{"role": "user", "content": "hi"}],
}
BIG_BODY = b'{"x":"' + b"a" * (1024 * 1024) + b'"}'


@on_every_server
def test_a_401_before_the_body_is_read_closes_and_the_next_request_is_answered(
    proxy: RunningProxy,
) -> None:
    with httpx.Client(base_url=proxy.url, timeout=30) as client:
        refused = client.post("/v1/messages", content=BIG_BODY, headers={"x-api-key": "wrong"})
        assert refused.status_code == 401
        assert refused.headers.get("connection", "").lower() == "close"
        good = client.post(
            "/v1/messages", content=json.dumps(GOOD).encode(), headers={"x-api-key": PROXY_KEY}
        )
        assert good.status_code == 200


@on_every_server
def test_a_request_without_a_body_keeps_its_connection(proxy: RunningProxy) -> None:
    with httpx.Client(base_url=proxy.url, timeout=30) as client:
        for _ in range(2):
            listed = client.get("/v1/models", headers={"x-api-key": PROXY_KEY})
            assert listed.status_code == 200
            assert "connection" not in listed.headers


@on_every_server
def test_http2_answers_carry_no_connection_header(proxy: RunningProxy) -> None:
    with httpx.Client(base_url=proxy.url, timeout=30, http1=False, http2=True) as client:
        # A small body: a large one refused early ends in a stream reset, HTTP/2's own way.
        refused = client.post("/v1/messages", content=b"{}", headers={"x-api-key": "wrong"})
        assert refused.http_version == "HTTP/2"
        assert refused.status_code == 401
        assert "connection" not in refused.headers


@on_every_server
@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/v1/messages", 401),
        ("POST", "/v1/chat/completions", 401),
        ("POST", "/v1/messages/count_tokens", 401),
        ("PUT", "/admin/flags", 401),
        ("POST", "/v1/nowhere", 404),
    ],
)
def test_an_early_http2_answer_to_a_large_body_keeps_the_connection_serving(
    proxy: RunningProxy, method: str, path: str, status: int
) -> None:
    with httpx.Client(base_url=proxy.url, timeout=30, http1=False, http2=True) as client:
        for _ in range(3):
            refused = client.request(method, path, content=BIG_BODY, headers={"x-api-key": "wrong"})
            assert refused.http_version == "HTTP/2" and refused.status_code == status
            assert client.get("/healthz").status_code == 200  # on the same connection


@on_every_server
@pytest.mark.parametrize("path", ["/v1/messages", "/v1/messages/count_tokens"])
def test_an_http2_413_keeps_the_connection_serving(
    proxy_factory: Callable[..., RunningProxy], path: str
) -> None:
    small = proxy_factory(max_body_bytes=4096)
    with httpx.Client(base_url=small.url, timeout=30, http1=False, http2=True) as client:
        for _ in range(3):
            refused = client.post(path, content=BIG_BODY, headers={"x-api-key": PROXY_KEY})
            assert refused.http_version == "HTTP/2" and refused.status_code == 413
            assert client.get("/healthz").status_code == 200


async def test_on_http2_the_answer_goes_out_at_once_and_ends_once_the_body_did() -> None:
    async def quart_like(scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Answers at once while a task of its own reads the body, as Quart does."""

        async def read_body() -> None:
            while (await receive()).get("more_body", False):
                pass

        reader = asyncio.ensure_future(read_body())
        await send({"type": "http.response.start", "status": 401, "headers": []})
        await send({"type": "http.response.body", "body": b"refused", "more_body": False})
        await reader

    incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    sent: list[dict[str, Any]] = []
    answered = asyncio.Event()

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body":
            answered.set()

    scope = {"type": "http", "http_version": "2", "headers": [(b"content-length", b"10")]}
    wrapper = CloseAfterUnreadBody(quart_like, body_timeout=30)
    exchange = asyncio.ensure_future(wrapper(scope, incoming.get, send))
    await asyncio.wait_for(answered.wait(), 5)
    assert sent[-1] == {"type": "http.response.body", "body": b"refused", "more_body": True}
    await incoming.put({"type": "http.request", "body": b"0123456789", "more_body": False})
    await asyncio.wait_for(exchange, 5)
    assert sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}

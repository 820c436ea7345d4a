"""server.edge.early_answers: an HTTP/1.1 answer given before the request body was read says
`connection: close`, so a keep-alive client's next request opens a new connection; answers
after the whole body was read keep the connection; HTTP/2 never gets a connection header."""

from __future__ import annotations

import json

import httpx

from tests.server.conftest import PROXY_KEY, RunningProxy

GOOD = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 16,
    "messages": [{"role": "user", "content": "hi"}],
}
BIG_BODY = b'{"x":"' + b"a" * (1024 * 1024) + b'"}'


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


def test_a_request_without_a_body_keeps_its_connection(proxy: RunningProxy) -> None:
    with httpx.Client(base_url=proxy.url, timeout=30) as client:
        for _ in range(2):
            listed = client.get("/v1/models", headers={"x-api-key": PROXY_KEY})
            assert listed.status_code == 200
            assert "connection" not in listed.headers


def test_http2_answers_carry_no_connection_header(proxy: RunningProxy) -> None:
    with httpx.Client(base_url=proxy.url, timeout=30, http1=False, http2=True) as client:
        # A small body: a large one refused early ends in a stream reset, HTTP/2's own way.
        refused = client.post("/v1/messages", content=b"{}", headers={"x-api-key": "wrong"})
        assert refused.http_version == "HTTP/2"
        assert refused.status_code == 401
        assert "connection" not in refused.headers

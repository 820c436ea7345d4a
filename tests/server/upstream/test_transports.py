"""The two arms of `ff_http2_pool_tuning` (server.upstream.transports) against the emulator.

Rules checked:
- both arms run on the proxy's own transport and connections, over TLS with HTTP/2
  negotiated by ALPN for the pooled arm, and the emulator's answers arrive whole;
- over cleartext the pooled arm speaks h2c with `http2_prior_knowledge`, HTTP/1.1 without; the
  per-request arm speaks HTTP/1.1 either way (it is the flag's baseline);
- a pooled HTTP/2 connection keeps its receive window open: replies totalling more than the
  window (16 MiB) arrive on one connection (each reply acknowledged once it is read);
- with proxy environment variables the arms keep httpx's full client (and its NO_PROXY);
- requests to one URL share its parsed form; the memo of parsed URLs stays bounded.
"""

from __future__ import annotations

import json
import ssl

import pytest

from conformance.emulator.testing import running_emulator
from server.upstream.connections import Connection, HTTP2Connection, HTTP11Connection
from server.upstream.httpcore_transport import HttpcoreTransport
from server.upstream.network import AsyncioStream
from server.upstream.transports import (
    _URL_MEMO_SIZE,
    ClientTransport,
    Transports,
    UpstreamTimeouts,
)
from tests.server.conftest import EMULATOR_SCENARIOS


@pytest.mark.parametrize("pooled", [False, True], ids=["per-request-http1", "pooled-http2"])
async def test_both_arms_run_on_our_transport_and_connections_over_tls(pooled: bool) -> None:
    with running_emulator(EMULATOR_SCENARIOS, tls=True) as emulator:
        transports = Transports(
            lambda: ssl.create_default_context(cafile=str(emulator.ca_path)), UpstreamTimeouts()
        )
        transport = transports.pooled if pooled else transports.new_transport()
        protocol = HTTP2Connection if pooled else HTTP11Connection
        try:
            assert isinstance(transport, HttpcoreTransport)
            url = emulator.base_url + "/v1beta/models/gemini-2.5-flash:generateContent"
            body = json.dumps({"contents": [{"role": "user", "parts": [{"text": "hello"}]}]})
            for _ in range(3):  # the pooled arm reuses its one connection
                request = transports.request(url, body.encode(), {"x-goog-api-key": "k1"})
                response = await transport.handle_async_request(request)
                [connection] = transport.pool.connections  # the one in use
                assert isinstance(connection, Connection)
                assert isinstance(connection._connection, protocol)
                assert isinstance(response.extensions["network_stream"], AsyncioStream)
                assert response.status_code == 200
                reply = json.loads(await response.aread())
                assert reply["candidates"][0]["content"]["parts"]
            assert response.http_version == ("HTTP/2" if pooled else "HTTP/1.1")
        finally:
            await transport.aclose()
            await transports.aclose()


@pytest.mark.parametrize(
    ("pooled", "prior_knowledge", "version"),
    [(True, True, "HTTP/2"), (True, False, "HTTP/1.1"), (False, True, "HTTP/1.1")],
    ids=["pooled-h2c", "pooled-http1", "per-request-http1-regardless"],
)
async def test_over_cleartext_the_pooled_arm_speaks_h2c_with_prior_knowledge(
    pooled: bool, prior_knowledge: bool, version: str
) -> None:
    with running_emulator(EMULATOR_SCENARIOS) as emulator:
        assert emulator.base_url.startswith("http://")
        transports = Transports(
            lambda: True, UpstreamTimeouts(), http2_prior_knowledge=prior_knowledge
        )
        transport = transports.pooled if pooled else transports.new_transport()
        try:
            url = emulator.base_url + "/v1beta/models/gemini-2.5-flash:generateContent"
            body = json.dumps({"contents": [{"role": "user", "parts": [{"text": "hello"}]}]})
            request = transports.request(url, body.encode(), {"x-goog-api-key": "k1"})
            response = await transport.handle_async_request(request)
            assert response.http_version == version and response.status_code == 200
            assert b"candidates" in await response.aread()
            assert [r["http_version"] for r in emulator.requests()] == [version[5:]]
        finally:
            if not pooled:
                await transport.aclose()
            await transports.aclose()


async def test_replies_totalling_more_than_the_receive_window_arrive_on_one_connection() -> None:
    long_replies = {"scenarios": {"default": {"text_tokens": 100_000, "chunk_tokens": 5_000}}}
    with running_emulator(long_replies) as emulator:
        transports = Transports(lambda: True, UpstreamTimeouts(read=20), http2_prior_knowledge=True)
        try:
            url = emulator.base_url + "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
            body = json.dumps({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})
            received = 0
            while received <= 2**24 + 65_535:  # the connection's whole window, and more
                request = transports.request(url, body.encode(), {"x-goog-api-key": "k1"})
                response = await transports.pooled.handle_async_request(request)
                received += len(await response.aread())
            assert len(transports.pooled.pool.connections) == 1  # type: ignore[attr-defined]
        finally:
            await transports.aclose()


async def test_with_proxy_environment_variables_the_arms_keep_httpx_full_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("server.upstream.transports._env_proxies", True)
    with running_emulator(EMULATOR_SCENARIOS) as emulator:
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # the client honours it: loopback goes direct
        transports = Transports(lambda: True, UpstreamTimeouts())
        try:
            assert isinstance(transports.pooled, ClientTransport)
            url = emulator.base_url + "/v1beta/models/gemini-2.5-flash:generateContent"
            body = json.dumps({"contents": [{"role": "user", "parts": [{"text": "hello"}]}]})
            request = transports.request(url, body.encode(), {"x-goog-api-key": "k1"})
            response = await transports.pooled.handle_async_request(request)
            assert response.status_code == 200 and b"candidates" in await response.aread()
        finally:
            await transports.aclose()


def test_requests_to_one_url_share_its_parsed_form_and_the_memo_stays_bounded() -> None:
    transports = Transports(lambda: True, UpstreamTimeouts())
    url = "https://generativelanguage.googleapis.com/v1beta/models/m:generateContent?alt=sse"
    first = transports.request(url, b"{}", {"x-goog-api-key": "k1"})
    second = transports.request(url, b"{}", {"x-goog-api-key": "k2"})
    assert first.url == second.url and str(first.url) == url
    assert transports._parsed(url) is transports._parsed(url)
    assert transports._parsed.cache_info().currsize == 1
    assert first.headers["x-goog-api-key"] == "k1" and second.headers["x-goog-api-key"] == "k2"
    for i in range(3 * _URL_MEMO_SIZE):  # a model in the path may be one a client named
        transports.request(f"https://upstream.example/v1beta/models/m{i}:x", b"{}", {})
        assert transports._parsed.cache_info().currsize <= _URL_MEMO_SIZE
    assert transports.request(url, b"{}", {}).url == first.url

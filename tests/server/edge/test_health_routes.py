"""Health, readiness and Prometheus metrics."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest

from server.config import UpstreamConfig
from tests.server.conftest import PROXY_KEY, RunningProxy


def test_healthz_and_readyz_answer_when_serving(proxy: RunningProxy) -> None:
    assert httpx.get(proxy.url + "/healthz").json() == {"status": "ok"}
    assert httpx.get(proxy.url + "/readyz").json() == {
        "status": "ready",
        "mode": "upstream",
        "upstream": "gemini",
        "clients": "proxy keys",
    }


def test_a_demo_proxy_says_so_in_readyz_and_marks_every_answer(proxy_factory: Any) -> None:
    """Made-up text must never pass for Gemini's (issue 17.7)."""
    proxy = proxy_factory(demo=True, proxy_keys=(), allow_any_key=False)
    ready = httpx.get(proxy.url + "/readyz")
    assert ready.json() == {
        "status": "ready",
        "mode": "demo",
        "upstream": "emulator",
        "clients": "any key (demo)",
    }
    sdk = anthropic.Anthropic(base_url=proxy.url, api_key="anything", max_retries=0)
    raw = sdk.messages.with_raw_response.create(
        model="claude-sonnet-4-6", max_tokens=8, messages=[{"role": "user", "content": "hi"}]
    )
    for response in (ready, raw, httpx.get(proxy.url + "/v1/models")):
        assert response.headers["x-compatkit-upstream"] == "emulator"


def test_a_proxy_with_an_upstream_marks_no_answer(proxy: RunningProxy) -> None:
    assert "x-compatkit-upstream" not in httpx.get(proxy.url + "/readyz").headers


def expired_oauth_upstream(tmp_path: Path, **changes: Any) -> UpstreamConfig:
    """Code Assist with one credential file whose access token expired an hour ago."""
    creds = tmp_path / "oauth_creds.json"
    expired_ms = int((time.time() - 3600) * 1000)
    token = {"access_token": "a", "refresh_token": "r", "expiry_date": expired_ms}
    creds.write_text(json.dumps(token))
    return UpstreamConfig(kind="code_assist", oauth_files=(creds,), **changes)


def test_an_expired_oauth_token_without_a_client_id_is_not_ready(
    proxy_factory: Any, tmp_path: Path
) -> None:
    """The first request would get a 502: /readyz says why before (issue 16.3)."""
    upstream = expired_oauth_upstream(tmp_path)
    response = httpx.get(proxy_factory(upstream=upstream).url + "/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["problems"] == ["no enabled upstream credential can authenticate"]
    [warning] = body["warnings"]
    assert "expired" in warning and "upstream.oauth_client_id" in warning


def test_an_expired_oauth_token_with_a_client_id_is_ready(
    proxy_factory: Any, tmp_path: Path
) -> None:
    """It refreshes on first use: nothing to warn of."""
    upstream = expired_oauth_upstream(tmp_path, oauth_client_id="id")
    body = httpx.get(proxy_factory(upstream=upstream).url + "/readyz").json()
    assert body["status"] == "ready" and "warnings" not in body


def test_readyz_is_503_without_an_upstream(proxy_factory: Any) -> None:
    proxy = proxy_factory(upstream=None)
    response = httpx.get(proxy.url + "/readyz")
    assert response.status_code == 503
    assert "no upstream configured" in response.json()["problems"]
    refused = httpx.post(
        proxy.url + "/v1/messages",
        headers={"x-api-key": PROXY_KEY},
        json={
            "model": "claude-sonnet-4-6",
            "max_tokens": 8,
            "messages": [{"role": "user", "content": "x"}],
        },
    )
    assert refused.status_code == 503 and refused.json()["error"]["type"] == "api_error"


def test_metrics_count_requests_latencies_attempts_and_credential_states(
    proxy: RunningProxy,
) -> None:
    sdk = anthropic.Anthropic(base_url=proxy.url, api_key=PROXY_KEY, max_retries=0)
    messages = [{"role": "user", "content": "hi"}]
    sdk.messages.create(model="claude-sonnet-4-6", max_tokens=8, messages=messages)
    with sdk.messages.stream(model="claude-sonnet-4-6", max_tokens=8, messages=messages) as s:
        s.get_final_message()
    text = httpx.get(proxy.url + "/metrics").text
    assert (
        'compatkit_requests_total{model="gemini-2.5-pro",route="/v1/messages",status="200"} 2.0'
        in text
    )
    assert (
        'compatkit_ttft_seconds_count{flags="none",model="gemini-2.5-pro",route="/v1/messages"} 1.0'
        in text
    )
    e2e = 'compatkit_e2e_seconds_count{flags="none",model="gemini-2.5-pro",route="/v1/messages"}'
    assert f"{e2e} 2.0" in text
    assert "compatkit_ttfb_seconds_bucket" in text
    assert text.count('outcome="success"') >= 1
    assert text.count("compatkit_credential_state{") == 3 and 'state="ready"' in text
    assert 'compatkit_in_flight_requests{route="/v1/messages"} 0.0' in text


def test_non_stream_responses_carry_server_timing(proxy: RunningProxy) -> None:
    response = httpx.post(
        proxy.url + "/v1/messages",
        headers={"x-api-key": PROXY_KEY},
        json={
            "model": "claude-sonnet-4-6",
            "max_tokens": 8,
            "messages": [{"role": "user", "content": "x"}],
        },
    )
    name, _, duration = response.headers["server-timing"].partition(";dur=")
    assert name == "proxy" and float(duration) > 0


def test_head_and_get_of_the_root_answer_200_as_anthropic_s_edge_does(
    proxy: RunningProxy, caplog: pytest.LogCaptureFixture
) -> None:
    """Every Claude Code session sends `HEAD /` first (issue 16.6): a 200, logged as route `/`."""
    with caplog.at_level(logging.INFO, logger="compatkit"):
        head = httpx.head(proxy.url + "/")
        get = httpx.get(proxy.url + "/")
    assert head.status_code == 200 and head.content == b""
    assert get.status_code == 200 and get.json() == {"status": "ok", "service": "compatkit"}
    routes = [r.route for r in caplog.records if r.getMessage() == "request"]  # type: ignore[attr-defined]
    assert routes == ["/", "/"]
    text = httpx.get(proxy.url + "/metrics").text
    assert 'route="unmatched"' not in text

"""The proxy's Prometheus metrics: bounded label sets, flag arms, tokens, process metrics.

Every label value comes from a bounded set (issue 17.6): a client that sends thousands of
distinct model names, or paths, adds no series. The latency histograms carry the flag arm the
request ran in, so the A/B arms compare from Prometheus; tokens are counted; `process_*` come
from prometheus_client's process collector; routes are path templates (issue 16.8).
"""

from __future__ import annotations

import asyncio
import re

import anthropic
import httpx
from hypothesis import given
from hypothesis import strategies as st

from server.flags import Flags
from server.metrics import _MEMO_SIZE, ERROR_TYPES, OTHER, ProxyMetrics, route_label
from tests.server.conftest import ADMIN_KEY, PROXY_KEY, RunningProxy


def series(text: str) -> list[str]:
    """The sample lines of a Prometheus exposition (one per series and bucket)."""
    return [line for line in text.splitlines() if line and not line.startswith("#")]


async def send_distinct(url: str, names: list[str]) -> None:
    """One request per name, 16 at a time: a model name, or a path, the proxy never saw."""
    limit = asyncio.Semaphore(16)
    async with httpx.AsyncClient(base_url=url, headers={"x-api-key": PROXY_KEY}) as client:

        async def one(name: str) -> None:
            async with limit:
                body = {
                    "model": name,
                    "max_tokens": 4,
                    "messages": [{"role": "user", "content": "x"}],
                }
                answer = await client.post("/v1/messages", json=body)
                assert answer.status_code < 500, answer.text
                assert (await client.get(f"/v1/unknown/{name}")).status_code == 404

        await asyncio.gather(*(one(name) for name in names))


def test_thousands_of_client_chosen_model_names_add_no_series(proxy: RunningProxy) -> None:
    names = [f"gemini-x-{i}" for i in range(2000)]
    asyncio.run(send_distinct(proxy.url, names[:100]))  # every route, status and credential
    httpx.get(proxy.url + "/metrics")
    asyncio.run(send_distinct(proxy.url, names[100:1000]))
    first = httpx.get(proxy.url + "/metrics").text
    asyncio.run(send_distinct(proxy.url, names[1000:]))
    second = httpx.get(proxy.url + "/metrics").text
    assert "gemini-x-" not in second
    assert 'model="other"' in second
    assert len(series(second)) == len(series(first))
    assert len(second) < 64 * 1024  # was 24 MB after 10,000 names


@given(st.text(max_size=40))
def test_every_model_and_error_type_maps_into_a_bounded_set(name: str) -> None:
    metrics = ProxyMetrics(models={"gemini-2.5-pro"})
    assert metrics.model_label(name) in {"gemini-2.5-pro", "-", OTHER}
    assert metrics.error_label(name) in ERROR_TYPES | {OTHER}


def test_labels_pass_through_their_bounds_whatever_the_caller_gives() -> None:
    metrics = ProxyMetrics(models={"gemini-2.5-pro"})
    for i in range(100):
        metrics.requests.labels("/v1/messages", f"gemini-{i}", "404").inc()
        metrics.stream_errors.labels("/v1/messages", f"weird_error_{i}").inc()
        metrics.upstream_attempts.labels("cred-1", f"gemini-{i}", "success").inc()
    text = metrics.render()[0].decode()
    assert 'compatkit_requests_total{model="other",route="/v1/messages",status="404"} 100.0' in text
    assert 'compatkit_stream_errors_total{error_type="other",route="/v1/messages"} 100.0' in text
    assert "gemini-9" not in text and "weird_error" not in text


def test_remembered_label_children_stay_bounded_and_keep_counting_the_same_series() -> None:
    metrics = ProxyMetrics(models={"gemini-2.5-pro"})
    for i in range(3 * _MEMO_SIZE):
        metrics.requests.labels("/v1/messages", f"gemini-{i}", "404").inc()
        assert metrics.requests._child.cache_info().currsize <= _MEMO_SIZE
    for _ in range(5):
        metrics.requests.labels("/v1/messages", "gemini-2.5-pro", "200").inc()
    text = metrics.render()[0].decode()
    other = 'compatkit_requests_total{model="other",route="/v1/messages",status="404"}'
    assert f"{other} {3 * _MEMO_SIZE}.0" in text
    known = 'compatkit_requests_total{model="gemini-2.5-pro",route="/v1/messages",status="200"}'
    assert f"{known} 5.0" in text


def test_flag_arms_are_named_by_the_flags_that_are_on() -> None:
    assert ProxyMetrics.flags_label(None) == "none"
    assert ProxyMetrics.flags_label(Flags()) == "none"
    both = Flags(ff_retry_policy_v2=True, ff_converter_fast_path=True)
    assert ProxyMetrics.flags_label(both) == "ff_retry_policy_v2+ff_converter_fast_path"


def test_route_labels_are_path_templates() -> None:
    assert route_label("/v1/models/<path:model_id>") == "/v1/models/{model_id}"
    assert route_label("/admin/flags/<name>") == "/admin/flags/{name}"
    assert route_label("/v1/messages") == "/v1/messages"


def test_metrics_carry_the_flag_arm_tokens_process_metrics_and_route_templates(
    proxy: RunningProxy,
) -> None:
    sdk = anthropic.Anthropic(base_url=proxy.url, api_key=PROXY_KEY, max_retries=0)
    messages = [{"role": "user", "content": "hi"}]
    sdk.messages.create(model="claude-sonnet-4-6", max_tokens=8, messages=messages)
    arm = {"x-compatkit-flags": "ff_converter_fast_path=on", "x-compatkit-admin-key": ADMIN_KEY}
    with sdk.messages.stream(
        model="claude-sonnet-4-6", max_tokens=8, messages=messages, extra_headers=arm
    ) as stream:
        stream.get_final_message()
    assert httpx.get(proxy.url + "/v1/models/claude-sonnet-4-6", headers={"x-api-key": PROXY_KEY})
    text = httpx.get(proxy.url + "/metrics").text
    e2e = 'compatkit_e2e_seconds_count{flags="%s",model="gemini-2.5-pro",route="/v1/messages"} 1.0'
    assert e2e % "none" in text
    assert e2e % "ff_converter_fast_path" in text
    assert (
        'compatkit_ttft_seconds_count{flags="ff_converter_fast_path",model="gemini-2.5-pro",'
        'route="/v1/messages"} 1.0' in text
    )
    assert 'compatkit_ttfb_seconds_count{flags="none",route="/v1/messages"} 1.0' in text
    tokens = re.findall(
        r'compatkit_tokens_total\{kind="(\w+)",model="gemini-2.5-pro"\} ([0-9.]+)', text
    )
    counted = {kind: float(value) for kind, value in tokens}
    assert counted["input"] > 0 and counted["output"] > 0
    assert "process_resident_memory_bytes " in text and "process_open_fds " in text
    assert 'route="/v1/models/{model_id}"' in text

"""Scripted faults, latency, framing, gzip and capacity (faults.py, capacity.py, app.py)."""

from __future__ import annotations

import gzip
from typing import Any

import httpx
import orjson
import pytest

from conformance.emulator.app import Emulator
from conformance.emulator.capacity import CapacityLedger
from conformance.emulator.scenarios import ConfigError, credential_id, parse_config, parse_scenario
from conformance.emulator.testing import running_emulator

GENERATE = "/v1beta/models/gemini-2.5-flash:generateContent"
STREAM = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
HELLO = {"contents": [{"role": "user", "parts": [{"text": "hello"}]}]}
KEY = {"x-goog-api-key": "k"}


def post(base_url: str, path: str, scenario: str, **kwargs: Any) -> httpx.Response:
    headers = {**KEY, "x-emulator-scenario": scenario, **kwargs.pop("headers", {})}
    return httpx.post(base_url + path, json=HELLO, headers=headers, timeout=30, **kwargs)


def error_reason(body: dict[str, Any]) -> str | None:
    infos = [d for d in body["error"].get("details", []) if d["@type"].endswith("ErrorInfo")]
    return infos[0]["reason"] if infos else None


def retry_delay(body: dict[str, Any]) -> str | None:
    infos = [d for d in body["error"].get("details", []) if d["@type"].endswith("RetryInfo")]
    return infos[0]["retryDelay"] if infos else None


@pytest.fixture(scope="module")
def base_url() -> Any:
    with running_emulator() as emu:
        yield emu.base_url


@pytest.mark.parametrize(
    ("scenario", "status", "google_status", "reason", "delay"),
    [
        ("rate_limited", 429, "RESOURCE_EXHAUSTED", None, "26s"),
        ("capacity_429", 429, "RESOURCE_EXHAUSTED", "MODEL_CAPACITY_EXHAUSTED", "40s"),
        ("capacity_503", 503, "UNAVAILABLE", "MODEL_CAPACITY_EXHAUSTED", "40s"),
        ("internal_error", 500, "INTERNAL", None, None),
        ("unavailable", 503, "UNAVAILABLE", None, None),
    ],
)
def test_status_faults_answer_with_google_error_bodies(
    base_url: str,
    scenario: str,
    status: int,
    google_status: str,
    reason: str | None,
    delay: str | None,
) -> None:
    response = post(base_url, GENERATE, scenario)
    assert response.status_code == status
    body = response.json()
    assert body["error"]["status"] == google_status
    assert error_reason(body) == reason
    assert retry_delay(body) == delay


def test_quota_exhausted_is_terminal_per_surface(base_url: str) -> None:
    gemini = post(base_url, GENERATE, "quota_exhausted").json()
    quota = next(d for d in gemini["error"]["details"] if d["@type"].endswith("QuotaFailure"))
    assert "PerDay" in quota["violations"][0]["quotaId"]
    envelope = {"model": "gemini-2.5-pro", "project": "p", "request": HELLO}
    code_assist = httpx.post(
        base_url + "/v1internal:generateContent",
        json=envelope,
        headers={"authorization": "Bearer t", "x-emulator-scenario": "quota_exhausted"},
    )
    assert code_assist.status_code == 429
    assert error_reason(code_assist.json()) == "QUOTA_EXHAUSTED"


def test_faults_by_request_number_fire_only_on_those_requests(base_url: str) -> None:
    statuses = [post(base_url, GENERATE, "rate_limited_first").status_code for _ in range(3)]
    assert statuses == [429, 429, 200]


def test_probabilistic_faults_are_seeded_so_runs_repeat() -> None:
    def run() -> list[int]:
        with running_emulator() as emu:
            return [post(emu.base_url, GENERATE, "flaky").status_code for _ in range(30)]

    first = run()
    assert first == run()
    assert 503 in first and 200 in first


def test_stream_errors_can_come_as_a_json_array_on_the_sse_path(base_url: str) -> None:
    response = post(base_url, STREAM, "stream_error_array")
    assert response.status_code == 429
    body = response.json()
    assert isinstance(body, list) and body[0]["error"]["code"] == 429


def test_a_dropped_stream_ends_without_completing_the_body(base_url: str) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        post(base_url, STREAM, "drop_after_2")


def test_dropped_stream_sends_exactly_k_events_first(base_url: str) -> None:
    received = b""
    with (
        httpx.stream(
            "POST",
            base_url + STREAM,
            json=HELLO,
            headers={**KEY, "x-emulator-scenario": "drop_after_2"},
        ) as response,
        pytest.raises(httpx.RemoteProtocolError),
    ):
        for chunk in response.iter_raw():
            received += chunk
    assert received.count(b"data: ") == 2


def test_a_malformed_chunk_is_one_truncated_event_among_valid_ones(base_url: str) -> None:
    text = post(base_url, STREAM, "malformed_chunk").text
    events = [line[6:] for line in text.split("\r\n") if line.startswith("data: ")]
    parsed = []
    for event in events:
        try:
            parsed.append(orjson.loads(event))
        except orjson.JSONDecodeError:
            parsed.append(None)
    assert parsed.count(None) == 1
    assert parsed[1] is None
    assert parsed[-1]["candidates"][0]["finishReason"] == "STOP"


def test_lf_framing_has_no_carriage_returns(base_url: str) -> None:
    raw = post(base_url, STREAM, "lf_framing").content
    assert b"\r" not in raw and raw.count(b"\n\n") == 3


def test_gzip_scenario_compresses_whole_and_streamed_bodies(base_url: str) -> None:
    for path in (GENERATE, STREAM):
        with httpx.stream(
            "POST",
            base_url + path,
            json=HELLO,
            headers={**KEY, "x-emulator-scenario": "gzip", "accept-encoding": "gzip"},
        ) as response:
            assert response.headers["content-encoding"] == "gzip"
            raw = b"".join(response.iter_raw())
        assert b"candidates" in gzip.decompress(raw)


def test_gzip_is_not_sent_to_clients_that_do_not_accept_it(base_url: str) -> None:
    response = post(base_url, GENERATE, "gzip", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in response.headers


def test_hot_credentials_get_429_and_cool_ones_do_not() -> None:
    config = {
        "scenarios": {"default": {"capacity": {"per_credential": {"rate": 0.001, "burst": 2}}}}
    }
    with running_emulator(config) as emu:
        hot = [
            post(emu.base_url, GENERATE, "default", headers={"x-goog-api-key": "hot"})
            for _ in range(3)
        ]
        cool = post(emu.base_url, GENERATE, "default", headers={"x-goog-api-key": "cool"})
        assert [r.status_code for r in hot] == [200, 200, 429]
        assert retry_delay(hot[2].json()) is not None
        assert cool.status_code == 200
        assert [r["verdict"] for r in emu.requests()] == ["ok", "ok", "capacity", "ok"]
        emu.reset()
        assert (
            post(emu.base_url, GENERATE, "default", headers={"x-goog-api-key": "hot"}).status_code
            == 200
        )


def test_a_fault_limited_to_credentials_fires_only_for_them() -> None:
    config = {
        "scenarios": {
            "default": {
                "faults": [
                    {
                        "kind": "capacity_429",
                        "every": 1,
                        "credentials": ["third"],
                        "retry_delay_s": 5,
                    },
                ]
            }
        }
    }
    with running_emulator(config) as emu:
        statuses = {
            key: post(
                emu.base_url, GENERATE, "default", headers={"x-goog-api-key": key}
            ).status_code
            for key in ("first", "second", "third")
        }
        bearer = httpx.post(
            emu.base_url + GENERATE, json=HELLO, headers={"authorization": "Bearer third"}
        )
        assert statuses == {"first": 200, "second": 200, "third": 429}
        assert (
            bearer.status_code == 429 and error_reason(bearer.json()) == "MODEL_CAPACITY_EXHAUSTED"
        )
        assert "third" not in str(emu.requests())  # kept as an id, never as the secret


def test_a_credential_bucket_limited_to_hot_credentials_leaves_the_others_unlimited() -> None:
    now = [0.0]
    ledger = CapacityLedger(clock=lambda: now[0])
    spec = {"per_credential": {"rate": 1, "burst": 1}, "credentials": ["hot"]}
    scenario = parse_scenario("h", {"capacity": spec})
    hot, cool = "key:" + credential_id("hot"), "key:" + credential_id("cool")
    assert ledger.admit(scenario, credential=hot, model="x") is None
    assert ledger.admit(scenario, credential=hot, model="x") == pytest.approx(1.0)
    assert all(ledger.admit(scenario, credential=cool, model="x") is None for _ in range(5))


@pytest.mark.parametrize("credentials", [[], "hot", [""], [1]])
def test_credentials_must_be_a_list_of_secrets(credentials: Any) -> None:
    with pytest.raises(
        ConfigError, match=r"scenarios\.h\.faults\[0\]\.credentials: expected a non-empty list"
    ):
        parse_scenario(
            "h", {"faults": [{"kind": "internal", "every": 1, "credentials": credentials}]}
        )


def test_a_model_bucket_limits_every_credential_together() -> None:
    now = [0.0]
    ledger = CapacityLedger(clock=lambda: now[0])
    scenario = parse_scenario("m", {"capacity": {"per_model": {"rate": 1, "burst": 1}}})
    assert ledger.admit(scenario, credential="a", model="x") is None
    assert ledger.admit(scenario, credential="b", model="x") == pytest.approx(1.0)
    assert ledger.admit(scenario, credential="b", model="y") is None
    now[0] += 1.0
    assert ledger.admit(scenario, credential="b", model="x") is None


# --- latency, observed through an injected sleep on the ASGI app --------------------------------


async def call_app(app: Emulator, path: str, scenario: str) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    request = {"type": "http.request", "body": orjson.dumps(HELLO), "more_body": False}

    async def receive() -> dict[str, Any]:
        return request

    async def send(message: Any) -> None:
        sent.append(message)

    path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "query_string": query.encode(),
        "headers": [(b"x-goog-api-key", b"k"), (b"x-emulator-scenario", scenario.encode())],
    }
    await app(scope, receive, send)
    return sent


def latency_app(latency: dict[str, Any], **extra: Any) -> tuple[Emulator, list[Any]]:
    log: list[Any] = []

    async def sleep(seconds: float) -> None:
        log.append(seconds)

    config = parse_config(
        {"scenarios": {"slow": {"text_tokens": 8, "chunk_tokens": 2, "latency": latency, **extra}}}
    )
    app = Emulator(config, sleep=sleep)
    return app, log


async def test_stream_latency_is_headers_then_first_chunk_then_gaps() -> None:
    app, log = latency_app({"headers_ms": 100, "first_chunk_ms": 50, "chunk_gap_ms": 10})
    sent = await call_app(app, STREAM, "slow")
    assert log == [0.1, 0.05, 0.01, 0.01, 0.01]
    assert [m["type"] for m in sent].count("http.response.body") == 5  # 4 events + end


async def test_non_stream_waits_for_the_whole_generation_before_headers() -> None:
    app, log = latency_app({"headers_ms": 100, "first_chunk_ms": 50, "chunk_gap_ms": 10})
    await call_app(app, GENERATE, "slow")
    assert log == [pytest.approx(0.18)]


async def test_seeded_latency_repeats_per_request_number_and_varies_between_requests() -> None:
    lognormal = {"dist": "lognormal", "median": 20, "sigma": 0.8}
    first, log1 = latency_app({"chunk_gap_ms": lognormal})
    second, log2 = latency_app({"chunk_gap_ms": lognormal})
    for app in (first, second):
        await call_app(app, STREAM, "slow")
        await call_app(app, STREAM, "slow")
    assert log1 == log2
    assert log1[:3] != log1[3:]


async def test_a_stall_pauses_mid_stream_then_completes() -> None:
    app, log = latency_app(
        {}, faults=[{"kind": "stall", "every": 1, "after_chunks": 2, "stall_ms": 1500}]
    )
    sent = await call_app(app, STREAM, "slow")
    assert log == [1.5]
    assert sent[-1]["more_body"] is False


def test_wire_faults_on_a_non_stream_reply_drop_or_truncate_the_body(base_url: str) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        post(base_url, GENERATE, "drop_after_2")
    truncated = post(base_url, GENERATE, "malformed_chunk")
    assert truncated.status_code == 200
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(truncated.content)

"""The upstream attempt loop against the emulator's fault scenarios (real servers, real SDK).

Rules checked, in both arms of every flag where they differ:
- a 429 with RetryInfo, a 503, a capacity error before any byte is retried, and the text the
  client finally gets is exactly the text of a clean request (nothing duplicated or lost);
- the baseline retries on the same credential; v2 rotates away from a capacity error and
  cools that (credential, model) down;
- a failure after bytes reached the client is never retried: an `error` event ends the stream,
  counted in metrics;
- during upstream silence the client gets pings; a client that goes away cancels upstream;
- the Code Assist surface (OAuth, envelope) works like the Gemini API surface.

Every test on the module's `emulator` runs twice: over plain HTTP, where both transport arms
speak HTTP/1.1 upstream, and over TLS, where the pooled arm (`ff_http2_pool_tuning`, on in
the `all-on` arm) speaks HTTP/2 by ALPN through server.upstream.network.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import h2.config
import h2.connection
import h2.errors
import h2.events
import httpx
import pytest

from conformance.emulator.testing import RunningEmulator, emulator_process, running_emulator
from server.app import create_app
from server.config import ServerName, UpstreamConfig
from server.hosting import ServerThread
from tests.server.conftest import (
    ADMIN_KEY,
    EMULATOR_SCENARIOS,
    PROXY_KEY,
    UPSTREAM_KEYS,
    RunningProxy,
    on_every_server,
    proxy_config,
    scenario,
)


@pytest.fixture(scope="module", params=["http", "tls-h2"])
def emulator(request: pytest.FixtureRequest) -> Iterator[RunningEmulator]:
    with running_emulator(EMULATOR_SCENARIOS, tls=request.param == "tls-h2") as running:
        yield running


V1 = {"ff_retry_policy_v2": False}
V2 = {"ff_retry_policy_v2": True}
RETRY_ARMS = [
    pytest.param({**V1}, id="v1"),
    pytest.param({**V2}, id="v2"),
    pytest.param(
        {
            **V2,
            "ff_http2_pool_tuning": True,
            "ff_preview_credential_scheduler_v2": True,
            "ff_converter_fast_path": True,
        },
        id="all-on",
    ),
]


def flag_headers(flags: dict[str, bool]) -> dict[str, str]:
    if not flags:
        return {}
    value = ",".join(f"{k}={'on' if v else 'off'}" for k, v in flags.items())
    return {"x-compatkit-flags": value, "x-compatkit-admin-key": ADMIN_KEY}


def sdk(proxy: RunningProxy, flags: dict[str, bool]) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=proxy.url, api_key=PROXY_KEY, max_retries=0, default_headers=flag_headers(flags)
    )


def ask(client: anthropic.Anthropic, name: str, *, stream: bool) -> str:
    """The text of a reply to a request scripted with scenario `name`."""
    messages = [{"role": "user", "content": f"{scenario(name)} hello"}]
    if stream:
        with client.messages.stream(
            model="claude-sonnet-4-6", max_tokens=64, messages=messages
        ) as s:
            return s.get_final_text()
    reply = client.messages.create(model="claude-sonnet-4-6", max_tokens=64, messages=messages)
    return "".join(block.text for block in reply.content if block.type == "text")


def metric(proxy: RunningProxy, name: str, **labels: str) -> float:
    """Sum of a metric's samples whose labels include `labels`."""
    total = 0.0
    for family in proxy.services.metrics.registry.collect():
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                total += sample.value
    return total


@pytest.mark.parametrize("flags", RETRY_ARMS)
@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
def test_429_with_retry_info_is_retried_until_success_without_losing_text(
    proxy: RunningProxy, emulator: RunningEmulator, flags: dict[str, bool], stream: bool
) -> None:
    client = sdk(proxy, flags)
    retried = ask(client, "rate_limited_first", stream=stream)
    clean = ask(client, "rate_limited_first", stream=stream)
    assert retried == clean and retried
    statuses = [r["status"] for r in emulator.requests()]
    assert statuses == [429, 429, 200, 200]
    credentials = [r["credential"] for r in emulator.requests()[:3]]
    assert len(set(credentials)) == 1  # a short RetryInfo delay: same credential, both arms
    assert metric(proxy, "compatkit_upstream_retries_total") == 2
    assert metric(proxy, "compatkit_upstream_429_total") == 2


@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
def test_v2_rotates_away_from_a_capacity_error_and_cools_that_credential(
    proxy: RunningProxy, emulator: RunningEmulator, stream: bool
) -> None:
    text = ask(sdk(proxy, V2), "capacity_first", stream=stream)
    assert text
    first, second = emulator.requests()
    assert first["status"] == 429 and second["status"] == 200
    assert first["credential"] != second["credential"]
    cooling = [s for s in proxy.services.board.snapshot() if s.cooldowns]  # type: ignore[union-attr]
    assert len(cooling) == 1 and cooling[0].cooldowns["gemini-2.5-pro"] > 30
    assert metric(proxy, "compatkit_upstream_capacity_errors_total") == 1


def test_v1_retries_a_capacity_error_on_the_same_credential(
    proxy: RunningProxy, emulator: RunningEmulator
) -> None:
    assert ask(sdk(proxy, V1), "capacity_first_brief", stream=False)
    first, second = emulator.requests()
    assert first["credential"] == second["credential"]


@pytest.mark.parametrize("flags", RETRY_ARMS)
def test_a_server_delay_beyond_the_retry_budget_is_answered_at_once_with_retry_after(
    proxy: RunningProxy, emulator: RunningEmulator, flags: dict[str, bool]
) -> None:
    # 26 s of RetryInfo: v1 would retry 3 times 10 ms later, v2 on every other credential.
    with pytest.raises(anthropic.RateLimitError) as raised:
        ask(sdk(proxy, flags), "rate_limited", stream=False)
    assert raised.value.response.headers["retry-after"] == "26"
    attempts = len(emulator.requests())
    assert attempts == (1 if not flags["ff_retry_policy_v2"] else len(UPSTREAM_KEYS))


@pytest.mark.parametrize("flags", RETRY_ARMS)
def test_a_terminal_quota_tells_the_sdk_not_to_retry(
    proxy: RunningProxy, emulator: RunningEmulator, flags: dict[str, bool]
) -> None:
    # A default client retries a 429 twice, waiting any retry-after: for a quota that comes
    # back tomorrow that is two futile waits, so the answer says x-should-retry: false.
    attempts: list[str] = []
    client = anthropic.Anthropic(
        base_url=proxy.url,
        api_key=PROXY_KEY,
        default_headers=flag_headers(flags),
        http_client=anthropic.DefaultHttpxClient(
            event_hooks={"request": [lambda request: attempts.append(str(request.url))]}
        ),
    )
    with pytest.raises(anthropic.RateLimitError) as raised:
        ask(client, "quota_exhausted", stream=False)
    assert raised.value.response.headers["x-should-retry"] == "false"
    assert len(attempts) == 1


@pytest.mark.parametrize("flags", RETRY_ARMS)
def test_a_503_before_any_byte_is_retried(
    proxy: RunningProxy, emulator: RunningEmulator, flags: dict[str, bool]
) -> None:
    assert ask(sdk(proxy, flags), "unavailable_first", stream=True)
    assert [r["status"] for r in emulator.requests()] == [503, 200]


def test_capacity_on_every_credential_ends_in_529_with_retry_after(
    proxy: RunningProxy, emulator: RunningEmulator
) -> None:
    with pytest.raises(anthropic.APIStatusError) as raised:
        ask(sdk(proxy, V2), "capacity_503", stream=False)
    assert raised.value.status_code == 529
    assert raised.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]
    assert int(raised.value.response.headers["retry-after"]) >= 1
    assert len({r["credential"] for r in emulator.requests()}) == 3  # every one was tried


def sse_events(proxy: RunningProxy, name: str, flags: dict[str, bool]) -> list[tuple[str, Any]]:
    """The raw (event name, data) pairs of a streamed reply."""
    headers = {"x-api-key": PROXY_KEY, **flag_headers(flags)}
    body = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 64,
        "stream": True,
        "messages": [{"role": "user", "content": f"{scenario(name)} hello"}],
    }
    events: list[tuple[str, Any]] = []
    with httpx.stream(
        "POST", proxy.url + "/v1/messages", json=body, headers=headers, timeout=30
    ) as r:
        assert r.status_code == 200
        name_ = ""
        for line in r.iter_lines():
            if line.startswith("event: "):
                name_ = line[7:]
            elif line.startswith("data: "):
                events.append((name_, json.loads(line[6:])))
    return events


@pytest.mark.parametrize("flags", RETRY_ARMS)
@pytest.mark.parametrize("name", ["drop_after_2", "malformed_chunk"])
def test_a_failure_after_the_first_byte_ends_the_stream_with_an_error_event(
    proxy: RunningProxy, emulator: RunningEmulator, flags: dict[str, bool], name: str
) -> None:
    if name == "drop_after_2" and emulator.ca_path is not None:
        pytest.skip(
            "Hypercorn's HTTP/2 leaves a stream whose app raised open (no RST_STREAM), so the "
            "in-process emulator cannot drop one: test_a_reset_http2_stream_... uses granian"
        )
    events = sse_events(proxy, name, flags)
    names = [event for event, _ in events if event != "ping"]
    assert names[0] == "message_start" and names[-1] == "error"
    assert "message_stop" not in names and names.count("message_start") == 1
    assert events[-1][1]["error"]["type"] == "api_error"
    assert len(emulator.requests()) == 1  # never retried after bytes reached the client
    assert metric(proxy, "compatkit_stream_errors_total", error_type="api_error") == 1
    with pytest.raises(anthropic.APIStatusError):  # and the SDK surfaces it
        ask(sdk(proxy, flags), name, stream=True)


@on_every_server
@pytest.mark.parametrize("flags", RETRY_ARMS[1:])
def test_a_reset_http2_stream_ends_the_client_stream_with_an_error_event(
    flags: dict[str, bool], server_name: ServerName
) -> None:
    """The emulator as `compatkit emulate` runs it (granian, TLS): its `drop` fault resets the
    HTTP/2 stream after two chunks, which must end the client's stream at once with an error
    event, and without a retry."""
    with emulator_process(tls=True) as emulator:
        upstream = UpstreamConfig(
            kind="gemini",
            api_keys=UPSTREAM_KEYS,
            gemini_base_url=emulator.base_url,
            ca_file=emulator.ca_path,
        )
        config = proxy_config(emulator.base_url, upstream=upstream)
        with ServerThread(create_app(config), server=server_name) as server:
            proxy = RunningProxy(server)
            events = sse_events(proxy, "drop_after_2", flags)
            names = [event for event, _ in events if event != "ping"]
            assert names[0] == "message_start" and names[-1] == "error"
            assert "message_stop" not in names
            assert len(emulator.requests()) == 1


def test_pings_keep_the_client_company_during_an_upstream_stall(proxy: RunningProxy) -> None:
    events = sse_events(proxy, "stall", {})
    names = [name for name, _ in events]
    assert "ping" in names
    assert names[-1] == "message_stop"
    first_text = next(i for i, n in enumerate(names) if n == "content_block_delta")
    assert names.index("ping") > first_text  # the stall came after the first chunk


@on_every_server
@pytest.mark.parametrize("http2", [False, True], ids=["http1-close", "h2c-stream-reset"])
def test_a_client_that_disconnects_cancels_the_upstream_request(
    proxy: RunningProxy, http2: bool
) -> None:
    """An HTTP/1.1 client closing its connection, or an h2c client resetting its stream
    (RST_STREAM CANCEL, the connection kept open), mid-stream: the upstream call ends at once."""
    body = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 64,
        "stream": True,
        "messages": [{"role": "user", "content": f"{scenario('stall_long')} hello"}],
    }
    board = proxy.services.board
    assert board is not None
    with contextlib.ExitStack() as still_open:
        if http2:
            still_open.enter_context(_h2c_stream_reset_after_the_first_data(proxy, body))
        else:
            with httpx.stream(
                "POST", proxy.url + "/v1/messages", json=body, headers={"x-api-key": PROXY_KEY}
            ) as response:
                next(response.iter_bytes())  # the stream started; now hang up during the stall
        deadline = time.monotonic() + 4  # half the stall: released by the hang-up, not the end
        while sum(board.in_flight(c.id) for c in board.credentials) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.01)
        assert sum(board.in_flight(c.id) for c in board.credentials) == 0
        assert metric(proxy, "compatkit_in_flight_requests") == 0


@contextlib.contextmanager
def _h2c_stream_reset_after_the_first_data(
    proxy: RunningProxy, body: dict[str, Any]
) -> Iterator[None]:
    """An h2c connection to the proxy whose one stream is reset once its first DATA came;
    the connection stays open until the context ends."""
    payload = json.dumps(body).encode()
    host, port = proxy.url.removeprefix("http://").rsplit(":", 1)
    connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    connection.initiate_connection()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        headers = [(":method", "POST"), (":path", "/v1/messages"), (":scheme", "http"),
                   (":authority", "proxy"), ("x-api-key", PROXY_KEY),
                   ("content-type", "application/json"),
                   ("content-length", str(len(payload)))]  # fmt: skip
        connection.send_headers(1, headers)
        connection.send_data(1, payload, end_stream=True)
        sock.sendall(connection.data_to_send())
        while not any(
            isinstance(event, h2.events.DataReceived)
            for event in connection.receive_data(sock.recv(65536))
        ):
            sock.sendall(connection.data_to_send())
        connection.reset_stream(1, h2.errors.ErrorCodes.CANCEL)
        sock.sendall(connection.data_to_send())
        yield


@pytest.mark.parametrize("pooled", [False, True], ids=["per-request-http1", "pooled-http2"])
def test_both_transport_arms_work_over_tls(pooled: bool) -> None:
    with running_emulator(EMULATOR_SCENARIOS, tls=True) as emulator:
        upstream = UpstreamConfig(
            kind="gemini",
            api_keys=("k1",),
            gemini_base_url=emulator.base_url,
            ca_file=emulator.ca_path,
        )
        config = proxy_config(emulator.base_url, upstream=upstream)
        with ServerThread(create_app(config)) as server:
            proxy = RunningProxy(server)
            client = sdk(proxy, {"ff_http2_pool_tuning": pooled})
            texts = {ask(client, "default", stream=stream) for stream in (False, True, True)}
            assert len(texts) == 1
            assert (proxy.services.upstream.transport._pooled is not None) == pooled  # type: ignore[union-attr]


def test_code_assist_surface_with_oauth_credentials(tmp_path: Path) -> None:
    with running_emulator(EMULATOR_SCENARIOS) as emulator:
        files = []
        for i, refresh in enumerate(["emulator-refresh-token", "emulator-refresh-token-2"]):
            path = tmp_path / f"oauth_creds_{i}.json"
            path.write_text(
                json.dumps({"access_token": "stale", "refresh_token": refresh, "expiry_date": 1000})
            )
            files.append(path)
        upstream = UpstreamConfig(
            kind="code_assist",
            oauth_files=tuple(files),
            code_assist_base_url=emulator.base_url,
            oauth_token_uri=emulator.base_url + "/token",
            oauth_client_id="client",
            oauth_client_secret="secret",
            onboard_poll_interval=0.01,
        )
        config = proxy_config(emulator.base_url, upstream=upstream)
        with ServerThread(create_app(config)) as server:
            client = sdk(RunningProxy(server), {})
            assert ask(client, "default", stream=False) == ask(client, "default", stream=True)
            counted = client.messages.count_tokens(
                model="claude-sonnet-4-6", messages=[{"role": "user", "content": "count me"}]
            )
            assert counted.input_tokens > 0
            with_system = client.messages.count_tokens(
                model="claude-sonnet-4-6",
                system="a system prompt of eight words in all",
                messages=[{"role": "user", "content": "count me"}],
            )
            assert with_system.input_tokens == counted.input_tokens + 8
        generate = [
            r
            for r in emulator.requests()
            if r["path"].endswith("GenerateContent") or r["path"].endswith(":generateContent")
        ]
        assert {r["surface"] for r in generate} == {"code_assist"}
        assert all(r["verdict"] == "ok" for r in generate)
        assert generate[0]["body"]["model"] == "gemini-2.5-pro"
        assert "contents" in generate[0]["body"]["request"]
        count, with_system = [r for r in emulator.requests() if r["path"].endswith(":countTokens")]
        assert (
            count["verdict"] == "ok"
            and count["body"]["request"]["model"] == "models/gemini-2.5-pro"
        )
        assert with_system["verdict"] == "ok"
        assert with_system["body"]["request"]["contents"][0]["parts"][0] == {
            "text": "a system prompt of eight words in all"
        }


def test_health_scheduler_steers_scarce_model_requests_away_from_a_failing_credential(
    proxy: RunningProxy, emulator: RunningEmulator
) -> None:
    flags = {"ff_preview_credential_scheduler_v2": True, "ff_retry_policy_v2": True}
    client = sdk(proxy, flags)
    assert ask(client, "unavailable_first", stream=False)  # one 503, then a success
    failed = emulator.requests()[0]["credential"]
    for _ in range(6):
        ask(client, "default", stream=False)  # gemini-2.5-pro is scarce: health scheduler
    later = [r["credential"] for r in emulator.requests()[2:]]
    assert len(later) == 6 and failed not in later

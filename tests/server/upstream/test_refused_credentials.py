"""Credentials the upstream refuses, in both retry arms (real emulator, real proxy, official SDKs).

Rules:
- a key the upstream calls invalid, expired or suspended is taken out of rotation with the
  reason (admin API, metrics) and the request goes to another credential before any byte
  reached the client; no client sees the refusal while a credential is left;
- when every credential is refused, the client gets an upstream auth failure (502 api_error,
  OpenAI `upstream_auth_failed`), then 503 while none is enabled;
- a 403 without a reason may be about the request (a file not shared with the project): it
  takes a credential out only once another credential served the same request, and a request
  refused everywhere leaves every credential in rotation;
- an OAuth credential whose access token the upstream refuses, wherever (Code Assist setup,
  generate, countTokens), is refreshed once and the call retried; it is taken out only when
  its refresh token is refused;
- the reason never quotes the secret Google echoed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from conformance.emulator.testing import RunningEmulator, running_emulator
from server.app import create_app
from server.config import UpstreamConfig
from server.hosting import ServerThread
from tests.server.conftest import (
    ADMIN_KEY,
    EMULATOR_SCENARIOS,
    PROXY_KEY,
    RunningProxy,
    proxy_config,
)
from tests.server.upstream.test_client import RETRY_ARMS, ask, metric, sdk

GOOD_KEYS = ("AIzaSyGood0000000000000000000000000001", "AIzaSyGood0000000000000000000000000002")
SUSPENDED_KEY = "AIzaSySuspended000000000000000000000003"
REFUSED = {  # the cause each is refused for -> the key
    "invalid": "AIzaSyUnknown00000000000000000000000004",  # not in [auth] api_keys
    "expired": "AIzaSyExpired00000000000000000000000005",
    "forbidden": SUSPENDED_KEY,
}
FORBIDDEN_KEY = "AIzaSyForbidden000000000000000000000006"  # a 403 without a reason


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    config = {
        **EMULATOR_SCENARIOS,
        "auth": {
            "api_keys": [*GOOD_KEYS, REFUSED["expired"], SUSPENDED_KEY, FORBIDDEN_KEY],
            "refused_api_keys": {
                REFUSED["expired"]: "expired",
                SUSPENDED_KEY: "suspended",
                FORBIDDEN_KEY: "forbidden",
            },
        },
        "scenarios": {
            **EMULATOR_SCENARIOS["scenarios"],
            "permission_denied": {"faults": [{"kind": "permission_denied", "every": 1}]},
        },
    }
    with running_emulator(config) as running:
        yield running


@pytest.fixture
def start_proxy(emulator: RunningEmulator) -> Iterator[Any]:
    emulator.reset()
    servers: list[ServerThread] = []

    def start(*keys: str) -> RunningProxy:
        upstream = UpstreamConfig(kind="gemini", api_keys=keys, gemini_base_url=emulator.base_url)
        server = ServerThread(create_app(proxy_config(emulator.base_url, upstream=upstream)))
        servers.append(server.start())
        return RunningProxy(server)

    yield start
    for server in servers:
        server.stop()


def credentials(proxy: RunningProxy) -> dict[str, dict[str, Any]]:
    """The admin API's credentials by masked key (the last 4 characters)."""
    answer = httpx.get(proxy.url + "/admin/credentials", headers={"x-api-key": ADMIN_KEY})
    return {c["key"][-4:]: c for c in answer.json()["data"]}


def key_uses(emulator: RunningEmulator, key: str) -> int:
    from conformance.emulator.app import credential_id

    return sum(r["credential"] == "key:" + credential_id(key) for r in emulator.requests())


def serve_until_disabled(
    proxy: RunningProxy, client: anthropic.Anthropic, entry: Callable[[], dict[str, Any]]
) -> None:
    """Requests (all served, streamed or not) until the scheduler, which picks at random, has
    tried the refused credential and taken it out; then a few more. 40 at most: the chance
    that two credentials never meet the refused one is 2**-40."""
    for number in range(40):
        assert ask(client, "default", stream=number % 2 == 1)
        if entry()["state"] == "disabled":
            break
    for number in range(4):
        assert ask(client, "default", stream=number % 2 == 1)


@pytest.mark.parametrize("flags", RETRY_ARMS)
@pytest.mark.parametrize("refused", sorted(REFUSED))
def test_a_refused_key_is_taken_out_of_rotation_and_no_client_sees_it(
    start_proxy: Any, emulator: RunningEmulator, flags: dict[str, bool], refused: str
) -> None:
    proxy = start_proxy(GOOD_KEYS[0], REFUSED[refused])
    client = sdk(proxy, flags)
    serve_until_disabled(proxy, client, lambda: credentials(proxy)[REFUSED[refused][-4:]])
    listed = credentials(proxy)[REFUSED[refused][-4:]]
    assert listed["state"] == "disabled"
    assert listed["disabled_reason"].startswith(f"upstream refused the credential ({refused})")
    assert key_uses(emulator, REFUSED[refused]) == 1  # out of rotation after one refusal
    assert metric(proxy, "compatkit_credential_state", state="disabled") == 1
    assert metric(proxy, "compatkit_credentials_refused_total", cause=refused) == 1
    assert credentials(proxy)[GOOD_KEYS[0][-4:]]["state"] == "ready"


def test_the_reason_never_quotes_the_key_google_echoed(start_proxy: Any) -> None:
    proxy = start_proxy(SUSPENDED_KEY)
    client = sdk(proxy, {})
    with pytest.raises(anthropic.APIStatusError) as raised:
        ask(client, "default", stream=False)
    admin = httpx.get(proxy.url + "/admin/credentials", headers={"x-api-key": ADMIN_KEY}).text
    assert "has been suspended" in admin and "has been suspended" in raised.value.message
    assert SUSPENDED_KEY not in admin and SUSPENDED_KEY not in raised.value.message
    assert SUSPENDED_KEY not in httpx.get(proxy.url + "/metrics").text


@pytest.mark.parametrize("flags", RETRY_ARMS)
def test_when_every_key_is_refused_the_client_gets_an_upstream_auth_failure(
    start_proxy: Any, flags: dict[str, bool]
) -> None:
    proxy = start_proxy(REFUSED["invalid"], REFUSED["expired"])
    with pytest.raises(anthropic.InternalServerError) as raised:
        ask(sdk(proxy, flags), "default", stream=True)
    assert raised.value.status_code == 502
    assert raised.value.body["error"]["type"] == "api_error"
    assert "upstream refused the credential" in raised.value.message
    assert {c["state"] for c in credentials(proxy).values()} == {"disabled"}
    chat = openai.OpenAI(
        base_url=proxy.url + "/v1",
        api_key=PROXY_KEY,
        max_retries=0,
        default_headers=sdk(proxy, flags).default_headers,  # type: ignore[arg-type]
    )
    with pytest.raises(openai.InternalServerError) as none_left:
        chat.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert none_left.value.status_code == 503
    assert "No upstream credential is enabled" in none_left.value.message


def test_an_openai_client_sees_upstream_auth_failed_when_every_key_is_refused(
    start_proxy: Any,
) -> None:
    proxy = start_proxy(REFUSED["invalid"])
    chat = openai.OpenAI(base_url=proxy.url + "/v1", api_key=PROXY_KEY, max_retries=0)
    with pytest.raises(openai.InternalServerError) as raised:
        chat.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert raised.value.status_code == 502
    assert raised.value.code == "upstream_auth_failed"


@pytest.mark.parametrize("flags", RETRY_ARMS)
def test_a_403_without_a_reason_takes_a_key_out_once_another_key_served_the_request(
    start_proxy: Any, emulator: RunningEmulator, flags: dict[str, bool]
) -> None:
    proxy = start_proxy(GOOD_KEYS[0], FORBIDDEN_KEY)
    client = sdk(proxy, flags)
    serve_until_disabled(proxy, client, lambda: credentials(proxy)[FORBIDDEN_KEY[-4:]])
    listed = credentials(proxy)[FORBIDDEN_KEY[-4:]]
    assert listed["state"] == "disabled"
    assert listed["disabled_reason"].startswith("upstream refused the credential (forbidden)")
    assert key_uses(emulator, FORBIDDEN_KEY) == 1


@pytest.mark.parametrize("flags", RETRY_ARMS)
def test_a_request_refused_by_every_credential_leaves_them_all_in_rotation(
    start_proxy: Any, emulator: RunningEmulator, flags: dict[str, bool]
) -> None:
    proxy = start_proxy(*GOOD_KEYS)
    with pytest.raises(anthropic.APIStatusError):
        ask(sdk(proxy, flags), "permission_denied", stream=False)
    assert {c["state"] for c in credentials(proxy).values()} == {"ready"}
    assert len(emulator.requests()) == 2  # each credential tried once, none twice
    assert ask(sdk(proxy, flags), "default", stream=False)


# --- OAuth (Code Assist) ------------------------------------------------------------------------

OAUTH_EMULATOR = {
    **EMULATOR_SCENARIOS,
    "auth": {"access_tokens": []},  # only tokens issued by /token are valid bearers
    "oauth": {"refresh_tokens": ["emulator-refresh-token", "emulator-refresh-token-2"]},
}
FAR_FUTURE_MS = 4_102_444_800_000  # 2100: the proxy has no reason to refresh by itself


def oauth_file(tmp_path: Path, name: str, refresh: str, access: str = "ya29.stale") -> Path:
    path = tmp_path / f"{name}.json"
    path.write_text(
        json.dumps({"access_token": access, "refresh_token": refresh, "expiry_date": FAR_FUTURE_MS})
    )
    return path


def oauth_proxy(emulator: RunningEmulator, *files: Path) -> ServerThread:
    upstream = UpstreamConfig(
        kind="code_assist",
        oauth_files=files,
        code_assist_base_url=emulator.base_url,
        oauth_token_uri=emulator.base_url + "/token",
        oauth_client_id="client",
        oauth_client_secret="secret",
        onboard_poll_interval=0.01,
    )
    return ServerThread(create_app(proxy_config(emulator.base_url, upstream=upstream)))


def token_requests(emulator: RunningEmulator) -> int:
    return sum(r["path"] == "/token" for r in emulator.requests())


@pytest.mark.parametrize("flags", RETRY_ARMS)
def test_an_access_token_refused_at_setup_is_refreshed_and_the_request_served(
    tmp_path: Path, flags: dict[str, bool]
) -> None:
    with running_emulator(OAUTH_EMULATOR) as emulator:
        path = oauth_file(tmp_path, "creds", "emulator-refresh-token")
        with oauth_proxy(emulator, path) as server:
            proxy = RunningProxy(server)
            assert ask(sdk(proxy, flags), "default", stream=False)
            (listed,) = credentials_by_id(proxy).values()
        setup = [r for r in emulator.requests() if r["path"].endswith(":loadCodeAssist")]
        assert [r["status"] for r in setup][:1] == [401]
        assert token_requests(emulator) == 1
        assert listed["state"] == "ready" and listed["disabled_reason"] is None
        assert json.loads(path.read_text())["access_token"] != "ya29.stale"


@pytest.mark.parametrize("flags", RETRY_ARMS)
@pytest.mark.parametrize("call", ["generate", "stream", "count_tokens"])
def test_an_access_token_refused_later_is_refreshed_once_and_the_call_retried(
    tmp_path: Path, flags: dict[str, bool], call: str
) -> None:
    with running_emulator(OAUTH_EMULATOR) as emulator:
        path = oauth_file(tmp_path, "creds", "emulator-refresh-token")
        with oauth_proxy(emulator, path) as server:
            proxy = RunningProxy(server)
            client = sdk(proxy, flags)
            assert ask(client, "default", stream=False)  # setup done, token refreshed once
            token = json.loads(path.read_text())["access_token"]
            httpx.post(emulator.url("/revoke"), data={"token": token}).raise_for_status()
            if call == "count_tokens":
                messages = [{"role": "user", "content": "count me"}]
                counted = client.messages.count_tokens(model="claude-sonnet-4-6", messages=messages)
                assert counted.input_tokens > 0
            else:
                assert ask(client, "default", stream=call == "stream")
            (listed,) = credentials_by_id(proxy).values()
        assert token_requests(emulator) == 2
        assert listed["state"] == "ready"
        assert json.loads(path.read_text())["access_token"] != token


@pytest.mark.parametrize("flags", RETRY_ARMS)
def test_a_credential_whose_refresh_token_is_refused_is_taken_out_and_another_serves(
    tmp_path: Path, flags: dict[str, bool]
) -> None:
    with running_emulator(OAUTH_EMULATOR) as emulator:
        dead = oauth_file(tmp_path, "dead", "revoked-refresh-token")
        alive = oauth_file(tmp_path, "alive", "emulator-refresh-token")
        with oauth_proxy(emulator, dead, alive) as server:
            proxy = RunningProxy(server)
            client = sdk(proxy, flags)

            def dead_entry_now() -> dict[str, Any]:
                listed = credentials_by_id(proxy).values()
                return next(c for c in listed if c["file"] == str(dead))

            serve_until_disabled(proxy, client, dead_entry_now)
            listed = credentials_by_id(proxy)
        dead_entry = next(c for c in listed.values() if c["file"] == str(dead))
        assert dead_entry["state"] == "disabled"
        assert "invalid_grant" in dead_entry["disabled_reason"]
        alive_entry = next(c for c in listed.values() if c["file"] == str(alive))
        assert alive_entry["state"] == "ready"


def credentials_by_id(proxy: RunningProxy) -> dict[str, dict[str, Any]]:
    answer = httpx.get(proxy.url + "/admin/credentials", headers={"x-api-key": ADMIN_KEY})
    return {c["id"]: c for c in answer.json()["data"]}

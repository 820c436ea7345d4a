"""The Code Assist v1internal surface and the OAuth token endpoint (codeassist.py, oauth.py, app.py)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import orjson
import pytest

from conformance.emulator.testing import RunningEmulator, running_emulator

ENVELOPE = {
    "model": "gemini-2.5-pro",
    "project": "my-project",
    "user_prompt_id": "p-1",
    "request": {
        "contents": [{"role": "user", "parts": [{"text": "hello code assist"}]}],
        "session_id": "s-1",
    },
}
REFRESH_FORM = {
    "grant_type": "refresh_token",
    "client_id": "cid",
    "client_secret": "csecret",
    "refresh_token": "rt-good",
}
CONFIG = {
    "auth": {"access_tokens": []},  # only tokens issued by /token are valid bearers
    "oauth": {
        "refresh_tokens": ["rt-good"],
        "clients": [{"client_id": "cid", "client_secret": "csecret"}],
        "access_token_ttl_s": 3599,
    },
}


@pytest.fixture
def strict_emulator() -> Iterator[RunningEmulator]:
    with running_emulator(CONFIG) as running:
        yield running


def bearer_client(emulator: RunningEmulator) -> httpx.Client:
    token = httpx.post(emulator.url("/token"), data=REFRESH_FORM).json()["access_token"]
    return httpx.Client(
        base_url=emulator.base_url, headers={"authorization": f"Bearer {token}"}, timeout=30
    )


def test_refresh_grant_returns_google_token_response(strict_emulator: RunningEmulator) -> None:
    response = httpx.post(strict_emulator.url("/token"), data=REFRESH_FORM)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3599
    assert body["access_token"].startswith("ya29.")
    assert "cloud-platform" in body["scope"]


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"refresh_token": "rt-unknown"}, 400, "invalid_grant"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"client_secret": "wrong"}, 401, "invalid_client"),
    ],
)
def test_token_endpoint_errors_are_oauth_error_bodies(
    strict_emulator: RunningEmulator, change: dict[str, str], status: int, error: str
) -> None:
    response = httpx.post(strict_emulator.url("/token"), data={**REFRESH_FORM, **change})
    assert response.status_code == status
    assert response.json()["error"] == error


def test_token_request_secrets_are_not_recorded(strict_emulator: RunningEmulator) -> None:
    httpx.post(strict_emulator.url("/token"), data=REFRESH_FORM)
    recorded = orjson.dumps(strict_emulator.requests()).decode()
    assert "rt-good" not in recorded and "csecret" not in recorded


def test_code_assist_needs_an_issued_bearer_token(strict_emulator: RunningEmulator) -> None:
    url = strict_emulator.url("/v1internal:generateContent")
    assert httpx.post(url, json=ENVELOPE).status_code == 401
    assert (
        httpx.post(url, json=ENVELOPE, headers={"authorization": "Bearer forged"}).status_code
        == 401
    )
    with bearer_client(strict_emulator) as client:
        assert client.post("/v1internal:generateContent", json=ENVELOPE).status_code == 200


def test_generate_content_answers_in_the_response_envelope(
    strict_emulator: RunningEmulator,
) -> None:
    with bearer_client(strict_emulator) as client:
        body = client.post("/v1internal:generateContent", json=ENVELOPE).json()
    assert set(body) == {"response", "traceId"}
    assert body["response"]["candidates"][0]["finishReason"] == "STOP"
    assert body["response"]["modelVersion"] == "gemini-2.5-pro"


def test_stream_events_each_carry_the_envelope(strict_emulator: RunningEmulator) -> None:
    with bearer_client(strict_emulator) as client:
        text = client.post("/v1internal:streamGenerateContent?alt=sse", json=ENVELOPE).text
    events = [orjson.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]
    assert len(events) == 3
    assert all(set(e) == {"response", "traceId"} for e in events)
    assert len({e["traceId"] for e in events}) == 1
    assert events[-1]["response"]["candidates"][0]["finishReason"] == "STOP"


def test_count_tokens_takes_the_request_envelope(strict_emulator: RunningEmulator) -> None:
    count = {
        "request": {"model": "models/gemini-2.5-pro", "contents": ENVELOPE["request"]["contents"]}
    }
    with bearer_client(strict_emulator) as client:
        response = client.post("/v1internal:countTokens", json=count)
    assert response.status_code == 200, response.text
    assert response.json() == {"totalTokens": 3}


def test_validation_errors_use_request_prefixed_paths(strict_emulator: RunningEmulator) -> None:
    bad = {**ENVELOPE, "request": {"contents": [{"role": "user", "parts": [{"txt": "x"}]}]}}
    with bearer_client(strict_emulator) as client:
        response = client.post("/v1internal:generateContent", json=bad)
    assert response.status_code == 400
    assert "request.contents[0].parts[0]" in response.json()["error"]["message"]


def test_setup_flow_onboards_through_a_long_running_operation(
    strict_emulator: RunningEmulator,
) -> None:
    metadata = {
        "ideType": "IDE_UNSPECIFIED",
        "platform": "PLATFORM_UNSPECIFIED",
        "pluginType": "GEMINI",
    }
    with bearer_client(strict_emulator) as client:
        before = client.post("/v1internal:loadCodeAssist", json={"metadata": metadata}).json()
        assert "currentTier" not in before
        assert "free-tier" in [t["id"] for t in before["allowedTiers"]]
        refused = client.post(
            "/v1internal:onboardUser",
            json={"tierId": "free-tier", "cloudaicompanionProject": "p", "metadata": metadata},
        )
        assert (refused.status_code, refused.json()["error"]["status"]) == (
            400,
            "FAILED_PRECONDITION",
        )
        operation = client.post(
            "/v1internal:onboardUser", json={"tierId": "free-tier", "metadata": metadata}
        ).json()
        assert operation["done"] is False
        polled = client.get(f"/v1internal/{operation['name']}").json()
        assert polled["done"] is True
        project = polled["response"]["cloudaicompanionProject"]["id"]
        after = client.post("/v1internal:loadCodeAssist", json={"metadata": metadata}).json()
        assert after["currentTier"]["id"] == "free-tier"
        assert after["cloudaicompanionProject"] == project
        assert client.get("/v1internal/operations/none").status_code == 404


def test_bookkeeping_methods_gemini_cli_calls_are_answered(
    strict_emulator: RunningEmulator,
) -> None:
    with bearer_client(strict_emulator) as client:
        for method in ("listExperiments", "retrieveUserQuota", "recordCodeAssistMetrics"):
            assert client.post(f"/v1internal:{method}", json={"project": "p"}).status_code == 200


def test_issued_access_tokens_expire_after_their_lifetime() -> None:
    from conformance.emulator.oauth import TokenIssuer
    from conformance.emulator.scenarios import parse_config

    now = [1000.0]
    issuer = TokenIssuer(parse_config(CONFIG), clock=lambda: now[0])
    status, body = issuer.refresh(REFRESH_FORM)
    assert status == 200
    assert issuer.identity(body["access_token"]) is not None
    now[0] += 3599
    assert issuer.identity(body["access_token"]) is None


def test_account_setup_endpoints_a_code_assist_proxy_calls(
    strict_emulator: RunningEmulator,
) -> None:
    with bearer_client(strict_emulator) as client:
        email = client.get("/oauth2/v2/userinfo").json()["email"]
        assert email.endswith("@example.com")
        project = client.get("/v1/projects").json()["projects"][0]["projectId"]
        enabled = client.post(
            f"/v1/projects/{project}/services/cloudaicompanion.googleapis.com:enable"
        )
        assert enabled.json()["done"] is True
    assert httpx.get(strict_emulator.url("/oauth2/v2/userinfo")).status_code == 401


METADATA = {
    "ideType": "IDE_UNSPECIFIED",
    "platform": "PLATFORM_UNSPECIFIED",
    "pluginType": "GEMINI",
}
FREE_TIER = {"tierId": "free-tier", "metadata": METADATA}


def test_onboarding_again_answers_the_finished_operation(strict_emulator: RunningEmulator) -> None:
    # Older gemini-cli releases poll by calling onboardUser again until it says done.
    with bearer_client(strict_emulator) as client:
        first = client.post("/v1internal:onboardUser", json=FREE_TIER).json()
        client.get(f"/v1internal/{first['name']}")
        again = client.post("/v1internal:onboardUser", json=FREE_TIER).json()
    assert again["done"] is True
    assert again["response"]["cloudaicompanionProject"]["id"].startswith("emulated-")


@pytest.mark.parametrize("polls", [0, 1, 3])
def test_onboarding_takes_the_configured_number_of_polls(polls: int) -> None:
    config = {**CONFIG, "codeassist": {"onboarding_polls": polls}}
    with running_emulator(config) as emulator, bearer_client(emulator) as client:
        operation = client.post("/v1internal:onboardUser", json=FREE_TIER).json()
        answers = [operation]
        while not answers[-1]["done"] and len(answers) <= 5:
            answers.append(client.get(f"/v1internal/{operation['name']}").json())
    assert len(answers) == polls + 1
    assert answers[-1]["response"]["cloudaicompanionProject"]["id"].startswith("emulated-")


def test_onboarding_polls_must_be_a_small_non_negative_integer() -> None:
    from conformance.emulator.scenarios import ConfigError, parse_config

    for bad in (-1, 1.5, "2", 101):
        with pytest.raises(ConfigError, match=r"codeassist\.onboarding_polls"):
            parse_config({"codeassist": {"onboarding_polls": bad}})


def test_a_revoked_access_token_is_refused_and_a_refresh_gets_a_new_one(
    strict_emulator: RunningEmulator,
) -> None:
    with bearer_client(strict_emulator) as client:
        token = client.headers["authorization"].removeprefix("Bearer ")
        revoked = httpx.post(strict_emulator.url("/revoke"), data={"token": token})
        assert (revoked.status_code, revoked.json()) == (200, {})
        assert client.post("/v1internal:generateContent", json=ENVELOPE).status_code == 401
        again = httpx.post(strict_emulator.url("/revoke"), data={"token": token})
        assert (again.status_code, again.json()["error"]) == (400, "invalid_token")
    with bearer_client(strict_emulator) as client:  # the refresh token still works
        assert client.post("/v1internal:generateContent", json=ENVELOPE).status_code == 200


def test_a_revoked_refresh_token_can_no_longer_refresh_nor_use_its_tokens(
    strict_emulator: RunningEmulator,
) -> None:
    with bearer_client(strict_emulator) as client:
        revoked = httpx.post(strict_emulator.url("/revoke"), params={"token": "rt-good"})
        assert revoked.status_code == 200
        assert client.post("/v1internal:generateContent", json=ENVELOPE).status_code == 401
    refresh = httpx.post(strict_emulator.url("/token"), data=REFRESH_FORM)
    assert (refresh.status_code, refresh.json()["error"]) == (400, "invalid_grant")

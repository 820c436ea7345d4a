"""Credentials: API keys, OAuth refresh (once, before expiry, written back), project discovery."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
import respx

from server.config import UpstreamConfig
from server.credentials.code_assist_setup import CodeAssistEndpoint
from server.credentials.credential import ApiKeyCredential, OAuthCredential, load_credentials
from server.credentials.errors import CredentialError

TOKEN_URI = "https://127.0.0.1:9/token"
BASE = "https://127.0.0.1:9"
NOW = 1_700_000_000.0


class FakeClock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def creds_file(tmp_path: Path, *, expires_in: float, name: str = "oauth_creds.json") -> Path:
    path = tmp_path / name
    path.write_text(
        json.dumps(
            {
                "access_token": "ya29.old",
                "refresh_token": "1//refresh-secret",
                "expiry_date": int((NOW + expires_in) * 1000),
                "client_id": "cid",
                "client_secret": "csecret",
            }
        )
    )
    return path


def oauth(path: Path, clock: FakeClock | None = None, **kwargs) -> OAuthCredential:
    return OAuthCredential(path, token_uri=TOKEN_URI, clock=clock or FakeClock(), **kwargs)


def token_answer(access: str = "ya29.new") -> httpx.Response:
    return httpx.Response(200, json={"access_token": access, "expires_in": 3600})


# --- API keys --------------------------------------------------------------------------------


async def test_an_api_key_authenticates_with_x_goog_api_key() -> None:
    async with httpx.AsyncClient() as client:
        headers = await ApiKeyCredential("AIzaSy-secret-key-9876").auth_headers(client)
    assert headers == {"x-goog-api-key": "AIzaSy-secret-key-9876"}


def test_an_api_keys_id_is_stable_and_does_not_reveal_the_key() -> None:
    first, again = (
        ApiKeyCredential("AIzaSy-secret-key-9876"),
        ApiKeyCredential("AIzaSy-secret-key-9876"),
    )
    assert first.id == again.id != ApiKeyCredential("other-key-000000").id
    for text in (first.id, repr(first), str(first.describe())):
        assert "secret-key" not in text
    assert first.describe()["key"] == "***9876"


async def test_an_api_key_has_no_token_to_refresh_when_refused() -> None:
    credential = ApiKeyCredential("AIzaSy-secret-key-9876")
    assert not credential.refreshable
    async with httpx.AsyncClient() as client:
        headers = await credential.auth_headers(client)
        credential.report_refused(headers)
        assert await credential.auth_headers(client) == headers
        assert await credential.project(client) is None


def test_an_api_key_is_masked_in_a_message_that_quotes_it() -> None:
    credential = ApiKeyCredential("AIzaSy-secret-key-9876")
    quoted = "Permission denied: Consumer 'api_key:AIzaSy-secret-key-9876' has been suspended."
    assert credential.redact(quoted) == (
        "Permission denied: Consumer 'api_key:***9876' has been suspended."
    )


# --- OAuth -----------------------------------------------------------------------------------


@respx.mock
async def test_a_fresh_token_is_used_without_refreshing(tmp_path: Path) -> None:
    route = respx.post(TOKEN_URI).mock(return_value=token_answer())
    credential = oauth(creds_file(tmp_path, expires_in=3600))
    async with httpx.AsyncClient() as client:
        assert await credential.auth_headers(client) == {"Authorization": "Bearer ya29.old"}
    assert route.call_count == 0


@respx.mock
async def test_a_token_near_expiry_is_refreshed_and_written_back(tmp_path: Path) -> None:
    respx.post(TOKEN_URI).mock(return_value=token_answer())
    path = creds_file(tmp_path, expires_in=30)
    credential = oauth(path)
    async with httpx.AsyncClient() as client:
        assert await credential.auth_headers(client) == {"Authorization": "Bearer ya29.new"}
    saved = json.loads(path.read_text())
    assert saved["access_token"] == "ya29.new"
    assert saved["expiry_date"] == int((NOW + 3600) * 1000)
    assert saved["refresh_token"] == "1//refresh-secret" and saved["client_id"] == "cid"


@respx.mock
async def test_a_refreshed_token_is_used_even_if_the_file_cannot_be_written(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    respx.post(TOKEN_URI).mock(return_value=token_answer())
    folder = tmp_path / "gone"
    folder.mkdir()
    path = creds_file(folder, expires_in=-10)
    credential = oauth(path)
    path.unlink()
    folder.rmdir()  # nowhere to write the refreshed token
    async with httpx.AsyncClient() as client:
        assert await credential.auth_headers(client) == {"Authorization": "Bearer ya29.new"}
    assert "could not write back" in caplog.text and "ya29" not in caplog.text


@respx.mock
async def test_concurrent_requests_refresh_once(tmp_path: Path) -> None:
    async def slow_answer(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)  # let the other callers pile up on the lock
        return token_answer()

    route = respx.post(TOKEN_URI).mock(side_effect=slow_answer)
    credential = oauth(creds_file(tmp_path, expires_in=-10))
    async with httpx.AsyncClient() as client:
        results = await asyncio.gather(*(credential.auth_headers(client) for _ in range(10)))
    assert route.call_count == 1
    assert {r["Authorization"] for r in results} == {"Bearer ya29.new"}


@respx.mock
async def test_a_token_reported_refused_is_refreshed_once_for_concurrent_callers(
    tmp_path: Path,
) -> None:
    route = respx.post(TOKEN_URI).mock(return_value=token_answer())
    credential = oauth(creds_file(tmp_path, expires_in=3600))
    async with httpx.AsyncClient() as client:
        refused = await credential.auth_headers(client)
        for _ in range(5):  # five requests sent with the old token, all refused
            credential.report_refused(refused)
        headers = await asyncio.gather(*(credential.auth_headers(client) for _ in range(5)))
        credential.report_refused(refused)  # a late report about the old token changes nothing
        assert await credential.auth_headers(client) == {"Authorization": "Bearer ya29.new"}
    assert {h["Authorization"] for h in headers} == {"Bearer ya29.new"}
    assert route.call_count == 1


@respx.mock
async def test_a_refreshed_token_refused_again_is_refreshed_again(tmp_path: Path) -> None:
    route = respx.post(TOKEN_URI).mock(side_effect=[token_answer("ya29.a"), token_answer("ya29.b")])
    credential = oauth(creds_file(tmp_path, expires_in=3600))
    async with httpx.AsyncClient() as client:
        credential.report_refused(await credential.auth_headers(client))
        credential.report_refused(await credential.auth_headers(client))
        assert await credential.auth_headers(client) == {"Authorization": "Bearer ya29.b"}
    assert route.call_count == 2


async def test_oauth_tokens_are_masked_in_a_message_that_quotes_them(tmp_path: Path) -> None:
    credential = oauth(creds_file(tmp_path, expires_in=3600))
    async with httpx.AsyncClient() as client:
        token = (await credential.auth_headers(client))["Authorization"].removeprefix("Bearer ")
    assert token not in credential.redact(f"token {token} refused")


@respx.mock
async def test_a_refused_refresh_is_a_credential_error_naming_the_credential(
    tmp_path: Path,
) -> None:
    respx.post(TOKEN_URI).mock(return_value=httpx.Response(400, json={"error": "invalid_grant"}))
    credential = oauth(creds_file(tmp_path, expires_in=-10))
    async with httpx.AsyncClient() as client:
        with pytest.raises(CredentialError, match=f"{credential.id}: .*invalid_grant") as caught:
            await credential.auth_headers(client)
    assert "refresh-secret" not in str(caught.value)


def test_an_unreadable_file_is_a_credential_error(tmp_path: Path) -> None:
    with pytest.raises(CredentialError, match="does not exist"):
        oauth(tmp_path / "missing.json")


def test_oauth_ids_are_stable_per_file_and_reprs_hide_tokens(tmp_path: Path) -> None:
    path = creds_file(tmp_path, expires_in=3600)
    credential = oauth(path)
    assert credential.id == oauth(path).id and credential.id.startswith("oauth-oauth_creds-")
    for text in (repr(credential), repr(credential.token), str(credential.describe())):
        assert "ya29" not in text and "refresh-secret" not in text and "csecret" not in text


@respx.mock
async def test_the_project_is_discovered_once_and_cached(tmp_path: Path) -> None:
    load = respx.post(f"{BASE}/v1internal:loadCodeAssist").mock(
        return_value=httpx.Response(
            200, json={"currentTier": {"id": "free-tier"}, "cloudaicompanionProject": "p-9"}
        )
    )
    credential = oauth(creds_file(tmp_path, expires_in=3600), endpoint=CodeAssistEndpoint(BASE))
    async with httpx.AsyncClient() as client:
        projects = await asyncio.gather(*(credential.project(client) for _ in range(5)))
    assert projects == ["p-9"] * 5 and load.call_count == 1
    assert load.calls.last.request.headers["authorization"] == "Bearer ya29.old"


@respx.mock
async def test_a_failed_setup_is_a_credential_error(tmp_path: Path) -> None:
    respx.post(f"{BASE}/v1internal:loadCodeAssist").mock(return_value=httpx.Response(500, json={}))
    credential = oauth(creds_file(tmp_path, expires_in=3600), endpoint=CodeAssistEndpoint(BASE))
    async with httpx.AsyncClient() as client:
        with pytest.raises(CredentialError, match="Code Assist setup: loadCodeAssist answered 500"):
            await credential.project(client)


async def test_without_an_endpoint_the_configured_project_is_used(tmp_path: Path) -> None:
    credential = oauth(creds_file(tmp_path, expires_in=3600), configured_project="cfg")
    async with httpx.AsyncClient() as client:
        assert await credential.project(client) == "cfg"


# --- loading from config ---------------------------------------------------------------------


def test_load_credentials_makes_one_per_api_key() -> None:
    upstream = UpstreamConfig(kind="gemini", api_keys=("key-one-aaaaaaaa", "key-two-bbbbbbbb"))
    credentials = load_credentials(upstream)
    assert [c.kind for c in credentials] == ["api_key", "api_key"]
    assert len({c.id for c in credentials}) == 2


@respx.mock
async def test_load_credentials_makes_one_per_oauth_file_with_the_configured_urls(
    tmp_path: Path,
) -> None:
    token = respx.post(TOKEN_URI).mock(return_value=token_answer())
    load = respx.post(f"{BASE}/v1internal:loadCodeAssist").mock(
        return_value=httpx.Response(200, json={"currentTier": {"id": "standard-tier"}})
    )
    files = (
        creds_file(tmp_path, expires_in=-1, name="a.json"),
        creds_file(tmp_path, expires_in=-1, name="b.json"),
    )
    upstream = UpstreamConfig(
        kind="code_assist",
        oauth_files=files,
        code_assist_base_url=BASE,
        oauth_token_uri=TOKEN_URI,
        project="proj",
    )
    credentials = load_credentials(upstream, clock=FakeClock())
    assert [c.kind for c in credentials] == ["oauth", "oauth"]
    async with httpx.AsyncClient() as client:
        assert await credentials[0].project(client) == "proj"
    assert token.call_count == 1 and load.call_count == 1

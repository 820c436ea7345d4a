"""OAuth token files and the refresh-token grant (respx stands in for the token endpoint)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from server.credentials.oauth import (
    OAuthError,
    OAuthToken,
    read_token_file,
    refresh_access_token,
    write_token_file,
)

TOKEN_URI = "https://127.0.0.1:9/token"
GEMINI_CLI_FILE = {
    "access_token": "ya29.old-access-token",
    "refresh_token": "1//refresh-token-secret",
    "scope": "https://www.googleapis.com/auth/cloud-platform",
    "token_type": "Bearer",
    "id_token": "eyJ.old.id",
    "expiry_date": 1_700_000_000_000,
}


def test_a_gemini_cli_file_is_read_with_expiry_in_milliseconds() -> None:
    token = OAuthToken.from_json(GEMINI_CLI_FILE)
    assert token.access_token == "ya29.old-access-token"
    assert token.refresh_token == "1//refresh-token-secret"
    assert token.expiry == 1_700_000_000.0


def test_a_google_auth_file_with_iso_expiry_and_client_fields_is_read() -> None:
    token = OAuthToken.from_json(
        {
            "token": "ya29.x",
            "refresh_token": "r",
            "expiry": "2023-11-14T22:13:20Z",
            "client_id": "cid",
            "client_secret": "csecret",
            "token_uri": "https://oauth2.googleapis.com/token",
        }
    )
    assert token.expiry == 1_700_000_000.0
    assert (token.client_id, token.client_secret) == ("cid", "csecret")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"scope": "x"}, "neither access_token nor refresh_token"),
        ({"access_token": "a", "expiry_date": "soon"}, "expiry_date must be epoch milliseconds"),
        ({"access_token": "a", "expiry": "tomorrow"}, "not an ISO 8601 time"),
        ({"access_token": "a", "client_id": 5}, "client_id must be a string"),
    ],
)
def test_a_malformed_file_is_a_clear_error(data: dict, message: str) -> None:
    with pytest.raises(OAuthError, match=message):
        OAuthToken.from_json(data)


def test_the_token_repr_hides_every_secret() -> None:
    token = OAuthToken.from_json({**GEMINI_CLI_FILE, "client_secret": "csecret-value"})
    text = repr(token)
    for secret in (
        "ya29.old-access-token",
        "1//refresh-token-secret",
        "csecret-value",
        "eyJ.old.id",
    ):
        assert secret not in text


def test_expiry_margin() -> None:
    token = OAuthToken(access_token="a", expiry=1000.0)
    assert not token.expires_within(60, now=900.0)
    assert token.expires_within(60, now=940.0)
    assert OAuthToken(access_token="a").expires_within(60, now=0.0)  # unknown expiry
    assert OAuthToken(access_token="", expiry=1e12).expires_within(60, now=0.0)  # no token


def test_writing_back_keeps_unknown_fields_and_the_gemini_cli_shape(tmp_path: Path) -> None:
    path = tmp_path / "oauth_creds.json"
    path.write_text(json.dumps(GEMINI_CLI_FILE))
    token = read_token_file(path)
    write_token_file(path, OAuthToken.from_json({**token.to_json(), "access_token": "ya29.new"}))
    data = json.loads(path.read_text())
    assert data == {**GEMINI_CLI_FILE, "access_token": "ya29.new"}
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["oauth_creds.json"]  # no temp file left


def test_reading_a_missing_or_broken_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(OAuthError, match="does not exist"):
        read_token_file(tmp_path / "none.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(OAuthError, match=r"broken\.json is unreadable"):
        read_token_file(broken)


@respx.mock
async def test_refresh_posts_the_refresh_grant_and_returns_the_new_token() -> None:
    route = respx.post(TOKEN_URI).mock(
        return_value=httpx.Response(
            200, json={"access_token": "ya29.fresh", "expires_in": 3599, "id_token": "eyJ.new"}
        )
    )
    token = OAuthToken.from_json(GEMINI_CLI_FILE)
    async with httpx.AsyncClient() as client:
        fresh = await refresh_access_token(
            client, token, token_uri=TOKEN_URI, client_id="cid", client_secret="cs", now=1000.0
        )
    form = parse_qs(route.calls.last.request.content.decode())
    assert form == {
        "grant_type": ["refresh_token"],
        "refresh_token": ["1//refresh-token-secret"],
        "client_id": ["cid"],
        "client_secret": ["cs"],
    }
    assert (fresh.access_token, fresh.expiry, fresh.refresh_token) == (
        "ya29.fresh",
        4599.0,
        "1//refresh-token-secret",
    )
    assert fresh.extra["id_token"] == "eyJ.new"


@respx.mock
async def test_the_files_client_id_wins_over_the_configured_default() -> None:
    route = respx.post(TOKEN_URI).mock(
        return_value=httpx.Response(200, json={"access_token": "a", "expires_in": 1})
    )
    token = OAuthToken.from_json({**GEMINI_CLI_FILE, "client_id": "file-cid"})
    async with httpx.AsyncClient() as client:
        await refresh_access_token(
            client, token, token_uri=TOKEN_URI, client_id="cfg", client_secret=None, now=0
        )
    assert parse_qs(route.calls.last.request.content.decode())["client_id"] == ["file-cid"]


@respx.mock
async def test_a_refused_refresh_is_an_error_without_secrets() -> None:
    respx.post(TOKEN_URI).mock(return_value=httpx.Response(400, json={"error": "invalid_grant"}))
    async with httpx.AsyncClient() as client:
        with pytest.raises(OAuthError, match=r"answered 400 \(invalid_grant\)") as caught:
            await refresh_access_token(
                client,
                OAuthToken.from_json(GEMINI_CLI_FILE),
                token_uri=TOKEN_URI,
                client_id="c",
                client_secret="s",
                now=0,
            )
    assert "refresh-token-secret" not in str(caught.value)


async def test_refresh_without_a_refresh_token_or_client_id_is_an_error() -> None:
    async with httpx.AsyncClient() as client:
        with pytest.raises(OAuthError, match="no refresh_token"):
            await refresh_access_token(
                client,
                OAuthToken(access_token="a"),
                token_uri=TOKEN_URI,
                client_id="c",
                client_secret=None,
                now=0,
            )
        with pytest.raises(OAuthError, match="no client_id"):
            await refresh_access_token(
                client,
                OAuthToken.from_json(GEMINI_CLI_FILE),
                token_uri=TOKEN_URI,
                client_id=None,
                client_secret=None,
                now=0,
            )


@respx.mock
async def test_a_network_failure_during_refresh_is_an_oauth_error() -> None:
    respx.post(TOKEN_URI).mock(side_effect=httpx.ConnectError("refused"))
    async with httpx.AsyncClient() as client:
        with pytest.raises(OAuthError, match="ConnectError"):
            await refresh_access_token(
                client,
                OAuthToken.from_json(GEMINI_CLI_FILE),
                token_uri=TOKEN_URI,
                client_id="c",
                client_secret=None,
                now=0,
            )

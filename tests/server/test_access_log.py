"""The JSON log of a real `compatkit serve` process (issue 16.7), read line by line.

Rules checked, against the emulator's Code Assist surface with a credential file whose access
token the emulator never issued, and against an upstream port where nothing listens:
- the access line (`request`) of each request carries its method, path, the client's model and
  the upstream model, the credential's id (never a token), the attempts, the tokens in and out,
  the flags, and for a failure the error type and reason; a stream's `stream closed` line
  carries its credential, attempts and tokens;
- a retry line carries the request id and says what failed: `status 401 ...` for a refused
  token, `connect refused` for a port nobody listens on (never `status 0`);
- `--log-level debug` shows the token refresh and each Code Assist onboarding step;
- no access token or refresh token appears anywhere in the log.
"""

from __future__ import annotations

import json
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import pytest

from conformance.emulator.testing import running_emulator
from tests.server.test_serve import start_serve

PROXY_KEY = "cli-key"  # what start_serve configures
STALE_TOKEN = "ya29.never-issued-by-the-emulator"
REFRESH_TOKEN = "emulator-refresh-token"
EMULATOR = {
    "auth": {"access_tokens": []},  # only tokens its /token issued: the file's is refused
    "oauth": {"refresh_tokens": [REFRESH_TOKEN]},
    "codeassist": {"onboarding_polls": 1},
}
HELLO = [{"role": "user", "content": "Hello"}]


def serve_until_stopped(config: Path, *, asks: Any) -> list[dict[str, Any]]:
    """Run `compatkit serve --config config --log-level debug`, call `asks(url)`, stop it;
    every JSON line it wrote."""
    process = start_serve("--config", str(config), "--log-level", "debug")
    assert process.stderr is not None
    lines: list[str] = []
    url = ""
    for line in process.stderr:
        lines.append(line)
        if "listening on" in line:
            url = json.loads(line)["message"].rsplit(" ", 1)[1]
            break
    assert url, "".join(lines)
    try:
        asks(url)  # a few requests: their lines fit in the pipe until read below
    finally:
        process.send_signal(signal.SIGTERM)
        lines.extend(process.stderr)
        assert process.wait(timeout=30) == 0
    return [json.loads(line) for line in lines if line.startswith("{")]


def of_request(records: list[dict[str, Any]], request_id: str) -> list[dict[str, Any]]:
    return [r for r in records if r.get("request_id") == request_id]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def code_assist_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("code-assist")
    creds = folder / "oauth_creds.json"
    creds.write_text(
        json.dumps(
            {
                "access_token": STALE_TOKEN,
                "refresh_token": REFRESH_TOKEN,
                "expiry_date": 4_102_444_800_000,  # 2100: refreshed only because refused
            }
        )
    )
    with running_emulator(EMULATOR) as emulator:
        config = folder / "compatkit.toml"
        config.write_text(
            "[upstream]\n"
            'kind = "code_assist"\n'
            f'oauth_files = ["{creds}"]\n'
            f'code_assist_base_url = "{emulator.base_url}"\n'
            f'oauth_token_uri = "{emulator.base_url}/token"\n'
            'oauth_client_id = "client"\n'
            'oauth_client_secret = "secret"\n'
            "[state]\n"
            f'path = "{folder / "state.sqlite3"}"\n'
        )
        answers: dict[str, Any] = {}

        def asks(url: str) -> None:
            client = anthropic.Anthropic(base_url=url, api_key=PROXY_KEY, max_retries=0)
            created = client.messages.with_raw_response.create(
                model="claude-sonnet-4-5", max_tokens=32, messages=HELLO
            )
            answers["generate"] = created.headers["request-id"]
            with client.messages.stream(
                model="claude-sonnet-4-5", max_tokens=32, messages=HELLO
            ) as stream:
                stream.get_final_message()
                answers["stream"] = stream.response.headers["request-id"]
            with pytest.raises(anthropic.NotFoundError) as missing:
                client.messages.create(model="no-such-model", max_tokens=8, messages=HELLO)
            answers["not_found"] = missing.value.response.headers["request-id"]

        records = serve_until_stopped(config, asks=asks)
    yield {"records": records, **answers}


def test_the_access_line_names_models_credential_attempts_tokens_and_flags(
    code_assist_log: dict[str, Any],
) -> None:
    records = of_request(code_assist_log["records"], code_assist_log["generate"])
    [line] = [r for r in records if r["message"] == "request"]
    assert line["method"] == "POST" and line["path"] == "/v1/messages"
    assert line["status"] == 200 and line["stream"] is False
    assert line["client_model"] == "claude-sonnet-4-5"
    assert line["model"].startswith("gemini-")
    assert line["credential"].startswith("oauth-oauth_creds-")
    assert line["attempts"] == 2  # the first refused at setup (401), the token refreshed
    assert line["input_tokens"] > 0 and line["output_tokens"] > 0
    assert isinstance(line["flags"], str) and line["flags"]
    assert "error" not in line and "error_type" not in line


def test_a_stream_logs_its_credential_attempts_and_tokens_when_it_closes(
    code_assist_log: dict[str, Any],
) -> None:
    records = of_request(code_assist_log["records"], code_assist_log["stream"])
    [start] = [r for r in records if r["message"] == "request"]
    [closed] = [r for r in records if r["message"] == "stream closed"]
    assert start["stream"] is True and start["attempts"] == 1
    assert closed["complete"] is True
    assert closed["credential"] == start["credential"] and closed["attempts"] == 1
    assert closed["input_tokens"] > 0 and closed["output_tokens"] > 0
    assert closed["client_model"] == "claude-sonnet-4-5"


def test_a_refused_request_logs_its_error_type_and_reason(
    code_assist_log: dict[str, Any],
) -> None:
    records = of_request(code_assist_log["records"], code_assist_log["not_found"])
    [line] = [r for r in records if r["message"] == "request"]
    assert line["status"] == 404
    assert line["client_model"] == "-"  # refused before it resolved
    assert line["error_type"] == "not_found_error"
    assert "no-such-model" in line["error"]
    assert line["credential"] == "-" and line["attempts"] == 0


def test_the_retry_line_carries_the_request_id_and_what_failed(
    code_assist_log: dict[str, Any],
) -> None:
    records = of_request(code_assist_log["records"], code_assist_log["generate"])
    [retry] = [r for r in records if r["message"].startswith("upstream retry")]
    assert retry["logger"] == "compatkit.server.upstream"
    assert retry["failure"].startswith("status 401")
    assert "loadCodeAssist" in retry["failure"]
    assert retry["credential"].startswith("oauth-oauth_creds-") and retry["attempt"] == 1


def test_debug_shows_the_token_refresh_and_each_onboarding_step(
    code_assist_log: dict[str, Any],
) -> None:
    debug = [r["message"] for r in code_assist_log["records"] if r["level"] == "debug"]
    refresh = [m for m in debug if m.startswith("token refresh")]
    assert refresh and "the upstream refused the access token" in refresh[0]
    assert any(m.startswith("token refreshed for oauth-oauth_creds-") for m in debug)
    setup = [m.split(": ", 1)[1] for m in debug if m.startswith("Code Assist setup for")]
    assert setup[0].startswith("loadCodeAssist")
    assert any(m.startswith("no current tier: onboardUser with tier") for m in setup)
    assert any(m.startswith("onboarding not done") for m in setup)
    assert setup[-1].startswith("onboarded: project")


def test_no_token_reaches_the_log(code_assist_log: dict[str, Any]) -> None:
    text = json.dumps(code_assist_log["records"])
    assert STALE_TOKEN not in text and REFRESH_TOKEN not in text
    assert "ya29.emulator" not in text  # the refreshed token


def test_a_refused_connection_is_named_in_the_retry_and_access_lines(tmp_path: Path) -> None:
    config = tmp_path / "compatkit.toml"
    config.write_text(
        "[upstream]\n"
        'api_keys = ["AIzaSyLogTest00000000000000000000000001"]\n'
        f'gemini_base_url = "http://127.0.0.1:{free_port()}"\n'  # nobody listens there
        "[retry]\n"
        "max_attempts = 3\nbase_delay = 0.01\nmax_delay = 0.02\nv1_interval = 0.01\n"
        "[state]\n"
        f'path = "{tmp_path / "state.sqlite3"}"\n'
    )
    answers: dict[str, str] = {}

    def asks(url: str) -> None:
        client = anthropic.Anthropic(base_url=url, api_key=PROXY_KEY, max_retries=0)
        with pytest.raises(anthropic.APIStatusError) as failed:
            client.messages.create(model="claude-sonnet-4-5", max_tokens=8, messages=HELLO)
        answers["id"] = failed.value.response.headers["request-id"]

    records = of_request(serve_until_stopped(config, asks=asks), answers["id"])
    retries = [r for r in records if r["message"].startswith("upstream retry")]
    assert len(retries) == 2
    for retry in retries:
        assert retry["failure"].startswith("upstream connect refused")
        assert "status 0" not in retry["message"]
    [line] = [r for r in records if r["message"] == "request"]
    assert line["status"] == 502 and line["attempts"] == 3
    assert line["error_type"] == "api_error"
    assert line["error"].startswith("upstream connect refused")

"""compat._gemini.errors: parsing upstream errors (docs/reference/gemini.md#errors,
docs/reference/code-assist.md#errors) and answering clients (docs/reference/anthropic.md#errors,
docs/reference/openai.md#errors)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compat._gemini.errors import (
    anthropic_error_body,
    anthropic_error_event,
    anthropic_error_for,
    openai_error_for,
    parse_google_error,
)
from tests.real_google_errors import (
    API_KEY_EXPIRED_400,
    API_KEY_INVALID_400,
    CAPACITY_429,
    FILE_DENIED_403,
    LEAKED_KEY_403,
    QUOTA_429,
    SERVICE_DISABLED_403,
    TERMINAL_QUOTA,
    UNAUTHENTICATED_401,
)


def body(obj: object) -> bytes:
    return json.dumps(obj).encode()


def test_quota_error_yields_status_retry_info_and_quota_id() -> None:
    error = parse_google_error(429, body(QUOTA_429))
    assert (error.http_status, error.status) == (429, "RESOURCE_EXHAUSTED")
    assert error.retry_delay == 26.0 and error.retry_after == 26
    assert error.quota_id == "GenerateContentInputTokensPerModelPerMinute-FreeTier"
    assert error.is_rate_limit and error.retryable
    assert not error.is_capacity and not error.is_terminal_quota


def test_retry_in_message_is_used_when_there_is_no_retry_info() -> None:
    error = parse_google_error(
        429, body({"error": {"code": 429, "message": "Please retry in 38.8s."}})
    )
    assert error.retry_delay == pytest.approx(38.8) and error.retry_after == 39
    ms = parse_google_error(
        429, body({"error": {"code": 429, "message": "Please retry in 500ms."}})
    )
    assert ms.retry_delay == pytest.approx(0.5)


def test_one_element_array_body_as_gaxios_prints_it() -> None:
    error = parse_google_error(429, body([CAPACITY_429]))
    assert error.reason == "MODEL_CAPACITY_EXHAUSTED"
    assert error.domain == "cloudcode-pa.googleapis.com"
    assert error.is_capacity and error.retryable


def test_capacity_maps_to_529_overloaded() -> None:
    status, payload = anthropic_error_for(parse_google_error(429, body(CAPACITY_429)))
    assert status == 529 and payload["error"]["type"] == "overloaded_error"
    status, payload = anthropic_error_for(
        parse_google_error(503, body({"error": {"code": 503, "message": "x"}}))
    )
    assert status == 529


def test_terminal_quota_reason_daily_quota_and_zero_limit() -> None:
    assert parse_google_error(429, body(TERMINAL_QUOTA)).is_terminal_quota
    assert parse_google_error(429, body(TERMINAL_QUOTA)).retry_delay == pytest.approx(0.539477544)
    assert not parse_google_error(429, body(TERMINAL_QUOTA)).retryable
    daily = {
        "error": {
            "code": 429,
            "message": "q",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                    "violations": [{"quotaId": "RequestsPerDayPerProject"}],
                }
            ],
        }
    }
    assert parse_google_error(429, body(daily)).is_terminal_quota
    zero = {"error": {"code": 429, "message": "Quota exceeded for metric: x, limit: 0, model: y"}}
    assert parse_google_error(429, body(zero)).is_terminal_quota
    not_zero = {"error": {"code": 429, "message": "limit: 0.5 or limit: 05"}}
    assert not parse_google_error(429, body(not_zero)).is_terminal_quota


def test_rate_limit_exceeded_reason_is_a_retryable_rate_limit() -> None:
    rate = {
        "error": {
            "code": 429,
            "message": "m",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "RATE_LIMIT_EXCEEDED",
                }
            ],
        }
    }
    error = parse_google_error(429, body(rate))
    assert error.reason == "RATE_LIMIT_EXCEEDED" and error.is_rate_limit and error.retryable


def test_non_json_body_gives_its_text_as_message() -> None:
    error = parse_google_error(502, b"<html>Bad Gateway</html>")
    assert error.message == "<html>Bad Gateway</html>" and error.status == "UNKNOWN"
    assert parse_google_error(500, b"").message == "upstream answered HTTP 500"


def test_doubled_commas_from_sse_corruption_are_repaired() -> None:
    error = parse_google_error(400, b'{"error": {"code": 400,, "message": "bad"}}')
    assert error.message == "bad"


def test_status_is_derived_from_the_code_when_absent() -> None:
    assert (
        parse_google_error(404, body({"error": {"code": 404, "message": "m"}})).status
        == "NOT_FOUND"
    )


def test_error_inside_a_200_stream_uses_its_code() -> None:
    assert (
        parse_google_error(200, body({"error": {"code": 503, "message": "m"}})).http_status == 503
    )


@pytest.mark.parametrize(
    ("upstream", "status", "error_type"),
    [
        (400, 400, "invalid_request_error"),
        (401, 502, "api_error"),  # the gateway's credential, not the client's
        (403, 502, "api_error"),
        (404, 404, "not_found_error"),
        (413, 413, "request_too_large"),
        (409, 400, "invalid_request_error"),
        (429, 429, "rate_limit_error"),
        (500, 500, "api_error"),
        (503, 529, "overloaded_error"),
        (504, 504, "timeout_error"),
        (502, 502, "api_error"),
    ],
)
def test_anthropic_status_and_type(upstream: int, status: int, error_type: str) -> None:
    error = parse_google_error(
        upstream, body({"error": {"code": upstream, "message": "Google says"}})
    )
    assert anthropic_error_for(error) == (status, anthropic_error_body(error_type, "Google says"))


@pytest.mark.parametrize(
    ("google_body", "status", "error_type"),
    [
        (QUOTA_429, 429, "rate_limit_error"),
        (TERMINAL_QUOTA, 429, "insufficient_quota"),
        (CAPACITY_429, 503, "server_error"),
        (
            {"error": {"code": 400, "message": "m", "status": "INVALID_ARGUMENT"}},
            400,
            "invalid_request_error",
        ),
        ({"error": {"code": 401, "message": "m"}}, 502, "server_error"),
        ({"error": {"code": 404, "message": "m"}}, 404, "invalid_request_error"),
        ({"error": {"code": 500, "message": "m"}}, 500, "server_error"),
    ],
)
def test_openai_envelope(google_body: dict[str, object], status: int, error_type: str) -> None:
    code = google_body["error"]["code"]  # type: ignore[index]
    got_status, payload = openai_error_for(parse_google_error(code, body(google_body)))
    assert got_status == status
    assert set(payload["error"]) == {"message", "type", "param", "code"}
    assert payload["error"]["type"] == error_type and payload["error"]["param"] is None


def test_stream_error_event_types_follow_docs_mapping() -> None:
    assert (
        anthropic_error_event(parse_google_error(429, body(QUOTA_429)))["error"]["type"]
        == "rate_limit_error"
    )
    assert (
        anthropic_error_event(parse_google_error(429, body(CAPACITY_429)))["error"]["type"]
        == "overloaded_error"
    )
    assert anthropic_error_event(parse_google_error(400, b"bad"))["error"]["type"] == "api_error"


@given(
    status=st.integers(100, 599),
    raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode),
)
def test_any_body_parses_without_raising(status: int, raw: bytes) -> None:
    error = parse_google_error(status, raw)
    http_status, payload = anthropic_error_for(error)
    assert 400 <= http_status <= 599 and payload["type"] == "error"
    assert isinstance(payload["error"]["message"], str) and payload["error"]["message"]
    json.dumps(payload, ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize(
    ("status", "document", "cause"),
    [
        (400, API_KEY_INVALID_400, "invalid"),
        (400, API_KEY_EXPIRED_400, "expired"),
        (403, SERVICE_DISABLED_403, "forbidden"),
        (401, UNAUTHENTICATED_401, "invalid"),
        (401, {"error": {"code": 401, "message": "Unauthorized"}}, "unauthenticated"),
        (
            400,
            {"error": {"code": 400, "message": "API key not valid. Please pass a valid API key."}},
            "invalid",
        ),
    ],
)
def test_a_refused_credential_is_named_with_its_cause_and_answered_as_the_gateways_failure(
    status: int, document: dict[str, object], cause: str
) -> None:
    error = parse_google_error(status, body(document))
    assert error.refused_credential == cause and not error.is_bare_denial
    assert anthropic_error_for(error)[0] == 502
    assert anthropic_error_for(error)[1]["error"]["type"] == "api_error"
    openai_status, openai_body = openai_error_for(error)
    assert (openai_status, openai_body["error"]["code"]) == (502, "upstream_auth_failed")


@pytest.mark.parametrize("document", [LEAKED_KEY_403, FILE_DENIED_403])
def test_a_403_without_a_reason_is_a_bare_denial_not_a_named_refusal(
    document: dict[str, object],
) -> None:
    error = parse_google_error(403, body(document))
    assert error.is_bare_denial and error.refused_credential is None


def test_request_errors_refuse_no_credential() -> None:
    for status, document in [
        (429, QUOTA_429),
        (429, CAPACITY_429),
        (400, {"error": {"code": 400, "message": "bad field"}}),
    ]:
        error = parse_google_error(status, body(document))
        assert error.refused_credential is None and not error.is_bare_denial

"""Google error envelopes have the exact shapes of docs/reference/gemini.md#errors and
docs/reference/code-assist.md#errors."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.emulator import google_errors as ge
from conformance.emulator.google_errors import FieldViolation, Rejection


def test_invalid_argument_carries_field_violations_as_bad_request() -> None:
    line = "Invalid JSON payload received. Unknown name \"x\" at 'tools[0]': Cannot find field."
    rejection = ge.invalid_argument(line, [FieldViolation("tools[0]", line)])
    assert rejection.body() == {
        "error": {
            "code": 400,
            "message": line,
            "status": "INVALID_ARGUMENT",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [{"field": "tools[0]", "description": line}],
                }
            ],
        }
    }


def test_root_violation_has_no_field_key() -> None:
    line = 'Invalid JSON payload received. Unknown name "": Root element must be a message.'
    body = ge.invalid_argument(line, [FieldViolation("", line)]).body()
    assert body["error"]["details"][0]["fieldViolations"] == [{"description": line}]


def test_error_without_details_has_no_details_key() -> None:
    body = ge.invalid_argument("Please ensure that multiturn requests alternate").body()
    assert body == {
        "error": {
            "code": 400,
            "message": "Please ensure that multiturn requests alternate",
            "status": "INVALID_ARGUMENT",
        }
    }


def test_streaming_error_body_is_a_one_element_array() -> None:
    rejection = ge.unavailable()
    assert rejection.stream_body() == [rejection.body()]


def test_gemini_quota_exceeded_matches_reference_shape() -> None:
    body = ge.quota_exceeded("gemini-2.5-flash", 26).body()
    assert body == {
        "error": {
            "code": 429,
            "message": (
                "You exceeded your current quota, please check your plan and billing details. "
                "For more information on this error, head to: "
                "https://ai.google.dev/gemini-api/docs/rate-limits."
            ),
            "status": "RESOURCE_EXHAUSTED",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                    "violations": [
                        {
                            "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_input_token_count",
                            "quotaId": "GenerateContentInputTokensPerModelPerMinute-FreeTier",
                            "quotaDimensions": {"location": "global", "model": "gemini-2.5-flash"},
                            "quotaValue": "250000",
                        }
                    ],
                },
                {
                    "@type": "type.googleapis.com/google.rpc.Help",
                    "links": [
                        {
                            "description": "Learn more about Gemini API quotas",
                            "url": "https://ai.google.dev/gemini-api/docs/rate-limits",
                        }
                    ],
                },
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "26s"},
            ],
        }
    }


def test_code_assist_capacity_error_matches_reference_example() -> None:
    body = ge.model_capacity_exhausted("gemini-3.1-pro-preview").body()
    message = "No capacity available for model gemini-3.1-pro-preview on the server"
    assert body == {
        "error": {
            "code": 429,
            "message": message,
            "errors": [{"message": message, "domain": "global", "reason": "rateLimitExceeded"}],
            "status": "RESOURCE_EXHAUSTED",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "MODEL_CAPACITY_EXHAUSTED",
                    "domain": "cloudcode-pa.googleapis.com",
                    "metadata": {"model": "gemini-3.1-pro-preview"},
                }
            ],
        }
    }
    assert list(body["error"]) == ["code", "message", "errors", "status", "details"]


def test_capacity_error_as_503_with_retry_info() -> None:
    body = ge.model_capacity_exhausted("m", http_status=503, retry_delay_seconds=40).body()
    assert body["error"]["code"] == 503
    assert body["error"]["status"] == "UNAVAILABLE"
    assert body["error"]["details"][-1] == {
        "@type": "type.googleapis.com/google.rpc.RetryInfo",
        "retryDelay": "40s",
    }


def test_capacity_error_refuses_other_statuses() -> None:
    with pytest.raises(ValueError):
        ge.model_capacity_exhausted("m", http_status=500)


def test_code_assist_quota_exhausted_matches_reference_example() -> None:
    error = ge.quota_exhausted("gemini-2.5-pro", 0.539477544, "2025-10-20T19:14:08Z").body()[
        "error"
    ]
    assert error["message"] == (
        "You have exhausted your capacity on this model. Your quota will reset after 0.539477544s."
    )
    assert error["details"][0]["reason"] == "QUOTA_EXHAUSTED"
    assert error["details"][0]["metadata"]["quotaResetTimeStamp"] == "2025-10-20T19:14:08Z"
    assert error["details"][1]["retryDelay"] == "0.539477544s"


def test_rate_limit_exceeded_is_retryable_shape() -> None:
    details = ge.rate_limit_exceeded("gemini-2.5-pro", 2).body()["error"]["details"]
    assert details[0]["reason"] == "RATE_LIMIT_EXCEEDED"
    assert details[0]["domain"] == "cloudcode-pa.googleapis.com"
    assert details[1]["retryDelay"] == "2s"


@pytest.mark.parametrize(
    ("builder", "code", "status"),
    [
        (ge.unauthenticated, 401, "UNAUTHENTICATED"),
        (ge.permission_denied, 403, "PERMISSION_DENIED"),
        (ge.api_key_missing, 403, "PERMISSION_DENIED"),
        (ge.api_key_invalid, 400, "INVALID_ARGUMENT"),
        (ge.unavailable, 503, "UNAVAILABLE"),
        (ge.internal, 500, "INTERNAL"),
        (ge.deadline_exceeded, 504, "DEADLINE_EXCEEDED"),
    ],
)
def test_each_builder_pairs_http_status_with_its_canonical_status(
    builder: object, code: int, status: str
) -> None:
    rejection = builder()  # type: ignore[operator]
    assert isinstance(rejection, Rejection)
    assert (rejection.http_status, rejection.status) == (code, status)
    assert ge.STATUS_BY_HTTP[code] == status or status == "INVALID_ARGUMENT"
    assert rejection.body()["error"]["code"] == code


def test_model_not_found_names_the_model_once_with_prefix() -> None:
    rejection = ge.model_not_found("gemini-9")
    assert rejection.http_status == 404
    assert rejection.message.startswith("models/gemini-9 is not found for API version v1beta")
    assert ge.model_not_found("models/gemini-9").message == rejection.message


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(26, "26s"), (0.539477544, "0.539477544s"), (68940, "68940s"), (1.5, "1.5s"), (0, "0s")],
)
def test_durations_render_like_proto_duration_json(seconds: float, text: str) -> None:
    assert ge.format_duration(seconds) == text


@given(st.floats(min_value=0, max_value=1e6, allow_nan=False))
def test_duration_round_trips_to_the_nanosecond(seconds: float) -> None:
    text = ge.format_duration(seconds)
    assert text.endswith("s")
    assert abs(float(text[:-1]) - seconds) <= 1e-9 * max(1.0, seconds)


def test_bodies_are_json_serialisable() -> None:
    for rejection in (ge.quota_exceeded("m", 3), ge.model_capacity_exhausted("m"), ge.internal()):
        assert orjson.loads(orjson.dumps(rejection.body())) == rejection.body()

"""Typed failures: the class says the cause, the text the error type and where it came from,
and nothing in it varies per request (Locust groups its failures table by it)."""

from __future__ import annotations

import pytest

from loadtests._common import ErrorInfo
from loadtests._locust._failures import (
    ConnectionFailed,
    Failure,
    Overloaded,
    ProtocolViolation,
    RateLimited,
    RequestRefused,
    TimedOut,
    UpstreamError,
    failure_for,
)


@pytest.mark.parametrize(
    ("error", "status", "cause", "text"),
    [
        (ErrorInfo("http", "rate_limit_error", "req_1"), 429, RateLimited,
         "rate_limit_error (HTTP 429)"),
        (ErrorInfo("http", "overloaded_error"), 529, Overloaded, "overloaded_error (HTTP 529)"),
        (ErrorInfo("http", "server_error"), 503, Overloaded, "server_error (HTTP 503)"),
        (ErrorInfo("http", "api_error"), 500, UpstreamError, "api_error (HTTP 500)"),
        (ErrorInfo("http", "http_502"), 502, UpstreamError, "http_502 (HTTP 502)"),
        (ErrorInfo("http", "authentication_error"), 401, RequestRefused,
         "authentication_error (HTTP 401)"),
        (ErrorInfo("http", "invalid_request_error"), 400, RequestRefused,
         "invalid_request_error (HTTP 400)"),
        (ErrorInfo("stream", "overloaded_error"), 200, Overloaded,
         "overloaded_error (error event mid-stream)"),
        (ErrorInfo("stream", "rate_limit_error"), 200, RateLimited,
         "rate_limit_error (error event mid-stream)"),
        (ErrorInfo("stream", "api_error"), 200, UpstreamError,
         "api_error (error event mid-stream)"),
        (ErrorInfo("grammar", "truncated", "ended early"), 200, ProtocolViolation,
         "grammar: truncated"),
        (ErrorInfo("protocol", "invalid_json"), 200, ProtocolViolation, "protocol: invalid_json"),
        (ErrorInfo("timeout", "timeout", "after 60 s"), None, TimedOut, "timeout"),
        (ErrorInfo("connect", "ConnectionRefusedError", "[Errno 111]"), None, ConnectionFailed,
         "ConnectionRefusedError"),
    ],
)  # fmt: skip
def test_each_cause_has_its_class_and_a_stable_text(
    error: ErrorInfo, status: int | None, cause: type[Failure], text: str
) -> None:
    failure = failure_for(error, status)
    assert type(failure) is cause
    assert str(failure) == text
    assert (failure.kind, failure.type) == (error.kind, error.type) or error.kind in (
        "grammar", "protocol")  # fmt: skip
    assert error.message == "" or error.message not in repr(failure)

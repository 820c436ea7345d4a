"""compat._envelopes: an error in Anthropic's vocabulary, in each client's envelope, mapped once.

The proxy renders these (server.edge.envelopes); tests/server/edge/test_envelopes.py checks
the same answers over a socket.
"""

from __future__ import annotations

import pytest

import compat

OPENAI_OF_ANTHROPIC = [
    # (status, Anthropic type, param) -> (status, OpenAI type, OpenAI code)
    ((400, "invalid_request_error", "messages"), (400, "invalid_request_error", None)),
    ((401, "authentication_error", None), (401, "invalid_request_error", "invalid_api_key")),
    ((403, "permission_error", None), (403, "invalid_request_error", "permission_denied")),
    ((404, "not_found_error", "model"), (404, "invalid_request_error", "model_not_found")),
    ((404, "not_found_error", None), (404, "invalid_request_error", None)),
    ((413, "request_too_large", None), (413, "invalid_request_error", "request_too_large")),
    ((429, "rate_limit_error", None), (429, "rate_limit_error", "rate_limit_exceeded")),
    ((500, "api_error", None), (500, "server_error", None)),
    ((529, "overloaded_error", None), (503, "server_error", "model_overloaded")),
    ((504, "timeout_error", None), (504, "server_error", "timeout")),
    ((502, "some_future_error", None), (502, "server_error", None)),
]


@pytest.mark.parametrize(("anthropic", "openai"), OPENAI_OF_ANTHROPIC)
def test_an_anthropic_error_in_openais_envelope_has_openais_type_code_and_status(
    anthropic: tuple[int, str, str | None], openai: tuple[int, str, str | None]
) -> None:
    status, error_type, param = anthropic
    answer = compat.error_body("openai", status, error_type, "what went wrong", param=param)
    expected_status, openai_type, code = openai
    assert answer == (
        expected_status,
        {
            "error": {
                "message": "what went wrong",
                "type": openai_type,
                "param": param,
                "code": code,
            }
        },
    )


@pytest.mark.parametrize(("anthropic", "openai"), OPENAI_OF_ANTHROPIC)
def test_in_anthropics_envelope_the_error_is_as_given(
    anthropic: tuple[int, str, str | None], openai: tuple[int, str, str | None]
) -> None:
    status, error_type, param = anthropic
    assert compat.error_body("anthropic", status, error_type, "why", param=param) == (
        status,
        {"type": "error", "error": {"type": error_type, "message": "why"}},
    )


def test_upstream_errors_are_built_from_the_same_envelopes() -> None:
    google = compat.parse_google_error(429, b'{"error": {"code": 429, "message": "slow down"}}')
    assert (
        compat.openai_error_for(google)[1]
        == compat.error_body("openai", 429, "rate_limit_error", "slow down")[1]
    )
    assert (
        compat.anthropic_error_event(google)
        == compat.error_body("anthropic", 429, "rate_limit_error", "slow down")[1]
    )

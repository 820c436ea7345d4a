"""conformance.checks.envelopes: error envelopes and whole replies
(docs/reference/anthropic.md#errors and #message-object, docs/reference/openai.md#errors)."""

from __future__ import annotations

import pytest

from conformance.checks import envelopes
from conformance.checks.violation import Violation


def anthropic(kind: str) -> dict[str, object]:
    return {"type": "error", "error": {"type": kind, "message": "m"}}


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (404, "not_found_error"),
        (405, "invalid_request_error"),
        (413, "request_too_large"),
        (429, "rate_limit_error"),
        (529, "overloaded_error"),
        (502, "api_error"),
        (503, "overloaded_error"),
    ],
)
def test_a_status_carries_its_error_type(status: int, kind: str) -> None:
    assert envelopes.anthropic_error(status, anthropic(kind))["type"] == kind


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (429, anthropic("api_error")),
        (401, anthropic("invalid_request_error")),
        (400, {"error": {"type": "invalid_request_error", "message": "m"}}),
        (400, anthropic("made_up_error")),
        (400, {"type": "error", "error": {"type": "invalid_request_error", "message": ""}}),
    ],
)
def test_a_wrong_envelope_is_a_violation(status: int, body: object) -> None:
    with pytest.raises(Violation):
        envelopes.anthropic_error(status, body)


def test_openai_errors_need_all_four_fields() -> None:
    good = {"error": {"message": "m", "type": "invalid_request_error", "param": None, "code": None}}
    assert envelopes.openai_error(good)["type"] == "invalid_request_error"
    with pytest.raises(Violation, match="param"):
        envelopes.openai_error({"error": {"message": "m", "type": "x"}})


MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "m",
    "content": [
        {"type": "text", "text": "hi"},
        {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}},
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {"input_tokens": 1, "output_tokens": 2},
}


def test_a_message_has_ids_a_stop_reason_and_usage() -> None:
    assert envelopes.anthropic_message(MESSAGE) is MESSAGE
    for broken in (
        {**MESSAGE, "stop_reason": None},
        {**MESSAGE, "id": "chatcmpl-1"},
        {**MESSAGE, "usage": {"input_tokens": 1}},
        {**MESSAGE, "content": [{"type": "tool_use", "id": "call_1", "name": "f", "input": {}}]},
        {**MESSAGE, "stop_reason": "stop_sequence"},
    ):
        with pytest.raises(Violation):
            envelopes.anthropic_message(broken)

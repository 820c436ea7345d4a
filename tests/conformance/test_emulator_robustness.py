"""Robustness of the app (conformance.emulator.app): any body gets a Google-shaped answer, never a 500."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.emulator import json_text
from conformance.emulator.app import create_emulator
from conformance.strategies.gemini_requests import code_assist_requests, generate_content_requests
from conformance.strategies.json_values import INT64, json_scalars, json_values

APP = create_emulator()
JSON_VALUES = json_values(
    scalars=json_scalars(integers=INT64, text=st.text(max_size=10)), keys=st.text(max_size=12)
)
REQUEST_KEYS = st.sampled_from(
    ["contents", "tools", "generationConfig", "systemInstruction", "toolConfig", "request", "model"]
)
REQUEST_LIKE = st.dictionaries(REQUEST_KEYS, JSON_VALUES, max_size=4)
PATHS = st.sampled_from(
    [
        ("/v1beta/models/gemini-2.5-flash:generateContent", b"", b"x-goog-api-key"),
        ("/v1beta/models/gemini-2.5-flash:streamGenerateContent", b"alt=sse", b"x-goog-api-key"),
        ("/v1beta/models/gemini-2.5-flash:streamGenerateContent", b"", b"x-goog-api-key"),
        ("/v1beta/models/gemini-2.5-flash:countTokens", b"", b"x-goog-api-key"),
        ("/v1beta/cachedContents", b"", b"x-goog-api-key"),
        ("/v1internal:generateContent", b"", b"authorization"),
        ("/v1internal:streamGenerateContent", b"alt=sse", b"authorization"),
        ("/v1internal:countTokens", b"", b"authorization"),
        ("/v1internal:onboardUser", b"", b"authorization"),
        ("/v1internal:loadCodeAssist", b"", b"authorization"),
    ]
)


def call(path: str, query: bytes, auth: bytes, body: bytes) -> tuple[int, bytes]:
    sent: list[dict[str, Any]] = []
    credential = b"Bearer t" if auth == b"authorization" else b"k"
    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "query_string": query,
        "headers": [(auth, credential)],
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(APP(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def assert_google_answer(status: int, body: bytes, query: bytes) -> None:
    assert status != 500 and status < 600
    if status == 200:
        return
    error = orjson.loads(body)
    if isinstance(error, list):  # the streaming error form
        (error,) = error
    assert error["error"]["code"] == status
    assert error["error"]["status"] and error["error"]["message"]


@settings(max_examples=100)
@given(PATHS, JSON_VALUES | REQUEST_LIKE)
def test_any_json_body_gets_a_google_answer_never_a_500(
    route: tuple[str, bytes, bytes], value: Any
) -> None:
    path, query, auth = route
    status, body = call(path, query, auth, orjson.dumps(value))
    assert_google_answer(status, body, query)


@given(PATHS, st.binary(max_size=64))
def test_any_bytes_get_a_google_answer_never_a_500(
    route: tuple[str, bytes, bytes], raw: bytes
) -> None:
    path, query, auth = route
    status, body = call(path, query, auth, raw)
    assert_google_answer(status, body, query)


# The request strategies cost ~0.1 s per example on the shared CI box: fewer examples here.
@settings(max_examples=30)
@given(generate_content_requests())
def test_every_valid_gemini_request_is_answered(case: tuple[str, dict[str, Any]]) -> None:
    model, request = case
    path = f"/v1beta/models/{model.removeprefix('models/')}:generateContent"
    status, body = call(path, b"", b"x-goog-api-key", json_text.dumps(request))
    assert status == 200, body
    assert "usageMetadata" in orjson.loads(body)


@settings(max_examples=30)
@given(code_assist_requests())
def test_every_valid_code_assist_request_is_answered(case: tuple[str, dict[str, Any]]) -> None:
    _, envelope = case
    status, body = call(
        "/v1internal:generateContent", b"", b"authorization", json_text.dumps(envelope)
    )
    assert status == 200, body
    assert set(orjson.loads(body)) == {"response", "traceId"}

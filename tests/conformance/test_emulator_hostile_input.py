"""Hostile input against the emulator over real sockets: every client fault is a 4xx in Google's
envelope `{"error":{"code","message","status"}}` (a one-element JSON array on
`streamGenerateContent` without `alt=sse`), valid UTF-8, the offending field named in Google's
words; never a 5xx or a hang; and the emulator still answers a good request afterwards.

Covered on `:generateContent`, `:streamGenerateContent` (SSE and array), `:countTokens` and the
Code Assist `v1internal` methods: arbitrary JSON values and bytes, truncated JSON, invalid
UTF-8, one field of a valid request given a wrong type, lone surrogate escapes in every string,
10k-deep nesting, bodies over Google's 20 MB limit, NaN/Infinity and huge numbers, empty bodies,
wrong methods, unknown paths and models, missing and wrong credentials; google-genai's
exception for the same faults.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from google import genai
from google.genai import errors as genai_errors
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.checks.hostile import (
    HEADER_TEXT,
    JSON_VALUES,
    Path,
    assert_google_error,
    decoded_json,
    path_text,
    replaced_at,
    string_paths,
    with_lone_surrogate,
)
from conformance.emulator.app import MAX_BODY_BYTES
from conformance.emulator.testing import RunningEmulator, running_emulator

MODEL = "gemini-2.5-flash"
API_KEY = {"x-goog-api-key": "test-key", "content-type": "application/json"}
BEARER = {"authorization": "Bearer test-token", "content-type": "application/json"}
REQUEST: dict[str, Any] = {
    "systemInstruction": {"parts": [{"text": "be brief"}]},
    "contents": [
        {"role": "user", "parts": [{"text": "weather?"}]},
        {
            "role": "model",
            "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"result": "sunny"}}}
            ],
        },
    ],
    "tools": [
        {
            "functionDeclarations": [
                {
                    "name": "get_weather",
                    "description": "weather of a city",
                    "parameters": {
                        "type": "OBJECT",
                        "properties": {"city": {"type": "STRING", "description": "a city"}},
                        "required": ["city"],
                    },
                }
            ]
        }
    ],
    "toolConfig": {"functionCallingConfig": {"mode": "AUTO"}},
    "generationConfig": {"temperature": 0.5, "topP": 0.9, "maxOutputTokens": 64},
}
CODE_ASSIST = {"model": MODEL, "project": "p-1", "request": REQUEST}
# One client for the module: a new httpx.Client per request costs an SSL context (~20 ms).
HTTP = httpx.Client(timeout=30)
# name -> (path and query, headers, a valid body)
ENDPOINTS: dict[str, tuple[str, dict[str, str], dict[str, Any]]] = {
    "generate": (f"/v1beta/models/{MODEL}:generateContent", API_KEY, REQUEST),
    "stream-sse": (f"/v1beta/models/{MODEL}:streamGenerateContent?alt=sse", API_KEY, REQUEST),
    "stream-array": (f"/v1beta/models/{MODEL}:streamGenerateContent", API_KEY, REQUEST),
    "count": (f"/v1beta/models/{MODEL}:countTokens", API_KEY, {"contents": REQUEST["contents"]}),
    "v1internal-generate": ("/v1internal:generateContent", BEARER, CODE_ASSIST),
    "v1internal-stream": ("/v1internal:streamGenerateContent?alt=sse", BEARER, CODE_ASSIST),
    "v1internal-count": (
        "/v1internal:countTokens",
        BEARER,
        {"request": {"model": f"models/{MODEL}", "contents": REQUEST["contents"]}},
    ),
}
NAMES = list(ENDPOINTS)
# Fields of REQUEST with a fixed JSON type, and Google's words for their path (the field
# itself last: Google names it by its proto name or, in 'Unknown name' lines, its JSON name).
TYPED_FIELDS: dict[Path, tuple[tuple[str, ...], tuple[str, ...]]] = {
    ("contents",): (("list",), ("contents",)),
    ("contents", 0, "parts", 0, "text"): (("str",), ("contents[0].parts[0]", "text")),
    ("contents", 1, "parts", 0, "functionCall", "name"): (("str",), ("function_call", "name")),
    ("generationConfig", "temperature"): (("int", "float"), ("generation_config", "temperature")),
    ("generationConfig", "maxOutputTokens"): (("int",), ("generation_config", "max_output_tokens")),
    ("systemInstruction",): (("dict",), ("system_instruction",)),
    ("toolConfig", "functionCallingConfig", "mode"): (
        ("str", "int"),  # proto JSON takes an enum by name or by number
        ("function_calling_config", "mode"),
    ),
}
# Strings Gemini takes as free text: a lone surrogate there (read as U+FFFD) must not break the reply.
_CALL = ("contents", 1, "parts", 0, "functionCall")
_ANSWER = ("contents", 2, "parts", 0, "functionResponse")
_DECLARATION = ("tools", 0, "functionDeclarations", 0)
FREE_TEXT: set[Path] = {
    ("systemInstruction", "parts", 0, "text"),
    ("contents", 0, "parts", 0, "text"),
    (*_CALL, "args", "city"),
    (*_ANSWER, "response", "result"),
    (*_DECLARATION, "description"),
    (*_DECLARATION, "parameters", "properties", "city", "description"),
}


def live(max_examples: int) -> settings:
    """Settings for a test against a live server: at most `max_examples`, never above the profile."""
    return settings(
        max_examples=min(max_examples, settings.default.max_examples),
        suppress_health_check=[
            *settings.default.suppress_health_check,
            HealthCheck.function_scoped_fixture,
        ],
    )


def post(
    emulator: RunningEmulator, name: str, content: bytes, client: httpx.Client | None = None
) -> httpx.Response:
    path, headers, _ = ENDPOINTS[name]
    sender = client or HTTP
    return sender.post(emulator.url(path), content=content, headers=headers, timeout=30)


def encoded(document: Any) -> bytes:
    return json.dumps(document).encode()


def assert_still_serving(emulator: RunningEmulator) -> None:
    response = post(emulator, "generate", encoded(REQUEST))
    assert response.status_code == 200, response.text
    assert decoded_json(response)["candidates"]


def assert_answered(response: httpx.Response) -> None:
    """A 200 whose body is strict UTF-8, or a 4xx in Google's envelope."""
    if response.status_code == 200:
        response.content.decode("utf-8")
    else:
        assert_google_error(response, None)


@pytest.fixture
def hostile_emulator(emulator: RunningEmulator) -> Iterator[RunningEmulator]:
    """The packaged emulator; checked to still serve a good request when the test ends."""
    yield emulator
    assert_still_serving(emulator)


# --- arbitrary bodies --------------------------------------------------------------------------


@live(50)
@given(name=st.sampled_from(NAMES), value=JSON_VALUES)
def test_any_json_value_gets_a_google_answer_never_a_5xx(
    hostile_emulator: RunningEmulator, name: str, value: Any
) -> None:
    response = post(hostile_emulator, name, encoded(value))
    assert_answered(response)
    if not isinstance(value, dict):
        assert_google_error(response, 400, names=("Invalid JSON payload",))


@live(40)
@given(name=st.sampled_from(NAMES), content=st.binary(max_size=64))
def test_any_bytes_get_a_google_answer_never_a_5xx(
    hostile_emulator: RunningEmulator, name: str, content: bytes
) -> None:
    assert_answered(post(hostile_emulator, name, content))


@live(30)
@given(name=st.sampled_from(NAMES), data=st.data())
def test_truncated_json_is_a_400_invalid_json_payload(
    hostile_emulator: RunningEmulator, name: str, data: st.DataObject
) -> None:
    content = encoded(ENDPOINTS[name][2])
    cut = data.draw(st.integers(1, len(content) - 1), label="cut")
    response = post(hostile_emulator, name, content[:cut])
    assert_google_error(response, 400, names=("Invalid JSON payload",))


@live(20)
@given(name=st.sampled_from(NAMES), data=st.data())
def test_invalid_utf8_inside_a_string_is_a_400(
    hostile_emulator: RunningEmulator, name: str, data: st.DataObject
) -> None:
    content = encoded(ENDPOINTS[name][2])
    quotes = [i for i, byte in enumerate(content) if byte == ord('"')]
    at = data.draw(st.sampled_from(quotes), label="after quote") + 1
    junk = data.draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80"]), label="junk")
    response = post(hostile_emulator, name, content[:at] + junk + content[at:])
    assert_google_error(response, 400, names=("Invalid JSON payload",))


# --- one field wrong ----------------------------------------------------------------------------


def _json_type(value: Any) -> str:
    return "null" if value is None else type(value).__name__


@st.composite
def _mutated(draw: st.DrawFn) -> tuple[Path, Any]:
    path = draw(st.sampled_from(sorted(TYPED_FIELDS, key=path_text)), label="field")
    accepted = TYPED_FIELDS[path][0]
    wrong = JSON_VALUES.filter(lambda v: v is not None and _json_type(v) not in accepted)
    return path, draw(wrong, label="wrong value")


@live(60)
@given(
    mutation=_mutated(), name=st.sampled_from(["generate", "stream-array", "v1internal-generate"])
)
def test_a_field_of_the_wrong_type_is_a_400_naming_it(
    hostile_emulator: RunningEmulator, mutation: tuple[Path, Any], name: str
) -> None:
    path, value = mutation
    if name.startswith("v1internal"):
        body: Any = {**CODE_ASSIST, "request": replaced_at(REQUEST, path, value)}
    else:
        body = replaced_at(REQUEST, path, value)
    response = post(hostile_emulator, name, encoded(body))
    *parents, field = TYPED_FIELDS[path][1]
    error = assert_google_error(response, 400, names=tuple(parents))
    camel = field.split("_")[0] + "".join(word.title() for word in field.split("_")[1:])
    assert field in error["message"] or camel in error["message"], error  # proto or JSON name


# --- lone surrogates ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", list(string_paths(REQUEST)), ids=path_text)
def test_a_lone_surrogate_in_any_string_gets_a_google_answer_never_a_5xx(
    hostile_emulator: RunningEmulator, path: Path
) -> None:
    for name in ("generate", "stream-sse", "count"):
        body = REQUEST if name != "count" else {"contents": REQUEST["contents"]}
        if name == "count" and path[0] != "contents":
            continue
        response = post(hostile_emulator, name, with_lone_surrogate(body, path))
        assert_answered(response)
        if path in FREE_TEXT:
            assert response.status_code == 200, response.text


def test_a_lone_surrogate_in_a_tool_description_is_answered_minimal_case(
    hostile_emulator: RunningEmulator,
) -> None:
    content = (
        b'{"contents":[{"role":"user","parts":[{"text":"hi"}]}],'
        b'"tools":[{"functionDeclarations":[{"name":"f","description":"a\\ud800"}]}]}'
    )
    assert_answered(post(hostile_emulator, "generate", content))


def test_a_lone_surrogate_in_an_enum_value_is_a_400_minimal_case(
    hostile_emulator: RunningEmulator,
) -> None:
    content = (
        b'{"contents":[{"role":"user","parts":[{"text":"hi"}]}],'
        b'"toolConfig":{"functionCallingConfig":{"mode":"\\ud800"}}}'
    )
    assert_google_error(post(hostile_emulator, "generate", content), 400)


# --- JSON the parser must refuse ---------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    "content",
    [b"[" * 10_000 + b"]" * 10_000, b'{"a":' * 10_000 + b"1" + b"}" * 10_000],
    ids=["arrays", "objects"],
)
def test_ten_thousand_levels_of_nesting_are_a_400(
    hostile_emulator: RunningEmulator, name: str, content: bytes
) -> None:
    response = post(hostile_emulator, name, content)
    assert_google_error(response, 400, names=("too deep",))


@pytest.mark.parametrize("name", ["generate", "stream-sse", "v1internal-generate"])
@pytest.mark.parametrize(
    "literal", [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"1" + b"0" * 400]
)
def test_nan_infinity_and_numbers_beyond_a_double_are_a_400(
    hostile_emulator: RunningEmulator, name: str, literal: bytes
) -> None:
    body = encoded(ENDPOINTS[name][2]).replace(b"0.5", literal)
    assert_google_error(post(hostile_emulator, name, body), 400)


@pytest.mark.parametrize("name", ["generate", "stream-sse", "stream-array"])
def test_an_empty_body_is_a_400_saying_contents_is_missing(
    hostile_emulator: RunningEmulator, name: str
) -> None:
    response = post(hostile_emulator, name, b"")
    assert_google_error(response, 400, names=("contents is not specified",))


@pytest.mark.parametrize("name", NAMES)
def test_a_body_over_googles_limit_is_a_400_saying_so(
    hostile_emulator: RunningEmulator, name: str
) -> None:
    content = b'{"x":"' + b"a" * MAX_BODY_BYTES + b'"}'
    with httpx.Client(timeout=30) as client:  # its own connection: see the keep-alive test below
        response = post(hostile_emulator, name, content, client)
    assert_google_error(response, 400, names=("payload size exceeds the limit",))


def test_a_keep_alive_client_goes_on_after_a_body_over_the_limit(
    hostile_emulator: RunningEmulator,
) -> None:
    with httpx.Client(timeout=30) as client:
        too_large = b"{" + b" " * (MAX_BODY_BYTES + 2**20) + b"}"
        over = post(hostile_emulator, "generate", too_large, client)
        assert over.status_code == 400
        # Either the connection stays usable, or the answer says it will close (then httpx
        # opens a new one). Checked by the header: whether the drop is seen depends on timing.
        assert over.headers.get("connection", "").lower() == "close"
        assert post(hostile_emulator, "generate", encoded(REQUEST), client).status_code == 200


# --- methods, paths, models, credentials ------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_a_wrong_method_is_a_404_in_googles_envelope(
    hostile_emulator: RunningEmulator, name: str, method: str
) -> None:
    path, headers, _ = ENDPOINTS[name]
    response = HTTP.request(method, hostile_emulator.url(path), headers=headers, timeout=30)
    error = assert_google_error(response, 404)
    assert error["status"] == "NOT_FOUND"


_SEGMENT = st.text(st.characters(codec="ascii", categories=("L", "N")), min_size=1, max_size=12)


@live(40)
@given(
    prefix=st.sampled_from(["/v1beta/", "/v1/", "/v2/", "/", "/v1internal/x/"]), segment=_SEGMENT
)
def test_an_unknown_path_is_a_404_in_googles_envelope(
    hostile_emulator: RunningEmulator, prefix: str, segment: str
) -> None:
    response = HTTP.post(hostile_emulator.url(prefix + "zz" + segment), headers=BEARER, timeout=30)
    assert_google_error(response, 404)


@live(30)
@given(
    model=_SEGMENT,
    method=st.sampled_from(["generateContent", "countTokens", "streamGenerateContent"]),
)
def test_an_unknown_model_is_a_404_naming_it(
    hostile_emulator: RunningEmulator, model: str, method: str
) -> None:
    url = hostile_emulator.url(f"/v1beta/models/zz-{model}:{method}")
    response = HTTP.post(url, content=encoded(REQUEST), headers=API_KEY, timeout=30)
    assert_google_error(response, 404, names=(f"models/zz-{model}", method))


@pytest.mark.parametrize("name", NAMES)
def test_a_missing_credential_is_refused_in_googles_envelope(
    hostile_emulator: RunningEmulator, name: str
) -> None:
    path, _, body = ENDPOINTS[name]
    response = HTTP.post(hostile_emulator.url(path), content=encoded(body), timeout=30)
    error = assert_google_error(response, 401 if name.startswith("v1internal") else 403)
    assert error["status"] in {"UNAUTHENTICATED", "PERMISSION_DENIED"}


@pytest.fixture
def locked_emulator() -> Iterator[RunningEmulator]:
    """An emulator that accepts one API key and one access token only."""
    with running_emulator(
        {"auth": {"api_keys": ["the-only-key"], "access_tokens": ["the-only-token"]}}
    ) as running:
        yield running


@live(20)
@given(secret=HEADER_TEXT)
def test_a_wrong_credential_is_refused_without_echoing_it(
    locked_emulator: RunningEmulator, secret: str
) -> None:
    if secret in {"the-only-key", "the-only-token"}:
        return
    path, _, body = ENDPOINTS["generate"]
    by_key = HTTP.post(
        locked_emulator.url(path), content=encoded(body), headers={"x-goog-api-key": secret}
    )
    assert_google_error(by_key, 400, names=("API key not valid",))
    path, _, body = ENDPOINTS["v1internal-generate"]
    by_token = HTTP.post(
        locked_emulator.url(path),
        content=encoded(body),
        headers={"authorization": f"Bearer {secret}"},
    )
    assert_google_error(by_token, 401)
    other = HTTP.post(
        locked_emulator.url(ENDPOINTS["generate"][0]),
        content=encoded(REQUEST),
        headers={"x-goog-api-key": "some-other-wrong-key"},
    )
    assert by_key.content == other.content  # the same words whatever key was sent: none echoed


# --- control and cached-content routes ---------------------------------------------------------


@pytest.mark.parametrize("ttl", ["nans", "infs", "1e30s"])
def test_a_cached_content_ttl_that_is_not_a_duration_is_a_400(
    hostile_emulator: RunningEmulator, ttl: str
) -> None:
    body = {"model": MODEL, "ttl": ttl, "contents": REQUEST["contents"]}
    response = HTTP.post(
        hostile_emulator.url("/v1beta/cachedContents"), content=encoded(body), headers=API_KEY
    )
    assert_google_error(response, 400, names=("ttl",))


def test_a_non_integer_since_on_the_record_route_is_a_400(
    hostile_emulator: RunningEmulator,
) -> None:
    response = HTTP.get(hostile_emulator.url("/_emulator/requests?since=abc"))
    assert_google_error(response, 400)


# --- google-genai sees Google's error classes ---------------------------------------------------


def test_google_genai_raises_client_errors_with_googles_status(
    hostile_emulator: RunningEmulator,
) -> None:
    client = genai.Client(
        api_key="test-key",
        http_options=genai.types.HttpOptions(
            base_url=hostile_emulator.base_url, api_version="v1beta"
        ),
    )
    with pytest.raises(genai_errors.ClientError) as not_found:
        client.models.generate_content(model="gemini-nope", contents="hi")
    assert not_found.value.code == 404 and not_found.value.status == "NOT_FOUND"
    with pytest.raises(genai_errors.ClientError) as invalid:
        client.models.generate_content(
            model=MODEL,
            contents=[genai.types.Content(role="robot", parts=[genai.types.Part(text="hi")])],
        )
    assert invalid.value.code == 400 and invalid.value.status == "INVALID_ARGUMENT"
    assert "role" in (invalid.value.message or "")

"""Hostile input against the proxy over real sockets: every client fault is a 4xx in the route's
own envelope (Anthropic on /v1/messages*, /v1/models*, /admin/*; OpenAI on /v1/chat/*), with
valid UTF-8 and the offending field named; never a 5xx, a hang or silently dropped content;
and the proxy still answers a good request afterwards.

Covered: arbitrary JSON values and bytes, one field of a valid request given a wrong type,
required fields missing, unknown roles and block types, invalid UTF-8, truncated JSON, lone
surrogate escapes in every string of a rich request (stream and non-stream), 10k-deep nesting,
bodies over the limit (with and without Content-Length), huge numbers, NaN/Infinity literals,
duplicate keys, wrong content types, empty bodies, wrong methods, unknown paths, bad and
missing keys, header injection and bad flag override headers; the official SDKs' exception
classes for the same faults.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import anthropic
import httpx
import openai
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.checks.hostile import (
    HEADER_TEXT,
    JSON_VALUES,
    Path,
    assert_anthropic_error,
    assert_openai_error,
    decoded_json,
    path_text,
    raw_exchange,
    replaced_at,
    string_paths,
    with_lone_surrogate,
    without,
)
from conformance.emulator.testing import RunningEmulator
from tests.server.conftest import ADMIN_KEY, PROXY_KEY, RunningProxy, on_every_server

HEADERS = {"x-api-key": PROXY_KEY, "content-type": "application/json"}
ADMIN_HEADERS = {"x-api-key": ADMIN_KEY, "content-type": "application/json"}
BODY_LIMIT = 64 * 1024
# One client for the module: a new httpx.Client per request costs an SSL context (~20 ms).
HTTP = httpx.Client(timeout=30)


def live(max_examples: int) -> settings:
    """Settings for a test against live servers: at most `max_examples`, never above the profile."""
    return settings(
        max_examples=min(max_examples, settings.default.max_examples),
        suppress_health_check=[
            *settings.default.suppress_health_check,
            HealthCheck.function_scoped_fixture,
        ],
    )


MESSAGE: dict[str, Any] = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 64,
    "system": [{"type": "text", "text": "be brief"}],
    "temperature": 0.5,
    "top_p": 0.9,
    "top_k": 5,
    "stop_sequences": ["END"],
    "metadata": {"user_id": "u1"},
    "tools": [
        {
            "name": "get_weather",
            "description": "weather of a city",
            "input_schema": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        }
    ],
    "tool_choice": {"type": "auto"},
    "messages": [
        {"role": "user", "content": [{"type": "text", "text": "weather?"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "checking"},
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                },
            ],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}],
        },
    ],
}
CHAT: dict[str, Any] = {
    "model": "gpt-4o",
    "max_tokens": 64,
    "temperature": 0.5,
    "top_p": 0.9,
    "n": 1,
    "stop": ["END"],
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "weather of a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ],
    "tool_choice": "auto",
    "messages": [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ],
}
COUNT = {k: v for k, v in MESSAGE.items() if k not in {"max_tokens", "stop_sequences", "metadata"}}
SMALL_MESSAGE = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 16,
    "messages": [{"role": "user", "content": "hi"}],
}
# (route, a valid body, the error envelope's checker)
ROUTES: dict[str, tuple[dict[str, Any], Callable[..., dict[str, Any]]]] = {
    "/v1/messages": (MESSAGE, assert_anthropic_error),
    "/v1/messages/count_tokens": (COUNT, assert_anthropic_error),
    "/v1/chat/completions": (CHAT, assert_openai_error),
}
POST_ROUTES = list(ROUTES)

# Fields whose type is fixed, and the JSON types each accepts ("null" where null means absent).
_INT = ("int",)
_NUMBER = ("int", "float")
ANTHROPIC_TYPED_FIELDS: dict[Path, tuple[str, ...]] = {
    ("model",): ("str",),
    ("max_tokens",): _INT,
    ("messages",): ("list",),
    ("messages", 0): ("dict",),
    ("messages", 0, "role"): ("str",),
    ("messages", 0, "content"): ("str", "list"),
    ("messages", 0, "content", 0): ("dict",),
    ("messages", 0, "content", 0, "text"): ("str",),
    ("messages", 1, "content", 1, "input"): ("dict",),
    ("messages", 1, "content", 1, "name"): ("str",),
    ("system",): ("str", "list", "null"),
    ("temperature",): (*_NUMBER, "null"),
    ("top_p",): (*_NUMBER, "null"),
    ("top_k",): (*_INT, "null"),
    ("stop_sequences",): ("list", "null"),
    ("stream",): ("bool", "null"),
    ("tools",): ("list", "null"),
    ("tools", 0): ("dict",),
    ("tools", 0, "name"): ("str",),
    ("tools", 0, "input_schema"): ("dict",),
    ("tool_choice",): ("dict", "null"),
}
OPENAI_TYPED_FIELDS: dict[Path, tuple[str, ...]] = {
    ("model",): ("str",),
    ("max_tokens",): (*_INT, "null"),
    ("messages",): ("list",),
    ("messages", 1): ("dict",),
    ("messages", 1, "role"): ("str",),
    ("messages", 1, "content"): ("str", "list", "null"),  # null: a turn with no parts
    ("messages", 2, "tool_calls"): ("list", "null"),
    ("messages", 2, "tool_calls", 0, "function", "arguments"): ("str",),
    ("messages", 3, "tool_call_id"): ("str",),
    ("temperature",): (*_NUMBER, "null"),
    ("top_p",): (*_NUMBER, "null"),
    ("n",): (*_INT, "null"),
    ("stop",): ("str", "list", "null"),
    ("stream",): ("bool", "null"),
    ("stream_options",): ("dict", "null"),
    ("tools",): ("list", "null"),
    ("tools", 0, "function"): ("dict",),
    ("tools", 0, "function", "name"): ("str",),
    ("tool_choice",): ("str", "dict", "null"),
}
# Strings a client may fill with anything: a lone surrogate in them must be repaired (U+FFFD)
# and reach Gemini; elsewhere (names, ids, enums) it may be refused, in the envelope.
ANTHROPIC_FREE_TEXT: set[Path] = {
    ("system", 0, "text"),
    ("stop_sequences", 0),
    ("tools", 0, "description"),
    ("messages", 0, "content", 0, "text"),
    ("messages", 1, "content", 0, "text"),
    ("messages", 1, "content", 1, "input", "city"),
    ("messages", 2, "content", 0, "content"),
}
OPENAI_FREE_TEXT: set[Path] = {
    ("stop", 0),
    ("tools", 0, "function", "description"),
    ("messages", 0, "content"),
    ("messages", 1, "content"),
    ("messages", 3, "content"),
}
FREE_TEXT = {"/v1/messages": ANTHROPIC_FREE_TEXT, "/v1/chat/completions": OPENAI_FREE_TEXT}


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    return type(value).__name__


def post(proxy: RunningProxy, path: str, content: bytes, **headers: str) -> httpx.Response:
    return HTTP.post(proxy.url + path, content=content, headers={**HEADERS, **headers}, timeout=30)


def on_new_connection(method: str, url: str, **options: Any) -> httpx.Response:
    """One request on a connection of its own, for answers sent before the body is read
    (401, 413): the proxy then drops the connection without saying so (see the keep-alive
    test below), which would break the next request on a shared one. No TLS here, so no
    certificate loading either."""
    return httpx.request(method, url, timeout=30, verify=False, **options)


def encoded(document: Any) -> bytes:
    return json.dumps(document).encode()


def assert_still_serving(proxy: RunningProxy) -> None:
    """The proxy answers a good request after the hostile ones."""
    response = post(proxy, "/v1/messages", encoded(SMALL_MESSAGE))
    assert response.status_code == 200, response.text
    assert decoded_json(response)["type"] == "message"


@pytest.fixture
def hostile_proxy(proxy: RunningProxy) -> Iterator[RunningProxy]:
    """The default proxy; checked to still serve a good request when the test ends."""
    yield proxy
    assert_still_serving(proxy)


@pytest.fixture
def small_proxy(proxy_factory: Callable[..., RunningProxy]) -> Iterator[RunningProxy]:
    """A proxy with a 64 KiB body limit."""
    proxy = proxy_factory(max_body_bytes=BODY_LIMIT)
    yield proxy
    assert_still_serving(proxy)


# --- arbitrary bodies --------------------------------------------------------------------------


@live(60)
@given(path=st.sampled_from(POST_ROUTES), value=JSON_VALUES)
def test_any_json_value_is_answered_in_the_envelope_never_a_5xx(
    hostile_proxy: RunningProxy, path: str, value: Any
) -> None:
    response = post(hostile_proxy, path, encoded(value))
    if response.status_code == 200:
        decoded_json(response)
        return
    envelope = ROUTES[path][1]
    envelope(response, None)
    if not isinstance(value, dict):
        envelope(response, 400, names=("JSON",) if value is not None else ())


@live(40)
@given(path=st.sampled_from(POST_ROUTES), content=st.binary(max_size=64))
def test_any_bytes_are_answered_in_the_envelope_never_a_5xx(
    hostile_proxy: RunningProxy, path: str, content: bytes
) -> None:
    response = post(hostile_proxy, path, content)
    if response.status_code != 200:
        ROUTES[path][1](response, None)


@live(40)
@given(path=st.sampled_from(POST_ROUTES), data=st.data())
def test_truncated_json_is_a_400_saying_it_is_not_json(
    hostile_proxy: RunningProxy, path: str, data: st.DataObject
) -> None:
    content = encoded(ROUTES[path][0])
    cut = data.draw(st.integers(1, len(content) - 1), label="cut")
    ROUTES[path][1](post(hostile_proxy, path, content[:cut]), 400, names=("JSON",))


@live(30)
@given(path=st.sampled_from(POST_ROUTES), data=st.data())
def test_invalid_utf8_inside_a_string_is_a_400(
    hostile_proxy: RunningProxy, path: str, data: st.DataObject
) -> None:
    content = encoded(ROUTES[path][0])
    quotes = [i for i, byte in enumerate(content) if byte == ord('"')]
    at = data.draw(st.sampled_from(quotes), label="after quote") + 1
    junk = data.draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf8\x88\x80\x80"]))
    ROUTES[path][1](post(hostile_proxy, path, content[:at] + junk + content[at:]), 400)


# --- one field wrong ----------------------------------------------------------------------------


def _wrong_value(accepted: tuple[str, ...]) -> st.SearchStrategy[Any]:
    return JSON_VALUES.filter(lambda value: json_type(value) not in accepted)


@st.composite
def _mutated(draw: st.DrawFn, fields: dict[Path, tuple[str, ...]]) -> tuple[Path, Any]:
    path = draw(st.sampled_from(sorted(fields, key=path_text)), label="field")
    return path, draw(_wrong_value(fields[path]), label="wrong value")


@live(80)
@given(mutation=_mutated(ANTHROPIC_TYPED_FIELDS), stream=st.booleans())
def test_anthropic_field_of_the_wrong_type_is_a_400_naming_it(
    hostile_proxy: RunningProxy, mutation: tuple[Path, Any], stream: bool
) -> None:
    path, value = mutation
    body = replaced_at(MESSAGE if path != ("stream",) else {**MESSAGE, "stream": True}, path, value)
    if stream and path != ("stream",):
        body["stream"] = True
    response = post(hostile_proxy, "/v1/messages", encoded(body))
    assert_anthropic_error(response, 400, "invalid_request_error", names=(path_text(path),))


@live(80)
@given(mutation=_mutated(OPENAI_TYPED_FIELDS), stream=st.booleans())
def test_openai_field_of_the_wrong_type_is_a_400_naming_it(
    hostile_proxy: RunningProxy, mutation: tuple[Path, Any], stream: bool
) -> None:
    path, value = mutation
    body = replaced_at(CHAT if path != ("stream",) else {**CHAT, "stream": True}, path, value)
    if stream and path != ("stream",):
        body["stream"] = True
    response = post(hostile_proxy, "/v1/chat/completions", encoded(body))
    error = assert_openai_error(response, 400, names=(path_text(path),))
    assert error["type"] == "invalid_request_error"
    assert error["param"] is not None and error["param"].startswith(path_text(path)), error


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/v1/messages", ("model",)),
        ("/v1/messages", ("max_tokens",)),
        ("/v1/messages", ("messages",)),
        ("/v1/messages", ("messages", 0, "role")),
        ("/v1/messages", ("messages", 0, "content")),
        ("/v1/messages", ("messages", 0, "content", 0, "type")),
        ("/v1/messages", ("messages", 1, "content", 1, "id")),
        ("/v1/messages", ("tools", 0, "name")),
        ("/v1/messages/count_tokens", ("model",)),
        ("/v1/messages/count_tokens", ("messages",)),
        ("/v1/chat/completions", ("model",)),
        ("/v1/chat/completions", ("messages",)),
        ("/v1/chat/completions", ("messages", 1, "role")),
        ("/v1/chat/completions", ("messages", 2, "tool_calls", 0, "function", "name")),
        ("/v1/chat/completions", ("messages", 3, "tool_call_id")),
        ("/v1/chat/completions", ("tools", 0, "function", "name")),
    ],
    ids=lambda value: value if isinstance(value, str) else path_text(value),
)
def test_a_missing_required_field_is_a_400_naming_it(
    hostile_proxy: RunningProxy, path: str, field: Path
) -> None:
    body, envelope = ROUTES[path]
    response = post(hostile_proxy, path, encoded(without(body, field)))
    envelope(response, 400, names=(path_text(field),))


@pytest.mark.parametrize(
    ("path", "field", "value"),
    [
        ("/v1/messages", ("messages", 0, "role"), "robot"),
        ("/v1/messages", ("messages", 0, "content", 0, "type"), "hologram"),
        ("/v1/messages", ("system", 0, "type"), "hologram"),
        ("/v1/messages", ("tool_choice", "type"), "whatever"),
        ("/v1/messages/count_tokens", ("messages", 0, "role"), "robot"),
        ("/v1/chat/completions", ("messages", 1, "role"), "robot"),
        ("/v1/chat/completions", ("messages", 1, "content"), [{"type": "hologram"}]),
        ("/v1/chat/completions", ("tools", 0, "type"), "hologram"),
    ],
    ids=lambda value: path_text(value) if isinstance(value, tuple) else None,
)
def test_unknown_roles_and_block_types_are_a_400_naming_them(
    hostile_proxy: RunningProxy, path: str, field: Path, value: Any
) -> None:
    body, envelope = ROUTES[path]
    for stream in (False, True):
        streamed = (
            {**body, "stream": True} if stream and path != "/v1/messages/count_tokens" else body
        )
        response = post(hostile_proxy, path, encoded(replaced_at(streamed, field, value)))
        envelope(response, 400, names=(path_text(field).split("[0].type")[0],))


# --- lone surrogates ---------------------------------------------------------------------------


def _last_upstream_text(emulator: RunningEmulator) -> str:
    return json.dumps(emulator.requests()[-1]["body"], ensure_ascii=False)


@live(80)
@given(
    route=st.sampled_from(["/v1/messages", "/v1/chat/completions"]),
    stream=st.booleans(),
    data=st.data(),
)
def test_a_lone_surrogate_in_any_string_is_repaired_or_refused_never_a_5xx(
    hostile_proxy: RunningProxy,
    emulator: RunningEmulator,
    route: str,
    stream: bool,
    data: st.DataObject,
) -> None:
    body, envelope = ROUTES[route]
    path = data.draw(st.sampled_from(list(string_paths(body))), label="string")
    content = with_lone_surrogate({**body, "stream": stream}, path)
    response = post(hostile_proxy, route, content)
    if path in FREE_TEXT[route]:
        assert response.status_code == 200, response.text
        response.content.decode("utf-8")  # the reply (JSON or SSE) is strict UTF-8
        assert "\ufffd" in _last_upstream_text(emulator), "the repaired text never reached Gemini"
    elif response.status_code != 200:
        envelope(response, None)
    else:
        response.content.decode("utf-8")


@pytest.mark.parametrize(
    "path",
    sorted((p for p in ANTHROPIC_FREE_TEXT if p[0] != "stop_sequences"), key=path_text),
    ids=path_text,
)
def test_count_tokens_repairs_lone_surrogates(hostile_proxy: RunningProxy, path: Path) -> None:
    response = post(hostile_proxy, "/v1/messages/count_tokens", with_lone_surrogate(COUNT, path))
    assert response.status_code == 200, response.text
    assert decoded_json(response)["input_tokens"] > 0


# --- JSON the parser must refuse or survive ----------------------------------------------------


@pytest.mark.parametrize("path", POST_ROUTES)
@pytest.mark.parametrize(
    "content",
    [
        b"[" * 10_000 + b"]" * 10_000,
        b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
        b'{"model":"claude-sonnet-4-6","max_tokens":5,"messages":[{"role":"user","content":'
        + b"[" * 10_000
        + b"]" * 10_000
        + b"}]}",
    ],
    ids=["arrays", "objects", "inside-content"],
)
def test_ten_thousand_levels_of_nesting_are_a_400(
    hostile_proxy: RunningProxy, path: str, content: bytes
) -> None:
    ROUTES[path][1](post(hostile_proxy, path, content), 400, names=("depth",))


@pytest.mark.parametrize("path", POST_ROUTES)
@pytest.mark.parametrize(
    "literal", [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e400", b"1" + b"0" * 400]
)
def test_nan_infinity_and_numbers_beyond_a_double_are_a_400(
    hostile_proxy: RunningProxy, path: str, literal: bytes
) -> None:
    body = encoded({**ROUTES[path][0], "temperature": 12345})
    ROUTES[path][1](post(hostile_proxy, path, body.replace(b"12345", literal)), 400)


@pytest.mark.parametrize(
    ("path", "number"),
    [
        *[
            ("/v1/chat/completions", number)
            for number in (2**31, 2**63, 2**64 + 1, 10**30, -(10**30), 1e300)
        ],
        *[
            ("/v1/messages", number)
            for number in (2**31, 2**63, 2**64 + 1, 10**30, -(10**30), 1e300)
        ],
    ],
)
def test_max_tokens_beyond_what_gemini_holds_is_a_400_naming_it(
    hostile_proxy: RunningProxy, path: str, number: Any
) -> None:
    body = {**ROUTES[path][0], "max_tokens": number}
    ROUTES[path][1](post(hostile_proxy, path, encoded(body)), 400, names=("max_tokens",))


@pytest.mark.parametrize("path", POST_ROUTES)
def test_duplicate_keys_keep_the_last_value(hostile_proxy: RunningProxy, path: str) -> None:
    body, envelope = ROUTES[path]
    good = encoded(body)
    last_wins = post(hostile_proxy, path, b'{"model": 12,' + good[1:])
    assert last_wins.status_code == 200, last_wins.text
    first_lost = post(hostile_proxy, path, good[:-1] + b', "model": 12}')
    envelope(first_lost, 400, names=("model",))


@pytest.mark.parametrize("path", POST_ROUTES)
def test_an_empty_body_is_a_400_saying_so(hostile_proxy: RunningProxy, path: str) -> None:
    ROUTES[path][1](post(hostile_proxy, path, b""), 400, names=("empty",))


@pytest.mark.parametrize("path", POST_ROUTES)
@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""],
)
def test_a_wrong_content_type_is_read_as_json_or_refused_never_a_5xx(
    hostile_proxy: RunningProxy, path: str, content_type: str
) -> None:
    body, envelope = ROUTES[path]
    response = post(hostile_proxy, path, encoded(body), **{"content-type": content_type})
    if response.status_code != 200:
        envelope(response, 415)
    form = post(hostile_proxy, path, b"model=x&max_tokens=5", **{"content-type": content_type})
    envelope(form, None)


# --- bodies over the limit ---------------------------------------------------------------------


def _over_the_limit(path: str) -> tuple[str, dict[str, str], bytes]:
    method = "PUT" if path.startswith("/admin") else "POST"
    headers = ADMIN_HEADERS if path.startswith("/admin") else HEADERS
    return method, headers, b'{"x":"' + b"a" * (BODY_LIMIT * 4) + b'"}'


@on_every_server
@pytest.mark.parametrize("path", [*POST_ROUTES, "/admin/flags"])
def test_a_body_over_the_limit_is_a_413_in_the_envelope(
    small_proxy: RunningProxy, path: str
) -> None:
    envelope = ROUTES[path][1] if path in ROUTES else assert_anthropic_error
    method, headers, content = _over_the_limit(path)

    def chunked() -> Iterator[bytes]:  # no Content-Length: the limit is found while reading
        for start in range(0, len(content), 8192):
            yield content[start : start + 8192]

    sized = on_new_connection(method, small_proxy.url + path, content=content, headers=headers)
    envelope(sized, 413, names=("maximum allowed number of bytes",))
    streamed = on_new_connection(method, small_proxy.url + path, content=chunked(), headers=headers)
    envelope(streamed, 413, names=("maximum allowed number of bytes",))


@on_every_server
def test_a_413_tells_a_keep_alive_client_the_connection_closes(small_proxy: RunningProxy) -> None:
    method, headers, content = _over_the_limit("/v1/messages")
    with httpx.Client(base_url=small_proxy.url, headers=headers, timeout=30) as client:
        too_large = client.request(method, "/v1/messages", content=content)
        assert too_large.status_code == 413
        # Checked by the header: whether the drop is seen by the next request depends on timing.
        assert too_large.headers.get("connection", "").lower() == "close"
        assert client.post("/v1/messages", content=encoded(SMALL_MESSAGE)).status_code == 200


# --- methods, paths, models --------------------------------------------------------------------


@pytest.mark.parametrize("path", [*POST_ROUTES, "/v1/models", "/admin/flags"])
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "POST"])
def test_a_wrong_method_is_a_405_in_the_envelope(
    hostile_proxy: RunningProxy, path: str, method: str
) -> None:
    allowed = {"/v1/models": {"GET"}, "/admin/flags": {"GET", "PUT"}}.get(path, {"POST"})
    if method in allowed:
        return
    headers = ADMIN_HEADERS if path.startswith("/admin") else HEADERS
    response = HTTP.request(method, hostile_proxy.url + path, headers=headers, timeout=30)
    envelope = assert_openai_error if path.startswith("/v1/chat/") else assert_anthropic_error
    error = envelope(response, 405, names=(method,))
    assert error["type"] == "invalid_request_error"


_SEGMENT = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12
).filter(lambda s: s not in {".", ".."})


@live(40)
@given(prefix=st.sampled_from(["/v1/", "/v2/", "/v1/chat/", "/admin/", "/"]), segment=_SEGMENT)
def test_an_unknown_path_is_a_404_in_the_envelope(
    hostile_proxy: RunningProxy, prefix: str, segment: str
) -> None:
    url = hostile_proxy.url + prefix + "zz-" + quote(segment, safe="")
    headers = ADMIN_HEADERS if prefix == "/admin/" else HEADERS
    response = HTTP.get(url, headers=headers, timeout=30)
    if prefix == "/v1/chat/":
        assert_openai_error(response, 404, names=("Not found",))
    else:
        assert_anthropic_error(response, 404, "not_found_error")


def test_an_unknown_openai_path_is_not_called_a_missing_model(hostile_proxy: RunningProxy) -> None:
    response = HTTP.post(hostile_proxy.url + "/v1/chat/nothing-here", headers=HEADERS)
    assert assert_openai_error(response, 404)["code"] != "model_not_found"


@live(30)
@given(model_id=_SEGMENT)
def test_an_unknown_model_id_is_a_404_naming_it(hostile_proxy: RunningProxy, model_id: str) -> None:
    url = hostile_proxy.url + "/v1/models/zz-" + quote(model_id, safe="")
    response = HTTP.get(url, headers=HEADERS, timeout=30)
    error = assert_anthropic_error(response, 404, "not_found_error")
    assert ("zz-" + model_id).strip() in error["message"] or "\ufffd" in error["message"]


@pytest.mark.parametrize("limit", ["abc", "0", "-1", "1001", "1e3", "", "9" * 40])
def test_a_bad_models_page_limit_is_a_400_naming_it(
    hostile_proxy: RunningProxy, limit: str
) -> None:
    response = HTTP.get(hostile_proxy.url + "/v1/models", params={"limit": limit}, headers=HEADERS)
    if limit == "":  # an empty value reads as an absent one
        assert response.status_code in (200, 400)
        return
    assert_anthropic_error(response, 400, "invalid_request_error", names=("limit",))


# --- keys --------------------------------------------------------------------------------------


def _auth_variants(key: str) -> list[dict[str, str]]:
    return [{"x-api-key": key}, {"authorization": f"Bearer {key}"}]


@live(25)
@given(key=HEADER_TEXT, path=st.sampled_from([*POST_ROUTES, "/v1/models", "/admin/flags"]))
def test_a_wrong_key_is_a_401_that_never_echoes_it(
    hostile_proxy: RunningProxy, key: str, path: str
) -> None:
    if key in {PROXY_KEY, ADMIN_KEY}:
        return
    body, envelope = ROUTES.get(path, ({}, assert_anthropic_error))
    method = "POST" if path in ROUTES else "GET"
    messages = set()
    for headers in [*_auth_variants(key), *_auth_variants("sk-some-other-wrong-key")]:
        response = on_new_connection(
            method, hostile_proxy.url + path, content=encoded(body), headers=headers
        )
        error = envelope(response, 401)
        messages.add(error["message"])
        if envelope is assert_anthropic_error:
            assert error["type"] == "authentication_error"
    assert len(messages) == 1, messages  # the same words whatever key was sent: none echoed


@pytest.mark.parametrize("path", [*POST_ROUTES, "/v1/models", "/admin/flags"])
@pytest.mark.parametrize("authorization", [None, "Basic c2stcHJveHk6", "Bearer", "Token abc"])
def test_a_missing_key_is_a_401_naming_the_header(
    hostile_proxy: RunningProxy, path: str, authorization: str | None
) -> None:
    headers = {"content-type": "application/json"}
    if authorization is not None:
        headers["authorization"] = authorization
    method = "POST" if path in ROUTES else "GET"
    body, envelope = ROUTES.get(path, ({}, assert_anthropic_error))
    response = on_new_connection(
        method, hostile_proxy.url + path, content=encoded(body), headers=headers
    )
    envelope(response, 401, names=("x-api-key",))


def test_the_proxy_key_does_not_open_the_admin_api(hostile_proxy: RunningProxy) -> None:
    response = HTTP.get(hostile_proxy.url + "/admin/flags", headers=HEADERS)
    assert_anthropic_error(response, 401, "authentication_error")
    assert PROXY_KEY not in response.text


# --- headers: injection and flag overrides ----------------------------------------------------


def _raw_post(proxy: RunningProxy, extra_header_lines: bytes, body: bytes) -> bytes:
    return (
        b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        + b"x-api-key: "
        + PROXY_KEY.encode()
        + b"\r\ncontent-type: application/json\r\n"
        + extra_header_lines
        + b"content-length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


@pytest.mark.parametrize(
    "injected",
    [
        b"x-compatkit-flags: ff_retry_policy_v2=on\r\nx-compatkit-admin-key: guess\r\n",
        b"x-compatkit-flags: ff_retry_policy_v2=on\nx-compatkit-admin-key: guess\r\n",
        b"x-compatkit-flags: ff_retry_policy_v2=on%0d%0ax-compatkit-admin-key: guess\r\n",
    ],
    ids=["crlf", "bare-lf", "percent-encoded"],
)
def test_a_header_smuggled_into_the_flag_override_gains_nothing(
    hostile_proxy: RunningProxy, injected: bytes
) -> None:
    status, headers, body = raw_exchange(
        hostile_proxy.url, _raw_post(hostile_proxy, injected, encoded(SMALL_MESSAGE))
    )
    assert status == 403, body
    error = json.loads(body.decode("utf-8"))
    assert error["error"]["type"] == "permission_error"
    assert "guess" not in body.decode() and "x-compatkit-admin-key" not in headers


@pytest.mark.parametrize(
    "line",
    [b"x-compatkit-flags: ff_retry_policy_v2=on\rinjected: 1\r\n", b"content-length: abc\r\n"],
    ids=["bare-cr", "bad-content-length"],
)
def test_a_malformed_header_is_refused_and_the_proxy_stays_up(
    hostile_proxy: RunningProxy, line: bytes
) -> None:
    # Refused by the HTTP layer (h11) before the app: a 400, connection closed.
    request = _raw_post(hostile_proxy, line, b"{}")
    if line.startswith(b"content-length"):
        request = request.replace(b"content-length: 2\r\n", b"")
    status, _, _ = raw_exchange(hostile_proxy.url, request)
    assert status == 400


@live(40)
@given(value=HEADER_TEXT, route=st.sampled_from(["/v1/messages", "/v1/chat/completions"]))
def test_a_bad_flag_override_is_a_400_naming_the_header_or_flag(
    hostile_proxy: RunningProxy, value: str, route: str
) -> None:
    body, envelope = ROUTES[route]
    headers = {"x-compatkit-flags": value, "x-compatkit-admin-key": ADMIN_KEY}
    response = post(hostile_proxy, route, encoded(body), **headers)
    if response.status_code == 200:
        return  # it happened to be a valid override
    error = envelope(response, 400)
    assert "x-compatkit-flags" in error["message"] or "flag" in error["message"]
    assert ADMIN_KEY not in response.text
    unauthorised = post(hostile_proxy, route, encoded(body), **{"x-compatkit-flags": value})
    envelope(unauthorised, 403, names=("x-compatkit-admin-key",))


# --- admin API ---------------------------------------------------------------------------------


@live(25)
@given(value=JSON_VALUES)
def test_admin_flag_bodies_of_any_shape_get_an_envelope_error(
    hostile_proxy: RunningProxy, value: Any
) -> None:
    flags = HTTP.put(
        hostile_proxy.url + "/admin/flags", content=encoded(value), headers=ADMIN_HEADERS
    )
    one = HTTP.put(
        hostile_proxy.url + "/admin/flags/ff_retry_policy_v2",
        content=encoded(value),
        headers=ADMIN_HEADERS,
    )
    if flags.status_code != 200:
        assert_anthropic_error(flags, 400, "invalid_request_error")
    if one.status_code != 200:
        assert_anthropic_error(one, 400, "invalid_request_error")
    HTTP.delete(hostile_proxy.url + "/admin/flags/ff_retry_policy_v2", headers=ADMIN_HEADERS)


@pytest.mark.parametrize(
    ("method", "path", "content", "status"),
    [
        ("PUT", "/admin/flags/ff_nope", b'{"value": true}', 404),
        ("DELETE", "/admin/flags/ff_nope", b"", 404),
        ("PUT", "/admin/flags/ff_retry_policy_v2", b'{"value": "yes"}', 400),
        ("PUT", "/admin/flags", b'{"ff_nope": true}', 400),
        ("PUT", "/admin/flags", b'{"ff_retry_policy_v2": 1}', 400),
        ("PUT", "/admin/flags", b"{", 400),
        ("POST", "/admin/credentials/nope/disable", b"{}", 404),
        ("POST", "/admin/credentials/nope/enable", b"", 404),
        ("DELETE", "/admin/credentials/nope/cooldowns", b"", 404),
    ],
)
def test_admin_faults_are_answered_in_the_envelope(
    hostile_proxy: RunningProxy, method: str, path: str, content: bytes, status: int
) -> None:
    # An unknown credential is refused before its body is read: a connection of its own.
    response = on_new_connection(
        method, hostile_proxy.url + path, content=content, headers=ADMIN_HEADERS
    )
    assert_anthropic_error(response, status)


def test_a_bad_disable_body_on_a_real_credential_is_a_400(hostile_proxy: RunningProxy) -> None:
    listed = HTTP.get(hostile_proxy.url + "/admin/credentials", headers=ADMIN_HEADERS)
    credential = listed.json()["data"][0]["id"]
    response = HTTP.post(
        hostile_proxy.url + f"/admin/credentials/{credential}/disable",
        content=b"[1, 2",
        headers=ADMIN_HEADERS,
    )
    assert_anthropic_error(response, 400, "invalid_request_error", names=("JSON",))


# --- the official SDKs see the right exception classes ------------------------------------------


def _anthropic(proxy: RunningProxy, key: str = PROXY_KEY) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=proxy.url, api_key=key, max_retries=0, timeout=30)


def _openai(proxy: RunningProxy, key: str = PROXY_KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=proxy.url + "/v1", api_key=key, max_retries=0, timeout=30)


def test_the_anthropic_sdk_raises_the_class_of_each_status(
    hostile_proxy: RunningProxy, small_proxy: RunningProxy
) -> None:
    client = _anthropic(hostile_proxy)
    messages = [{"role": "user", "content": "hi"}]
    with pytest.raises(anthropic.BadRequestError) as bad:
        client.messages.create(
            model="claude-sonnet-4-6", max_tokens=16, messages=messages, extra_body={"top_k": "x"}
        )
    assert bad.value.request_id and "top_k" in bad.value.message
    with pytest.raises(anthropic.BadRequestError):
        client.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=16,
            messages=[{"role": "robot", "content": "hi"}],  # type: ignore[list-item]
            stream=True,
        )
    with pytest.raises(anthropic.AuthenticationError):
        _anthropic(hostile_proxy, "sk-wrong").messages.create(
            model="claude-sonnet-4-6", max_tokens=16, messages=messages
        )
    with pytest.raises(anthropic.NotFoundError):
        client.models.retrieve("no-such-model")
    with pytest.raises(anthropic.NotFoundError):
        client.messages.create(model="mistral-large", max_tokens=16, messages=messages)
    with pytest.raises(anthropic.PermissionDeniedError):
        client.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=16,
            messages=messages,
            extra_headers={"x-compatkit-flags": "ff_retry_policy_v2=on"},
        )
    with pytest.raises(anthropic.RequestTooLargeError):
        _anthropic(small_proxy).messages.create(
            model="claude-sonnet-4-6",
            max_tokens=16,
            messages=[{"role": "user", "content": "a" * (BODY_LIMIT * 2)}],
        )
    with pytest.raises(anthropic.BadRequestError):
        client.messages.count_tokens(
            model="claude-sonnet-4-6",
            messages=[{"role": "user", "content": 5}],  # type: ignore[typeddict-item]
        )


def test_the_openai_sdk_raises_the_class_of_each_status(hostile_proxy: RunningProxy) -> None:
    client = _openai(hostile_proxy)
    messages: Any = [{"role": "user", "content": "hi"}]
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model="gpt-4o", messages=messages, n=3)
    assert bad.value.param == "n" and bad.value.type == "invalid_request_error"
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "robot", "content": "x"}], stream=True
        )
    with pytest.raises(openai.AuthenticationError) as unauthorised:
        _openai(hostile_proxy, "sk-wrong").chat.completions.create(
            model="gpt-4o", messages=messages
        )
    assert unauthorised.value.code == "invalid_api_key"
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="mistral-large", messages=messages)
    with pytest.raises(openai.PermissionDeniedError):
        client.chat.completions.create(
            model="gpt-4o", messages=messages, extra_headers={"x-compatkit-flags": "x=on"}
        )

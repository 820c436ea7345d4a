"""Bad input gets a clear error in the route's own envelope, with a `request-id`, and the
server stays up: malformed JSON, wrong types, huge bodies, deep nesting, lone surrogates, unknown
models and routes, missing or wrong keys. Upstream failures map to the statuses of
docs/reference/anthropic.md#errors (400 with Google's message, 429 with retry-after, 529 for
capacity/503).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.emulator.testing import running_emulator
from server.app import create_app
from server.hosting import ServerThread
from tests.server.conftest import (
    EMULATOR_SCENARIOS,
    PROXY_KEY,
    RunningProxy,
    proxy_config,
    scenario,
)

HEADERS = {"x-api-key": PROXY_KEY, "content-type": "application/json"}
MESSAGE = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 16,
    "messages": [{"role": "user", "content": "hi"}],
}


def post(proxy: RunningProxy, path: str, content: bytes, **headers: str) -> httpx.Response:
    return httpx.post(proxy.url + path, content=content, headers={**HEADERS, **headers}, timeout=30)


def assert_anthropic_error(
    response: httpx.Response, status: int, error_type: str
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["type"] == "error" and body["error"]["type"] == error_type
    assert body["request_id"] == response.headers["request-id"]
    assert body["request_id"].startswith("req_")
    return body


def assert_still_serving(proxy: RunningProxy) -> None:
    assert httpx.get(proxy.url + "/healthz").status_code == 200


@pytest.mark.parametrize(
    "content",
    [b"", b"{", b"[1, 2]", b"null", b'{"model": "x",}', b"\xff\xfe{}", b"NaN"],
    ids=["empty", "truncated", "array", "null", "trailing-comma", "bad-utf8", "nan"],
)
def test_a_body_that_is_not_a_json_object_is_a_400(proxy: RunningProxy, content: bytes) -> None:
    assert_anthropic_error(post(proxy, "/v1/messages", content), 400, "invalid_request_error")
    assert_still_serving(proxy)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"max_tokens": "many"}, "max_tokens"),
        ({"messages": "hi"}, "messages"),
        ({"model": 7}, "model"),
        ({"stream": "yes"}, "stream"),
        ({"messages": [{"role": "robot", "content": "hi"}]}, "messages[0].role"),
        ({"temperature": "hot"}, "temperature"),
    ],
)
def test_a_wrong_field_is_a_400_naming_the_field(
    proxy: RunningProxy, change: dict[str, Any], field: str
) -> None:
    body = assert_anthropic_error(
        post(proxy, "/v1/messages", httpx.Request("POST", "/", json={**MESSAGE, **change}).content),
        400,
        "invalid_request_error",
    )
    assert field in body["error"]["message"]


def test_deep_nesting_is_a_400_not_a_crash(proxy: RunningProxy) -> None:
    deep = b'{"model": "claude-sonnet-4-6", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert_anthropic_error(post(proxy, "/v1/messages", deep), 400, "invalid_request_error")
    assert_still_serving(proxy)


def test_a_body_over_the_limit_is_a_413(proxy_factory: Any) -> None:
    proxy = proxy_factory(max_body_bytes=4096)
    huge = b'{"model": "claude-sonnet-4-6", "pad": "' + b"x" * 10_000 + b'"}'
    assert_anthropic_error(post(proxy, "/v1/messages", huge), 413, "request_too_large")
    assert_still_serving(proxy)


def test_lone_surrogates_in_text_never_break_the_reply(proxy: RunningProxy) -> None:
    content = (
        b'{"model": "claude-sonnet-4-6", "max_tokens": 16, '
        b'"messages": [{"role": "user", "content": "a\\ud800b \\udfff"}]}'
    )
    response = post(proxy, "/v1/messages", content)
    assert response.status_code == 200, response.text
    assert response.json()["type"] == "message"


def test_an_unknown_model_is_a_404_not_found(proxy: RunningProxy) -> None:
    body = assert_anthropic_error(
        post(
            proxy,
            "/v1/messages",
            httpx.Request("POST", "/", json={**MESSAGE, "model": "llama"}).content,
        ),
        404,
        "not_found_error",
    )
    assert "llama" in body["error"]["message"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"x-api-key": "wrong"}, {"authorization": "Bearer wrong"}, {"authorization": "Basic x"}],
    ids=["missing", "wrong-x-api-key", "wrong-bearer", "not-bearer"],
)
def test_a_missing_or_wrong_key_is_a_401_that_never_echoes_the_key(
    proxy: RunningProxy, headers: dict[str, str]
) -> None:
    response = httpx.post(
        proxy.url + "/v1/messages",
        json=MESSAGE,
        headers={"content-type": "application/json", **headers},
    )
    body = assert_anthropic_error(response, 401, "authentication_error")
    assert "wrong" not in response.text and "wrong" not in str(response.headers)
    assert body["error"]["message"]


@pytest.mark.parametrize(
    ("method", "path", "status", "error_type"),
    [
        ("GET", "/nowhere", 404, "not_found_error"),
        ("GET", "/v1/messages", 405, "invalid_request_error"),
        ("DELETE", "/healthz", 405, "invalid_request_error"),
    ],
)
def test_unknown_routes_and_methods_answer_in_the_envelope(
    proxy: RunningProxy, method: str, path: str, status: int, error_type: str
) -> None:
    response = httpx.request(method, proxy.url + path, headers=HEADERS)
    assert_anthropic_error(response, status, error_type)


def test_openai_route_errors_use_the_openai_envelope(proxy: RunningProxy) -> None:
    response = post(proxy, "/v1/chat/completions", b"{oops")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and set(error) == {
        "message",
        "type",
        "param",
        "code",
    }
    assert response.headers["request-id"].startswith("req_")


def test_flag_override_without_the_admin_key_is_refused(proxy: RunningProxy) -> None:
    response = post(
        proxy,
        "/v1/messages",
        httpx.Request("POST", "/", json=MESSAGE).content,
        **{"x-compatkit-flags": "ff_retry_policy_v2=on"},
    )
    assert_anthropic_error(response, 403, "permission_error")


@pytest.mark.parametrize(
    ("name", "status", "error_type"),
    [
        ("rate_limited", 429, "rate_limit_error"),
        ("capacity_503", 529, "overloaded_error"),
        ("internal_error", 500, "api_error"),
    ],
)
@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
def test_upstream_failures_before_any_byte_get_their_http_status(
    proxy: RunningProxy, name: str, status: int, error_type: str, stream: bool
) -> None:
    request = {
        **MESSAGE,
        "stream": stream,
        "messages": [{"role": "user", "content": scenario(name)}],
    }
    response = post(proxy, "/v1/messages", httpx.Request("POST", "/", json=request).content)
    assert_anthropic_error(response, status, error_type)
    if status in (429, 529):
        assert int(response.headers["retry-after"]) >= 1


def test_upstream_400_is_a_400_with_googles_message(proxy: RunningProxy) -> None:
    # compat refuses what Gemini would refuse before sending; a request only the upstream
    # refuses (here, a scenario the emulator does not know) gets Google's own 400.
    message = {**MESSAGE, "messages": [{"role": "user", "content": "[scenario:nope] hi"}]}
    body = assert_anthropic_error(
        post(proxy, "/v1/messages", httpx.Request("POST", "/", json=message).content),
        400,
        "invalid_request_error",
    )
    assert "Unknown emulator scenario 'nope'" in body["error"]["message"]


def test_an_upstream_key_refused_as_invalid_is_the_gateways_failure_not_the_clients() -> None:
    # An upstream key the emulator does not know gets Google's 400 INVALID_ARGUMENT
    # (API_KEY_INVALID): the proxy's credential is refused, not the client's request.
    scenarios = {**EMULATOR_SCENARIOS, "auth": {"api_keys": ["the-only-good-key"]}}
    with running_emulator(scenarios) as emulator:
        with ServerThread(create_app(proxy_config(emulator.base_url))) as server:
            proxy = RunningProxy(server)
            body = assert_anthropic_error(
                post(proxy, "/v1/messages", httpx.Request("POST", "/", json=MESSAGE).content),
                502,
                "api_error",
            )
        assert {record["status"] for record in emulator.requests()} == {400}
    assert (
        "upstream refused the credential (invalid): API key not valid" in body["error"]["message"]
    )


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.dictionaries(
        st.sampled_from(["model", "max_tokens", "messages", "system", "tools", "stream", "x"]),
        json_values,
    )
)
def test_any_json_object_gets_a_clear_answer_never_a_500(
    proxy: RunningProxy, body: dict[str, Any]
) -> None:
    response = post(proxy, "/v1/messages", httpx.Request("POST", "/", json=body).content)
    assert response.status_code in (200, 400, 404), response.text
    if response.status_code != 200:
        assert response.json()["type"] == "error"

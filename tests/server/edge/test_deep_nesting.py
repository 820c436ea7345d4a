"""Deep nesting against the real proxy: never a 5xx, and past compat's limit (128 levels) a 400
in the route's own envelope naming the limit and the field (issue 17.2).

The requests come from conformance.strategies.nesting, the building blocks compat's own
properties use (tests/compat/test_nesting.py), here sent over a socket to a proxy in front of
the emulator: Anthropic on /v1/messages, OpenAI on /v1/chat/completions.
"""

from __future__ import annotations

from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings

from compat._nesting import MAX_NESTING
from conformance.checks.hostile import assert_anthropic_error, assert_openai_error, decoded_json
from conformance.strategies.nesting import (
    ANTHROPIC,
    OPENAI,
    DeepRequest,
    deep_requests,
    in_request,
    nested_json,
)
from tests.server.conftest import PROXY_KEY, RunningProxy

HEADERS = {"x-api-key": PROXY_KEY, "content-type": "application/json"}
HTTP = httpx.Client(timeout=60)


def send(proxy: RunningProxy, openai: bool, text: str) -> httpx.Response:
    path = "/v1/chat/completions" if openai else "/v1/messages"
    return HTTP.post(proxy.url + path, content=text.encode(), headers=HEADERS)


def assert_refused_for_depth(response: httpx.Response, openai: bool, field: str) -> None:
    names = (str(MAX_NESTING), "depth limit", field)
    if openai:
        error: dict[str, Any] = assert_openai_error(response, 400, names=names)
        assert error["type"] == "invalid_request_error"
        assert error["param"].startswith(field), error
    else:
        assert_anthropic_error(response, 400, "invalid_request_error", names=names)


@settings(
    max_examples=min(60, settings.default.max_examples),
    suppress_health_check=[
        *settings.default.suppress_health_check,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(deep=deep_requests())
def test_any_depth_up_to_ten_to_the_five_is_never_a_5xx(
    proxy: RunningProxy, deep: DeepRequest
) -> None:
    response = send(proxy, deep.openai, deep.text())
    assert response.status_code < 500, response.text
    if deep.depth > MAX_NESTING:
        assert_refused_for_depth(response, deep.openai, deep.field)
    else:
        assert "depth limit" not in response.text


def test_a_request_exactly_at_the_limit_is_answered(proxy: RunningProxy) -> None:
    text = in_request(ANTHROPIC, ("metadata",), nested_json(MAX_NESTING - 1))
    response = send(proxy, False, text)
    assert response.status_code == 200, response.text
    assert decoded_json(response)["type"] == "message"


def test_one_level_past_the_limit_is_a_400_naming_the_limit_and_the_field(
    proxy: RunningProxy,
) -> None:
    text = in_request(ANTHROPIC, ("metadata",), nested_json(MAX_NESTING))
    response = send(proxy, False, text)
    assert_refused_for_depth(response, False, "metadata.a.a")
    message = decoded_json(response)["error"]["message"]
    assert message == (
        "metadata.a.a.a.a.a.a.a…(120 more levels): "
        "nested deeper than 128 levels, the depth limit of a request"
    )


def test_one_level_past_the_limit_on_the_openai_route_names_it_in_param(
    proxy: RunningProxy,
) -> None:
    text = in_request(OPENAI, ("metadata",), nested_json(MAX_NESTING))
    response = send(proxy, True, text)
    assert_refused_for_depth(response, True, "metadata.a.a")

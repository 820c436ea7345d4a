"""A turn Gemini could not finish (MALFORMED_FUNCTION_CALL) reaches the client as an upstream
failure, never as made-up assistant text (issue 17.5, docs/mapping.md), on both routes, in both
retry arms, with the official SDKs against the emulator.

Rules: before any byte went out, the answer is a 502 `api_error` (OpenAI: 502 `server_error`)
naming MALFORMED_FUNCTION_CALL and Gemini's finishMessage; after (thinking already streamed),
the stream ends with an `error` event and no `message_stop`; the proxy does not retry it (a
client that wants another sample asks again: the SDKs retry a 502 themselves); the credential
served, so it stays healthy.
"""

from __future__ import annotations

from typing import Any

import anthropic
import openai
import pytest

from conformance.emulator.testing import RunningEmulator
from tests.server.conftest import PROXY_KEY, RunningProxy, scenario
from tests.server.upstream.test_client import RETRY_ARMS, flag_headers, sdk

MESSAGE = "Gemini ended its turn with a malformed function call (MALFORMED_FUNCTION_CALL)"


def generate_calls(emulator: RunningEmulator) -> int:
    methods = {"generateContent", "streamGenerateContent"}
    return sum(r["path"].rpartition(":")[2] in methods for r in emulator.requests())


def error_rates(proxy: RunningProxy) -> set[float]:
    return {status.error_rate for status in proxy.services.board.snapshot()}


@pytest.mark.parametrize("flags", RETRY_ARMS)
@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
def test_anthropic_clients_get_an_api_error_not_invented_text(
    proxy: RunningProxy, emulator: RunningEmulator, flags: dict[str, bool], stream: bool
) -> None:
    client = sdk(proxy, flags)
    messages: Any = [{"role": "user", "content": f"{scenario('malformed_function_call')} go"}]
    with pytest.raises(anthropic.InternalServerError) as raised:
        if stream:
            with client.messages.stream(
                model="claude-sonnet-4-6", max_tokens=64, messages=messages
            ) as events:
                events.get_final_message()
        else:
            client.messages.create(model="claude-sonnet-4-6", max_tokens=64, messages=messages)
    assert raised.value.status_code == 502
    assert raised.value.body["error"]["type"] == "api_error"
    assert MESSAGE in raised.value.message
    assert generate_calls(emulator) == 1  # not retried by the proxy
    assert error_rates(proxy) == {0.0}


@pytest.mark.parametrize("flags", RETRY_ARMS)
def test_a_failure_after_thinking_was_streamed_ends_the_stream_with_an_error_event(
    proxy: RunningProxy, emulator: RunningEmulator, flags: dict[str, bool]
) -> None:
    client = sdk(proxy, flags)
    messages: Any = [{"role": "user", "content": f"{scenario('thinking_then_malformed')} go"}]
    seen: list[Any] = []
    with (
        pytest.raises(anthropic.APIStatusError) as raised,
        client.messages.stream(
            model="claude-sonnet-4-6",
            max_tokens=2048,
            thinking={"type": "enabled", "budget_tokens": 1024},
            messages=messages,
        ) as events,
    ):
        seen.extend(events)
    kinds = [event.type for event in seen]
    assert kinds[0] == "message_start" and "thinking" in kinds and "message_stop" not in kinds
    assert not [e for e in seen if e.type == "text"]  # no text was invented
    assert MESSAGE in raised.value.message
    assert generate_calls(emulator) == 1


@pytest.mark.parametrize("flags", RETRY_ARMS)
@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
def test_openai_clients_get_a_server_error_not_invented_text(
    proxy: RunningProxy, emulator: RunningEmulator, flags: dict[str, bool], stream: bool
) -> None:
    client = openai.OpenAI(
        base_url=proxy.url + "/v1",
        api_key=PROXY_KEY,
        max_retries=0,
        default_headers=flag_headers(flags),
    )
    messages: Any = [{"role": "user", "content": f"{scenario('malformed_function_call')} go"}]
    with pytest.raises(openai.InternalServerError) as raised:
        if stream:
            list(client.chat.completions.create(model="gpt-4o", messages=messages, stream=True))
        else:
            client.chat.completions.create(model="gpt-4o", messages=messages)
    assert raised.value.status_code == 502
    assert MESSAGE in raised.value.message
    assert generate_calls(emulator) == 1

"""The Anthropic routes, spoken to by the official `anthropic` SDK (sync and async) through the
proxy served on 127.0.0.1, in front of the emulator served on 127.0.0.1.

Every flag is exercised in both arms through the admin-authorised override header, so both
arms run in one proxy process, request by request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anthropic
import pytest

from conformance.emulator.testing import RunningEmulator
from server.flags import FLAG_NAMES
from tests.server.conftest import ADMIN_KEY, PROXY_KEY, RunningProxy, scenario


def flag_headers(flags: dict[str, bool]) -> dict[str, str]:
    """The override headers for one arm (flags not named keep the store's value: off)."""
    value = ",".join(f"{name}={'on' if on else 'off'}" for name, on in flags.items())
    return {"x-compatkit-flags": value, "x-compatkit-admin-key": ADMIN_KEY}


def arm_id(flags: dict[str, bool]) -> str:
    return "+".join(name for name, on in flags.items() if on) or "all-off"


# Each flag on alone, and all of them on together.
SINGLE_ARMS = [{name: True} for name in FLAG_NAMES] + [dict.fromkeys(FLAG_NAMES, True)]
BOTH_ARMS = [dict.fromkeys(FLAG_NAMES, False), *SINGLE_ARMS]


def client(proxy: RunningProxy, **headers: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=proxy.url, api_key=PROXY_KEY, max_retries=0, default_headers=headers
    )


def async_client(proxy: RunningProxy, **headers: str) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(
        base_url=proxy.url, api_key=PROXY_KEY, max_retries=0, default_headers=headers
    )


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


@pytest.mark.parametrize("flags", BOTH_ARMS, ids=arm_id)
def test_non_stream_message_comes_back_as_an_anthropic_message(
    proxy: RunningProxy, emulator: RunningEmulator, flags: dict[str, bool]
) -> None:
    message = client(proxy, **flag_headers(flags)).messages.create(
        model="claude-sonnet-4-6", max_tokens=64, messages=user("Say something.")
    )
    assert message.type == "message" and message.role == "assistant"
    assert message.model == "claude-sonnet-4-6"
    assert message.stop_reason == "end_turn"
    assert message.content[0].type == "text" and message.content[0].text
    assert message.usage.output_tokens > 0
    (record,) = emulator.requests()
    assert record["verdict"] == "ok"
    assert record["path"] == "/v1beta/models/gemini-2.5-pro:generateContent"


@pytest.mark.parametrize("flags", BOTH_ARMS, ids=arm_id)
def test_stream_helpers_accumulate_the_same_text_as_the_non_stream_reply(
    proxy: RunningProxy, flags: dict[str, bool]
) -> None:
    sdk = client(proxy, **flag_headers(flags))
    whole = sdk.messages.create(model="claude-sonnet-4-6", max_tokens=64, messages=user("Hi"))
    with sdk.messages.stream(
        model="claude-sonnet-4-6", max_tokens=64, messages=user("Hi")
    ) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(pieces) == final.content[0].text == whole.content[0].text
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == whole.usage.output_tokens


def test_raw_stream_events_follow_the_anthropic_grammar(proxy: RunningProxy) -> None:
    events = list(
        client(proxy).messages.create(
            model="claude-haiku-4-5", max_tokens=64, messages=user("Hi"), stream=True
        )
    )
    types = [event.type for event in events]
    assert types[0] == "message_start"
    assert types[-2:] == ["message_delta", "message_stop"]
    assert types.count("content_block_start") == types.count("content_block_stop") == 1


async def test_async_client_streams_and_creates(proxy: RunningProxy) -> None:
    sdk = async_client(proxy)
    message = await sdk.messages.create(
        model="claude-sonnet-4-6", max_tokens=64, messages=user("Hi")
    )
    async with sdk.messages.stream(
        model="claude-sonnet-4-6", max_tokens=64, messages=user("Hi")
    ) as stream:
        final = await stream.get_final_message()
    assert final.content[0].text == message.content[0].text
    await sdk.close()


@pytest.mark.parametrize("schema_mode", ["parametersJsonSchema", "parameters"])
@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
def test_a_tool_call_round_trips_through_tool_use_and_tool_result(
    proxy_factory: Callable[..., RunningProxy],
    emulator: RunningEmulator,
    stream: bool,
    schema_mode: str,
) -> None:
    proxy = proxy_factory(app_options={"schema_mode": schema_mode})
    sdk = client(proxy)
    tools = [
        {
            "name": "Bash",
            "description": "Run a command",
            "input_schema": {
                "type": "object",
                "properties": {"command": {"type": "string"}, "description": {"type": "string"}},
                "required": ["command"],
            },
        }
    ]
    messages = user(f"{scenario('tool_bash')} run it")
    if stream:
        with sdk.messages.stream(
            model="claude-sonnet-4-6", max_tokens=64, messages=messages, tools=tools
        ) as s:
            first = s.get_final_message()
    else:
        first = sdk.messages.create(
            model="claude-sonnet-4-6", max_tokens=64, messages=messages, tools=tools
        )
    assert first.stop_reason == "tool_use"
    (call,) = [block for block in first.content if block.type == "tool_use"]
    assert call.name == "Bash" and call.input["command"] == "echo hi"
    follow_up = [
        *messages,
        {"role": "assistant", "content": [block.model_dump() for block in first.content]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "hi"}],
        },
    ]
    second = sdk.messages.create(
        model="claude-sonnet-4-6", max_tokens=64, messages=follow_up, tools=tools
    )
    assert second.stop_reason == "end_turn"
    records = emulator.requests()
    assert [r["verdict"] for r in records] == ["ok", "ok"]
    parts = records[1]["body"]["contents"][-1]["parts"]
    assert parts[0]["functionResponse"]["name"] == "Bash"
    (declaration,) = records[0]["body"]["tools"][0]["functionDeclarations"]
    assert schema_mode in declaration


def test_count_tokens_asks_upstream_count_tokens(
    proxy: RunningProxy, emulator: RunningEmulator
) -> None:
    counted = client(proxy).messages.count_tokens(
        model="claude-sonnet-4-6", system="Be brief.", messages=user("How many tokens is this?")
    )
    assert counted.input_tokens > 0
    (record,) = emulator.requests()
    assert record["path"].endswith(":countTokens") and record["verdict"] == "ok"


def test_models_are_listed_and_found_in_anthropic_shapes(proxy: RunningProxy) -> None:
    sdk = client(proxy)
    listed = [model.id for model in sdk.models.list(limit=100)]
    assert "claude-sonnet-4-5-20250929" in listed and "gemini-2.5-pro" in listed
    assert listed == sorted(listed)
    info = sdk.models.retrieve("claude-sonnet-4-5-20250929")
    assert info.type == "model" and info.id == "claude-sonnet-4-5-20250929"
    with pytest.raises(anthropic.NotFoundError):
        sdk.models.retrieve("no-such-model")


def test_model_list_pages_with_cursors(proxy: RunningProxy) -> None:
    sdk = client(proxy)
    everything = [model.id for model in sdk.models.list(limit=100)]
    first = sdk.models.list(limit=2)
    assert [m.id for m in first.data] == everything[:2] and first.has_more
    after = sdk.models.list(limit=2, after_id=first.last_id)
    assert [m.id for m in after.data] == everything[2:4]


@pytest.mark.parametrize(
    "make_client",
    [
        lambda p: anthropic.Anthropic(base_url=p.url, api_key=PROXY_KEY, max_retries=0),
        lambda p: anthropic.Anthropic(base_url=p.url, auth_token=PROXY_KEY, max_retries=0),
    ],
    ids=["x-api-key", "bearer"],
)
def test_proxy_key_is_accepted_in_either_header(
    proxy: RunningProxy, make_client: Callable[[RunningProxy], anthropic.Anthropic]
) -> None:
    message = make_client(proxy).messages.create(
        model="claude-sonnet-4-6", max_tokens=16, messages=user("Hi")
    )
    assert message.content


def test_flags_changed_through_the_store_apply_to_the_next_request(
    proxy: RunningProxy, emulator: RunningEmulator
) -> None:
    proxy.run(proxy.services.flags.set("ff_http2_pool_tuning", True))
    client(proxy).messages.create(model="claude-sonnet-4-6", max_tokens=16, messages=user("Hi"))
    (record,) = emulator.requests()
    assert record["verdict"] == "ok"
    assert proxy.services.upstream is not None
    assert proxy.services.upstream.transport._pooled is not None  # the pooled arm ran


def test_a_scenario_marker_scripts_only_the_turn_that_carries_it(proxy: RunningProxy) -> None:
    sdk = client(proxy)
    with pytest.raises(anthropic.InternalServerError):
        sdk.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=64,
            messages=user(f"{scenario('internal_error')} hi"),
        )
    history: Any = [
        *user(f"{scenario('internal_error')} hi"),
        {"role": "assistant", "content": "Sorry, something failed."},
        *user("and now, without a marker?"),
    ]
    # The history still holds the marker of a scenario that always fails: not this turn's.
    again = sdk.messages.create(model="claude-sonnet-4-6", max_tokens=64, messages=history)
    assert again.stop_reason == "end_turn"

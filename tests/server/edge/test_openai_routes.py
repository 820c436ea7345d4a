"""The OpenAI route, spoken to by the official `openai` SDK through the proxy (real servers)."""

from __future__ import annotations

from typing import Any, Literal

import httpx
import openai
import pydantic
import pytest

from conformance.emulator.testing import RunningEmulator
from tests.server.conftest import PROXY_KEY, RunningProxy, scenario
from tests.server.edge.test_anthropic_routes import BOTH_ARMS, arm_id, flag_headers


def client(proxy: RunningProxy, **headers: str) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=proxy.url + "/v1", api_key=PROXY_KEY, max_retries=0, default_headers=headers
    )


@pytest.mark.parametrize("flags", BOTH_ARMS, ids=arm_id)
def test_stream_and_non_stream_give_the_same_completion(
    proxy: RunningProxy, flags: dict[str, bool]
) -> None:
    sdk = client(proxy, **flag_headers(flags))
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    completion = sdk.chat.completions.create(model="gpt-4o", messages=messages)
    assert completion.object == "chat.completion" and completion.model == "gpt-4o"
    assert completion.choices[0].finish_reason == "stop"
    chunks = list(
        sdk.chat.completions.create(
            model="gpt-4o",
            messages=messages,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == completion.choices[0].message.content
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == completion.usage.completion_tokens


def test_stream_helper_accumulates_a_tool_call(proxy: RunningProxy) -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "Bash",
                "parameters": {
                    "type": "object",
                    "properties": {"command": {"type": "string"}},
                    "required": ["command"],
                },
            },
        }
    ]
    with client(proxy).chat.completions.stream(
        model="gpt-4o",
        messages=[{"role": "user", "content": f"{scenario('tool_bash')} go"}],
        tools=tools,
    ) as stream:
        final = stream.get_final_completion()
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls or []
    assert call.function.name == "Bash" and '"echo hi"' in call.function.arguments


def test_errors_come_in_the_openai_envelope(proxy: RunningProxy) -> None:
    sdk = client(proxy)
    with pytest.raises(openai.NotFoundError) as not_found:
        sdk.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])
    assert not_found.value.body["code"] == "model_not_found"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as bad:
        sdk.chat.completions.create(model="gpt-4o", messages="not a list")  # type: ignore[arg-type]
    assert bad.value.body["type"] == "invalid_request_error"  # type: ignore[index]
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(
            base_url=proxy.url + "/v1", api_key="wrong", max_retries=0
        ).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])


def test_upstream_rate_limit_is_an_openai_429(
    proxy: RunningProxy, emulator: RunningEmulator
) -> None:
    with pytest.raises(openai.RateLimitError) as raised:
        client(proxy).chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": f"{scenario('rate_limited')} hi"}],
        )
    assert raised.value.response.headers["retry-after"] == "26"
    assert raised.value.response.headers["request-id"].startswith("req_")


def test_a_stream_broken_after_it_started_ends_with_an_error_chunk_and_no_done(
    proxy: RunningProxy, emulator: RunningEmulator
) -> None:
    messages = [{"role": "user", "content": f"{scenario('drop_after_2')} hi"}]
    with pytest.raises(openai.APIError):
        for _ in client(proxy).chat.completions.create(
            model="gpt-4o", messages=messages, stream=True
        ):
            pass
    body = {"model": "gpt-4o", "messages": messages, "stream": True}
    response = httpx.post(
        proxy.url + "/v1/chat/completions",
        json=body,
        headers={"authorization": f"Bearer {PROXY_KEY}"},
    )
    frames = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
    assert response.status_code == 200 and frames[-1] != "[DONE]"
    assert '"error"' in frames[-1]
    assert len(emulator.requests()) == 2  # one per client request: nothing retried


class Step(pydantic.BaseModel):
    text: str
    minutes: int = pydantic.Field(ge=0, le=90)


class Recipe(pydantic.BaseModel):
    name: str
    difficulty: Literal["easy", "hard"]
    steps: list[Step]
    note: str | None = None


@pytest.mark.parametrize("flags", BOTH_ARMS, ids=arm_id)
def test_structured_output_parses_into_the_requested_model(
    proxy: RunningProxy, emulator: RunningEmulator, flags: dict[str, bool]
) -> None:
    sdk = client(proxy, **flag_headers(flags))
    messages: Any = [{"role": "user", "content": "A recipe, please."}]
    parsed = sdk.chat.completions.parse(model="gpt-4o", messages=messages, response_format=Recipe)
    assert isinstance(parsed.choices[0].message.parsed, Recipe)
    with sdk.chat.completions.stream(
        model="gpt-4o", messages=messages, response_format=Recipe
    ) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].message.parsed == parsed.choices[0].message.parsed
    config = emulator.requests()[-1]["body"]["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"]["properties"]["steps"]["items"] == {"$ref": "#/$defs/Step"}

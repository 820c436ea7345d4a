"""Faithfulness: the official google-genai SDK works against the emulator, errors included."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Literal

import pydantic
import pytest
from google import genai
from google.genai import errors, types

from conformance.emulator.testing import RunningEmulator, running_emulator

MODEL = "gemini-2.5-flash"
BASH = types.FunctionDeclaration(
    name="Bash",
    description="Run a shell command",
    parameters=types.Schema(
        type=types.Type.OBJECT,
        properties={"command": types.Schema(type=types.Type.STRING)},
        required=["command"],
    ),
)
NO_AFC = types.AutomaticFunctionCallingConfig(disable=True)


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    with running_emulator() as running:
        yield running


def client_for(emulator: RunningEmulator, scenario: str = "default") -> genai.Client:
    return genai.Client(
        api_key="sdk-key",
        http_options=types.HttpOptions(
            base_url=emulator.base_url,
            headers={"x-emulator-scenario": scenario},
            retry_options=types.HttpRetryOptions(attempts=1),
        ),
    )


def test_sdk_generates_text(emulator: RunningEmulator) -> None:
    client = client_for(emulator)  # keep a reference: the SDK closes its HTTP client on GC
    response = client.models.generate_content(model=MODEL, contents="hello")
    assert response.text is not None and len(response.text.split()) == 12
    assert response.candidates[0].finish_reason == types.FinishReason.STOP
    assert response.usage_metadata.candidates_token_count == 12


def test_sdk_streams_the_same_text(emulator: RunningEmulator) -> None:
    client = client_for(emulator)
    chunks = list(client.models.generate_content_stream(model=MODEL, contents="hello"))
    assert len(chunks) == 3
    whole = client.models.generate_content(model=MODEL, contents="hello")
    assert "".join(c.text for c in chunks) == whole.text
    assert chunks[-1].usage_metadata.total_token_count == whole.usage_metadata.total_token_count


async def test_sdk_async_stream(emulator: RunningEmulator) -> None:
    client = client_for(emulator, "long_text")
    stream = await client.aio.models.generate_content_stream(model=MODEL, contents="hello")
    texts = [chunk.text async for chunk in stream]
    assert len(" ".join(texts).split()) == 200


def test_sdk_calls_a_declared_function_then_reads_the_quoted_result(
    emulator: RunningEmulator,
) -> None:
    client = client_for(emulator, "tool_bash")
    config = types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=[BASH])], automatic_function_calling=NO_AFC
    )
    first = client.models.generate_content(model=MODEL, contents="run it", config=config)
    call = first.function_calls[0]
    assert (call.name, call.args) == ("Bash", {"command": "echo hi", "description": "Print hi"})
    history = [
        types.Content(role="user", parts=[types.Part(text="run it")]),
        first.candidates[0].content,
        types.Content(
            role="user",
            parts=[types.Part.from_function_response(name="Bash", response={"output": "hi"})],
        ),
    ]
    second = client.models.generate_content(model=MODEL, contents=history, config=config)
    assert second.text == "Tool Bash returned: hi"


def test_sdk_sees_thoughts_when_it_asks_for_them(emulator: RunningEmulator) -> None:
    config = types.GenerateContentConfig(
        thinking_config=types.ThinkingConfig(include_thoughts=True)
    )
    client = client_for(emulator, "thinking")
    response = client.models.generate_content(model=MODEL, contents="think", config=config)
    parts = response.candidates[0].content.parts
    assert parts[0].thought is True
    assert parts[1].thought_signature
    assert response.usage_metadata.thoughts_token_count == 24


def test_sdk_counts_tokens(emulator: RunningEmulator) -> None:
    client = client_for(emulator)
    result = client.models.count_tokens(model=MODEL, contents="one two three")
    assert result.total_tokens == 3


def test_sdk_lists_models(emulator: RunningEmulator) -> None:
    client = client_for(emulator)
    names = [m.name for m in client.models.list()]
    assert "models/gemini-2.5-pro" in names


@pytest.mark.parametrize(
    ("scenario", "error_type", "code", "status"),
    [
        ("no-such-scenario", errors.ClientError, 400, "INVALID_ARGUMENT"),
        ("rate_limited", errors.ClientError, 429, "RESOURCE_EXHAUSTED"),
        ("capacity_503", errors.ServerError, 503, "UNAVAILABLE"),
        ("internal_error", errors.ServerError, 500, "INTERNAL"),
    ],
)
def test_sdk_error_types_match_the_status(
    emulator: RunningEmulator, scenario: str, error_type: type, code: int, status: str
) -> None:
    client = client_for(emulator, scenario)
    with pytest.raises(error_type) as raised:
        client.models.generate_content(model=MODEL, contents="hello")
    assert (raised.value.code, raised.value.status) == (code, status)
    with pytest.raises(error_type) as streamed:
        list(client.models.generate_content_stream(model=MODEL, contents="hello"))
    assert (streamed.value.code, streamed.value.status) == (code, status)


def test_sdk_request_the_validator_refuses_is_a_client_error(emulator: RunningEmulator) -> None:
    bad = types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=[types.FunctionDeclaration(name="1bad")])],
        automatic_function_calling=NO_AFC,
    )
    client = client_for(emulator)
    with pytest.raises(errors.ClientError) as raised:
        client.models.generate_content(model=MODEL, contents="x", config=bad)
    assert raised.value.code == 400


def test_sdk_chat_a_marker_scripts_only_the_message_that_carries_it(
    emulator: RunningEmulator,
) -> None:
    client = genai.Client(
        api_key="sdk-key", http_options=types.HttpOptions(base_url=emulator.base_url)
    )
    chat = client.chats.create(model=MODEL)
    first = chat.send_message("[scenario:max_tokens] tell me a story")
    assert first.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS
    second = chat.send_message("thanks, and a short one?")  # the history still holds the marker
    assert second.candidates[0].finish_reason == types.FinishReason.STOP


class Step(pydantic.BaseModel):
    text: str
    minutes: int = pydantic.Field(ge=0, le=90)


class Recipe(pydantic.BaseModel):
    name: str
    servings: int = pydantic.Field(ge=1, le=12)
    difficulty: Literal["easy", "hard"]
    steps: list[Step]
    note: str | None = None


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_sdk_structured_output_parses_into_the_requested_model(
    emulator: RunningEmulator, stream: bool
) -> None:
    client = client_for(emulator)
    config = types.GenerateContentConfig(
        response_mime_type="application/json", response_schema=Recipe
    )
    if stream:
        chunks = client.models.generate_content_stream(
            model=MODEL, contents="a recipe", config=config
        )
        text = "".join(chunk.text or "" for chunk in chunks)
        assert isinstance(Recipe.model_validate_json(text), Recipe)
    else:
        response = client.models.generate_content(model=MODEL, contents="a recipe", config=config)
        assert isinstance(response.parsed, Recipe)


def test_sdk_json_schema_output_with_references_validates(emulator: RunningEmulator) -> None:
    client = client_for(emulator)
    schema = Recipe.model_json_schema()  # Step is a $ref into $defs
    config = types.GenerateContentConfig(
        response_mime_type="application/json", response_json_schema=schema
    )
    response = client.models.generate_content(model=MODEL, contents="a recipe", config=config)
    assert response.text is not None
    Recipe.model_validate_json(response.text)


def test_sdk_json_mode_without_a_schema_answers_a_json_object(emulator: RunningEmulator) -> None:
    client = client_for(emulator)
    config = types.GenerateContentConfig(response_mime_type="application/json")
    response = client.models.generate_content(model=MODEL, contents="facts", config=config)
    assert isinstance(json.loads(response.text or ""), dict)


def test_sdk_enum_output_is_one_of_the_values(emulator: RunningEmulator) -> None:
    client = client_for(emulator)
    config = types.GenerateContentConfig(
        response_mime_type="text/x.enum",
        response_schema=types.Schema(type=types.Type.STRING, enum=["red", "green", "blue"]),
    )
    response = client.models.generate_content(model=MODEL, contents="a colour", config=config)
    assert response.text in {"red", "green", "blue"}

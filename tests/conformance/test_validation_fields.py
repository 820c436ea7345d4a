"""Tools and generationConfig rules (docs/reference/gemini.md#tools-and-tool-config,
#generation-config): names, limits, ranges, exclusive fields.

The reference gives these limits without Google's wording; the texts checked here are the
validator's Google-style wording (marked "not verified" in `_field_rules`).
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance.emulator.validation import validate_generate_content_request

MODEL = "gemini-2.5-flash"
USER_HI = {"role": "user", "parts": [{"text": "hi"}]}


def with_declarations(*declarations: dict[str, Any]) -> dict[str, Any]:
    return {"contents": [USER_HI], "tools": [{"functionDeclarations": list(declarations)}]}


def message_of(body: dict[str, Any], model: str = MODEL) -> str | None:
    rejection = validate_generate_content_request(body, model=model)
    if rejection is None:
        return None
    assert (rejection.http_status, rejection.status) == (400, "INVALID_ARGUMENT")
    return rejection.message


def star(path: str, problem: str) -> str:
    return f"* GenerateContentRequest.{path}: {problem}\n"


INVALID_NAME = (
    "Invalid function name. Must start with a letter or an underscore. Must be alphameric "
    "(a-z, A-Z, 0-9), underscores (_), dots (.), colons (:), or dashes (-), with a maximum "
    "length of 128."
)


@pytest.mark.parametrize(
    "name",
    ["Bash", "_private", "mcp__github__create_issue", "a.b:c-d", "x" * 128, "default_api:Read"],
)
def test_valid_function_names_pass(name: str) -> None:
    assert message_of(with_declarations({"name": name})) is None


@pytest.mark.parametrize("name", ["1tool", "-x", "has space", "x" * 129, "tool/name", "é"])
def test_invalid_function_names_are_refused(name: str) -> None:
    assert message_of(with_declarations({"name": name})) == star(
        "tools[0].function_declarations[0].name", INVALID_NAME
    )


def test_a_declaration_needs_a_name() -> None:
    assert message_of(with_declarations({"description": "no name"})) == star(
        "tools[0].function_declarations[0].name", "Name cannot be empty."
    )


def test_claude_code_parameter_names_are_accepted() -> None:
    properties = {
        name: {"type": "STRING"} for name in ("old_string", "file_path", "-A", "-n", "activeForm")
    }
    body = with_declarations(
        {"name": "Grep", "parameters": {"type": "OBJECT", "properties": properties}}
    )
    assert message_of(body) is None


def test_at_most_512_function_declarations() -> None:
    declarations = [{"name": f"f{i}"} for i in range(512)]
    assert message_of(with_declarations(*declarations)) is None
    split = {
        "contents": [USER_HI],
        "tools": [
            {"functionDeclarations": declarations},
            {"functionDeclarations": [{"name": "g"}]},
        ],
    }
    assert message_of(split) == star(
        "tools", "at most 512 function declarations are supported, got 513"
    )


def test_parameters_and_parameters_json_schema_are_mutually_exclusive() -> None:
    declaration = {
        "name": "f",
        "parameters": {"type": "STRING"},
        "parametersJsonSchema": {"type": "object"},
    }
    assert message_of(with_declarations(declaration)) == star(
        "tools[0].function_declarations[0].parameters_json_schema",
        "parameters_json_schema and parameters are mutually exclusive",
    )


def test_response_and_response_json_schema_are_mutually_exclusive() -> None:
    declaration = {
        "name": "f",
        "response": {"type": "STRING"},
        "response_json_schema": {"type": "string"},
    }
    assert message_of(with_declarations(declaration)) == star(
        "tools[0].function_declarations[0].response_json_schema",
        "response_json_schema and response are mutually exclusive",
    )


def test_response_schema_and_response_json_schema_are_mutually_exclusive() -> None:
    config = {"responseSchema": {"type": "STRING"}, "responseJsonSchema": {"type": "string"}}
    assert message_of({"contents": [USER_HI], "generationConfig": config}) == star(
        "generation_config.response_json_schema",
        "response_json_schema and response_schema are mutually exclusive",
    )


def test_at_most_five_stop_sequences() -> None:
    five = {"contents": [USER_HI], "generationConfig": {"stopSequences": list("abcde")}}
    assert message_of(five) is None
    six = {"contents": [USER_HI], "generationConfig": {"stopSequences": list("abcdef")}}
    assert message_of(six) == star(
        "generation_config.stop_sequences", "at most 5 stop sequences are supported, got 6"
    )


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("temperature", 2.01, "temperature must be between 0 and 2, inclusive"),
        ("temperature", -0.1, "temperature must be between 0 and 2, inclusive"),
        ("topP", 1.5, "top_p must be between 0 and 1, inclusive"),
        ("top_k", 0, "top_k must be at least 1"),
        ("candidateCount", 0, "candidate_count must be between 1 and 8, inclusive"),
        ("candidateCount", 9, "candidate_count must be between 1 and 8, inclusive"),
        ("maxOutputTokens", 0, "max_output_tokens must be at least 1"),
        ("maxOutputTokens", "-5", "max_output_tokens must be at least 1"),
    ],
)
def test_sampling_values_out_of_range_are_refused(key: str, value: object, problem: str) -> None:
    snake = {
        "topP": "top_p",
        "candidateCount": "candidate_count",
        "maxOutputTokens": "max_output_tokens",
    }
    body = {"contents": [USER_HI], "generationConfig": {key: value}}
    assert message_of(body) == star(f"generation_config.{snake.get(key, key)}", problem)


@pytest.mark.parametrize(
    "config",
    [
        {"temperature": 0, "topP": 0, "topK": 1, "candidateCount": 1, "maxOutputTokens": 1},
        {
            "temperature": 2.0,
            "topP": 1.0,
            "topK": 64,
            "candidateCount": 8,
            "maxOutputTokens": 65536,
        },
    ],
)
def test_sampling_values_at_the_bounds_pass(config: dict[str, Any]) -> None:
    assert message_of({"contents": [USER_HI], "generationConfig": config}) is None


@pytest.mark.parametrize("budget", [-1, 0, 1024])
def test_thinking_budget_minus_one_zero_or_positive_passes_on_flash(budget: int) -> None:
    config = {"thinkingConfig": {"thinkingBudget": budget}}
    assert message_of({"contents": [USER_HI], "generationConfig": config}) is None


def test_thinking_budget_below_minus_one_is_refused() -> None:
    config = {"thinkingConfig": {"thinkingBudget": -2}}
    assert message_of({"contents": [USER_HI], "generationConfig": config}) == star(
        "generation_config.thinking_config.thinking_budget",
        "thinking_budget must be -1 (automatic), 0 (disabled) or positive",
    )


@pytest.mark.parametrize(
    "model", ["gemini-2.5-pro", "models/gemini-3-pro-preview", "gemini-3.1-pro-preview"]
)
def test_pro_models_cannot_disable_thinking(model: str) -> None:
    config = {"thinkingConfig": {"thinkingBudget": 0}}
    body = {"contents": [USER_HI], "generationConfig": config}
    assert message_of(body, model) == "Budget 0 is invalid. This model only works in thinking mode."


def test_field_problems_are_all_reported_together() -> None:
    body = with_declarations({"name": "1x"})
    body["generationConfig"] = {"temperature": 3, "topP": 2}
    assert message_of(body) == (
        star("tools[0].function_declarations[0].name", INVALID_NAME)
        + star("generation_config.temperature", "temperature must be between 0 and 2, inclusive")
        + star("generation_config.top_p", "top_p must be between 0 and 1, inclusive")
    )


@pytest.mark.parametrize("mime_type", ["text/plain", "application/json", "text/x.enum"])
def test_known_response_mime_types_pass(mime_type: str) -> None:
    body = {"contents": [USER_HI], "generationConfig": {"responseMimeType": mime_type}}
    assert message_of(body) is None


def test_an_unknown_response_mime_type_is_refused() -> None:
    body = {"contents": [USER_HI], "generationConfig": {"responseMimeType": "application/jsonl"}}
    assert message_of(body) == star(
        "generation_config.response_mime_type",
        "allowed mimetypes are text/plain, application/json, application/xml, application/yaml "
        "and text/x.enum",
    )


@pytest.mark.parametrize("mode", ["ANY", "VALIDATED", "any"])
def test_allowed_function_names_pass_with_a_forcing_mode(mode: str) -> None:
    body = with_declarations({"name": "f"})
    body["toolConfig"] = {"functionCallingConfig": {"mode": mode, "allowedFunctionNames": ["f"]}}
    assert message_of(body) is None


@pytest.mark.parametrize("mode", ["AUTO", "NONE", None])
def test_allowed_function_names_need_mode_any(mode: str | None) -> None:
    body = with_declarations({"name": "f"})
    calling: dict[str, Any] = {"allowed_function_names": ["f"]}
    if mode is not None:
        calling["mode"] = mode
    body["tool_config"] = {"function_calling_config": calling}
    assert message_of(body) == star(
        "tool_config.function_calling_config.allowed_function_names",
        "allowed_function_names can be set only when the mode is ANY or VALIDATED",
    )


CACHED_CONTENT = (
    "CachedContent can not be used with GenerateContent request setting system_instruction, "
    "tools or tool_config.\n\nProposed fix: move those values to CachedContent from "
    "GenerateContent request."
)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("systemInstruction", {"parts": [{"text": "s"}]}),
        ("tools", [{"functionDeclarations": [{"name": "f"}]}]),
        ("tool_config", {"functionCallingConfig": {"mode": "AUTO"}}),
    ],
)
def test_cached_content_cannot_come_with_its_own_system_instruction_or_tools(
    key: str, value: object
) -> None:
    body = {"contents": [USER_HI], "cachedContent": "cachedContents/abc", key: value}
    assert message_of(body) == CACHED_CONTENT


def test_cached_content_alone_passes() -> None:
    assert message_of({"contents": [USER_HI], "cachedContent": "cachedContents/abc"}) is None


@pytest.mark.parametrize("model", ["gemini-2.5-flash", "gemini-3-flash-preview"])
def test_a_thinking_budget_and_a_thinking_level_cannot_both_be_set(model: str) -> None:
    config = {"thinkingConfig": {"thinkingBudget": 1024, "thinkingLevel": "HIGH"}}
    body = {"contents": [USER_HI], "generationConfig": config}
    assert message_of(body, model) == (
        "You can only set only one of thinking budget and thinking level."
    )


@pytest.mark.parametrize("budget", [1, 127, 32769, 64000])
def test_gemini_2_5_pro_budgets_outside_its_range_are_refused(budget: int) -> None:
    config = {"thinkingConfig": {"thinkingBudget": budget}}
    body = {"contents": [USER_HI], "generationConfig": config}
    assert message_of(body, "gemini-2.5-pro") == (
        f"The thinking budget {budget} is invalid. Please choose a value between 128 and 32768."
    )


@pytest.mark.parametrize("budget", [-1, 128, 32768])
def test_gemini_2_5_pro_budgets_in_range_pass(budget: int) -> None:
    config = {"thinkingConfig": {"thinkingBudget": budget}}
    assert message_of({"contents": [USER_HI], "generationConfig": config}, "gemini-2.5-pro") is None

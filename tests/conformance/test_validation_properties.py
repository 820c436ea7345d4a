"""Properties of the validator: it accepts what Google accepts and never raises."""

from __future__ import annotations

import json
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.emulator.validation import (
    Rejection,
    decode_request_body,
    validate_count_tokens_request,
    validate_generate_content_request,
    validate_schema,
)
from conformance.strategies.gemini_requests import (
    code_assist_requests,
    generate_content_requests,
    schemas,
)
from conformance.strategies.json_values import json_scalars, json_values

# Keys Gemini requests use, so arbitrary JSON often lands on real fields with the wrong shape.
FIELD_NAMES = [
    "contents",
    "parts",
    "text",
    "role",
    "tools",
    "functionDeclarations",
    "parameters",
    "type",
    "properties",
    "items",
    "generationConfig",
    "request",
    "model",
    "x",
]
json_keys = st.sampled_from(FIELD_NAMES) | st.text(max_size=6)
json_like = json_values(
    scalars=json_scalars(
        floats=st.floats(allow_nan=False),  # infinities too
        text=st.text(max_size=8),
    ),
    keys=json_keys,
    max_leaves=30,
)


def assert_well_formed(rejection: Rejection | None) -> None:
    if rejection is None:
        return
    assert rejection.http_status == 400
    assert rejection.status == "INVALID_ARGUMENT"
    assert rejection.message
    body = orjson.loads(orjson.dumps(rejection.body()))
    assert body["error"]["code"] == 400


@given(generate_content_requests())
def test_well_formed_gemini_requests_pass_generate_content_and_count_tokens(
    case: tuple[str, dict[str, Any]],
) -> None:
    model, body = case
    assert validate_generate_content_request(body, model=model) is None
    assert validate_count_tokens_request({"contents": body.get("contents")}) is None


# Request generation dominates the cost of these properties: fewer examples for the variants.
@settings(max_examples=min(settings().max_examples, 100))
@given(code_assist_requests())
def test_well_formed_code_assist_requests_pass(case: tuple[str, dict[str, Any]]) -> None:
    model, envelope = case
    assert validate_generate_content_request(envelope, model=model, surface="code_assist") is None


@given(schemas())
def test_generated_schemas_have_no_problems(schema: dict[str, Any]) -> None:
    assert validate_schema(schema, "generation_config.response_schema") == []


@given(json_like, st.sampled_from(["gemini", "code_assist"]))
def test_validation_never_raises_on_arbitrary_json(body: object, surface: str) -> None:
    assert_well_formed(
        validate_generate_content_request(body, model="gemini-3-pro-preview", surface=surface)
    )  # type: ignore[arg-type]
    assert_well_formed(validate_count_tokens_request(body, surface=surface))  # type: ignore[arg-type]
    assert isinstance(validate_schema(body, "p"), list)


@settings(max_examples=min(settings().max_examples, 100))
@given(generate_content_requests(), json_like, st.data())
def test_validation_never_raises_when_any_node_is_replaced(
    case: tuple[str, dict[str, Any]], replacement: object, data: st.DataObject
) -> None:
    model, body = case
    containers: list[Any] = []

    def collect(node: Any) -> None:
        if isinstance(node, dict | list):
            containers.append(node)
            for child in node.values() if isinstance(node, dict) else node:
                collect(child)

    collect(body)
    target = data.draw(st.sampled_from(containers))
    if isinstance(target, dict) and target:
        target[data.draw(st.sampled_from(sorted(target)))] = replacement
    elif isinstance(target, list) and target:
        target[data.draw(st.integers(0, len(target) - 1))] = replacement
    assert_well_formed(validate_generate_content_request(body, model=model))


@settings(max_examples=min(settings().max_examples, 50))
@given(
    generate_content_requests(),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=10),
)
def test_an_unknown_key_in_any_part_is_named_in_the_rejection(
    case: tuple[str, dict[str, Any]], key: str
) -> None:
    model, body = case
    contents = body.get("contents")
    part = contents[-1]["parts"][0]
    if key in {"text", "thought"}:
        return
    part[key] = 1
    rejection = validate_generate_content_request(body, model=model)
    assert rejection is not None
    at = f"contents[{len(contents) - 1}].parts[0]"
    assert f"Unknown name \"{key}\" at '{at}': Cannot find field." in rejection.message


@given(st.binary(max_size=64) | json_like.map(lambda value: json.dumps(value).encode()))
def test_decoding_never_raises(raw: bytes) -> None:
    body, rejection = decode_request_body(raw)
    assert (rejection is None) or (body is None and rejection.http_status == 400)


# Where messages sit in a Gemini request, written out here independently of the validator's
# tables: (JSON key, proto name, what the value holds). `schema_map` is Schema.properties.
MESSAGE_KEYS = {
    "contents": ("contents", "list"),
    "parts": ("parts", "list"),
    "systemInstruction": ("system_instruction", "one"),
    "system_instruction": ("system_instruction", "one"),
    "functionCall": ("function_call", "one"),
    "function_call": ("function_call", "one"),
    "functionResponse": ("function_response", "one"),
    "function_response": ("function_response", "one"),
    "tools": ("tools", "list"),
    "functionDeclarations": ("function_declarations", "list"),
    "function_declarations": ("function_declarations", "list"),
    "parameters": ("parameters", "one"),
    "items": ("items", "one"),
    "properties": ("properties", "schema_map"),
    "toolConfig": ("tool_config", "one"),
    "tool_config": ("tool_config", "one"),
    "functionCallingConfig": ("function_calling_config", "one"),
    "generationConfig": ("generation_config", "one"),
    "generation_config": ("generation_config", "one"),
    "thinkingConfig": ("thinking_config", "one"),
    "thinking_config": ("thinking_config", "one"),
    "safetySettings": ("safety_settings", "list"),
    "safety_settings": ("safety_settings", "list"),
    "anyOf": ("any_of", "list"),
}


def message_positions(node: dict[str, Any], path: str) -> list[tuple[dict[str, Any], str]]:
    """Every message object in a request with its error path (Struct values are not messages)."""
    found = [(node, path)]
    for key, value in node.items():
        if key not in MESSAGE_KEYS or value is None:
            continue
        name, shape = MESSAGE_KEYS[key]
        here = f"{path}.{name}" if path else name
        if shape == "one" and isinstance(value, dict):
            found += message_positions(value, here)
        elif shape == "list" and isinstance(value, list):
            for index, item in enumerate(value):
                found += message_positions(item, f"{here}[{index}]")
        elif shape == "schema_map" and isinstance(value, dict):
            for index, item in enumerate(value.values()):
                found += message_positions(item, f"{here}[{index}].value")
    return found


@settings(max_examples=min(settings().max_examples, 100))
@given(generate_content_requests(), st.data())
def test_an_unknown_field_anywhere_in_the_tree_is_named_with_its_path(
    case: tuple[str, dict[str, Any]], data: st.DataObject
) -> None:
    model, body = case
    target, path = data.draw(st.sampled_from(message_positions(body, "")))
    target["zz_unknown"] = {"any": "thing"}
    rejection = validate_generate_content_request(body, model=model)
    assert rejection is not None
    where = f" at '{path}'" if path else ""
    line = f'Invalid JSON payload received. Unknown name "zz_unknown"{where}: Cannot find field.'
    assert rejection.message == line
    assert [(v.field, v.description) for v in rejection.violations] == [(path, line)]

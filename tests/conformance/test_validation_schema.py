"""Schema validation rules (docs/reference/gemini.md#schema): single type, STRING formats, enums."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.emulator.validation import validate_generate_content_request, validate_schema

MODEL = "gemini-2.5-flash"
USER_HI = {"role": "user", "parts": [{"text": "hi"}]}
FORMAT_PROBLEM = "only 'enum' and 'date-time' are supported for STRING type"
ENUM_PROBLEM = "function declaration enum only allowed for STRING type"


def with_parameters(*parameters: dict[str, Any]) -> dict[str, Any]:
    declarations = [{"name": f"f{i}", "parameters": p} for i, p in enumerate(parameters)]
    return {"contents": [USER_HI], "tools": [{"functionDeclarations": declarations}]}


def message_of(body: dict[str, Any]) -> str:
    rejection = validate_generate_content_request(body, model=MODEL)
    assert rejection is not None
    assert (rejection.http_status, rejection.status, rejection.violations) == (
        400,
        "INVALID_ARGUMENT",
        (),
    )
    assert "details" not in rejection.body()["error"]
    return rejection.message


def test_string_format_other_than_enum_or_date_time_is_refused_with_googles_path() -> None:
    # google-gemini/gemini-cli#3178: the 94th declaration of the first tool.
    links = {
        "type": "ARRAY",
        "items": {"type": "OBJECT", "properties": {"url": {"type": "STRING", "format": "uri"}}},
    }
    clean = {"type": "OBJECT", "properties": {"q": {"type": "STRING"}}}
    body = with_parameters(*[clean] * 93, {"type": "OBJECT", "properties": {"links": links}})
    assert message_of(body) == (
        "* GenerateContentRequest.tools[0].function_declarations[93].parameters.properties[links]"
        ".items.properties[url].format: only 'enum' and 'date-time' are supported for STRING type\n"
    )


@pytest.mark.parametrize("fmt", ["enum", "date-time"])
def test_enum_and_date_time_formats_are_accepted(fmt: str) -> None:
    body = with_parameters(
        {"type": "OBJECT", "properties": {"a": {"type": "string", "format": fmt}}}
    )
    assert validate_generate_content_request(body, model=MODEL) is None


@pytest.mark.parametrize(
    ("kind", "fmt"), [("NUMBER", "float"), ("INTEGER", "int64"), ("NUMBER", "anything")]
)
def test_formats_of_non_string_types_are_not_judged(kind: str, fmt: str) -> None:
    body = with_parameters({"type": "OBJECT", "properties": {"a": {"type": kind, "format": fmt}}})
    assert validate_generate_content_request(body, model=MODEL) is None


@pytest.mark.parametrize("schema_type", ["INTEGER", "number", "BOOLEAN", None])
def test_enum_is_only_allowed_on_string(schema_type: str | None) -> None:
    prop: dict[str, Any] = {"enum": ["1", "2"]}
    if schema_type is not None:
        prop["type"] = schema_type
    body = with_parameters({"type": "OBJECT", "properties": {"level": prop}})
    assert message_of(body) == (
        "* GenerateContentRequest.tools[0].function_declarations[0].parameters.properties[level]"
        f".enum: {ENUM_PROBLEM}\n"
    )


def test_enum_on_string_in_any_case_is_accepted() -> None:
    body = with_parameters(
        {"type": "object", "properties": {"a": {"type": "string", "enum": ["x"]}}}
    )
    assert validate_generate_content_request(body, model=MODEL) is None


@pytest.mark.parametrize("schema", [{"type": "OBJECT", "properties": {}}, {"type": "object"}])
def test_an_object_needs_properties(schema: dict[str, Any]) -> None:
    # A proto3 map has no presence: a missing `properties` is an empty one.
    assert message_of(with_parameters(schema)) == (
        "* GenerateContentRequest.tools[0].function_declarations[0].parameters.properties: "
        "should be non-empty for OBJECT type\n"
    )


def test_nested_empty_objects_are_refused_too() -> None:
    schema = {"type": "OBJECT", "properties": {"params": {"type": "OBJECT", "properties": {}}}}
    body = {"contents": [USER_HI], "generationConfig": {"responseSchema": schema}}
    assert message_of(body) == (
        "* GenerateContentRequest.generation_config.response_schema.properties[params].properties: "
        "should be non-empty for OBJECT type\n"
    )


def test_a_declaration_without_parameters_passes() -> None:
    body = {"contents": [USER_HI], "tools": [{"functionDeclarations": [{"name": "ExitPlanMode"}]}]}
    assert validate_generate_content_request(body, model=MODEL) is None


def test_required_names_must_be_properties() -> None:
    item = {
        "type": "OBJECT",
        "properties": {"name": {"type": "STRING"}},
        "required": ["name", "args"],
    }
    schema = {"type": "OBJECT", "properties": {"tools": {"type": "ARRAY", "items": item}}}
    assert message_of(with_parameters(schema)) == (
        "* GenerateContentRequest.tools[0].function_declarations[0].parameters.properties[tools]"
        ".items.required[1]: property is not defined\n"
    )


@pytest.mark.parametrize(
    "array",
    [
        {"type": "ARRAY"},
        {"type": "array", "items": {}},
        {"type": "ARRAY", "items": {"anyOf": [{"type": "STRING"}, {"type": "INTEGER"}]}},
    ],
)
def test_an_array_needs_a_typed_items_schema(array: dict[str, Any]) -> None:
    body = with_parameters({"type": "OBJECT", "properties": {"statuses": array}})
    assert message_of(body) == (
        "* GenerateContentRequest.tools[0].function_declarations[0].parameters.properties[statuses]"
        ".items: missing field.\n"
    )


def test_every_schema_problem_is_reported_one_line_each() -> None:
    body = with_parameters(
        {"type": "OBJECT", "properties": {"a": {"type": "STRING", "format": "email"}}},
        {"type": "ARRAY", "items": {"type": "INTEGER", "enum": ["1"]}},
    )
    assert message_of(body) == (
        "* GenerateContentRequest.tools[0].function_declarations[0].parameters.properties[a]"
        f".format: {FORMAT_PROBLEM}\n"
        "* GenerateContentRequest.tools[0].function_declarations[1].parameters.items"
        f".enum: {ENUM_PROBLEM}\n"
    )


def test_any_of_branches_are_checked_with_their_index() -> None:
    body = with_parameters({"anyOf": [{"type": "STRING"}, {"type": "STRING", "format": "uuid"}]})
    assert message_of(body) == (
        "* GenerateContentRequest.tools[0].function_declarations[0].parameters.any_of[1]"
        f".format: {FORMAT_PROBLEM}\n"
    )


def test_function_response_schema_is_checked_too() -> None:
    declaration = {"name": "f", "response": {"type": "STRING", "format": "byte"}}
    body = {"contents": [USER_HI], "tools": [{"functionDeclarations": [declaration]}]}
    assert message_of(body) == (
        f"* GenerateContentRequest.tools[0].function_declarations[0].response.format: {FORMAT_PROBLEM}\n"
    )


def test_response_schema_for_structured_output_is_checked_under_generation_config() -> None:
    schema = {"type": "OBJECT", "properties": {"when": {"type": "STRING", "format": "date"}}}
    body = {"contents": [USER_HI], "generationConfig": {"responseSchema": schema}}
    assert message_of(body) == (
        "* GenerateContentRequest.generation_config.response_schema.properties[when].format: "
        f"{FORMAT_PROBLEM}\n"
    )


def test_unknown_keyword_in_response_schema_uses_the_generation_config_path() -> None:
    body = {
        "contents": [USER_HI],
        "generationConfig": {"response_schema": {"type": "OBJECT", "const": 1}},
    }
    rejection = validate_generate_content_request(body, model=MODEL)
    assert rejection is not None
    assert rejection.message == (
        'Invalid JSON payload received. Unknown name "const" at '
        "'generation_config.response_schema': Cannot find field."
    )


class TestValidateSchema:
    PATH = "tools[0].function_declarations[0].parameters"

    def test_a_clean_schema_has_no_problems(self) -> None:
        schema = {
            "type": "OBJECT",
            "properties": {
                "file_path": {"type": "STRING", "description": "absolute path"},
                "old_string": {"type": "STRING"},
                "-A": {"type": "INTEGER"},
                "todos": {"type": "ARRAY", "items": {"type": "OBJECT", "properties": {"id": {"type": "STRING"}}}},
            },
            "required": ["file_path"],
        }  # fmt: skip
        assert validate_schema(schema, self.PATH) == []

    def test_parse_problems_are_located_under_the_given_path(self) -> None:
        assert validate_schema({"type": "OBJECT", "additionalProperties": False}, self.PATH) == [
            'Invalid JSON payload received. Unknown name "additionalProperties" at '
            f"'{self.PATH}': Cannot find field."
        ]

    def test_validation_problems_name_the_field(self) -> None:
        schema = {"type": "OBJECT", "properties": {"u": {"type": "STRING", "format": "uri"}}}
        assert validate_schema(schema, self.PATH) == [
            f"{self.PATH}.properties[u].format: {FORMAT_PROBLEM}"
        ]

    def test_a_non_object_schema_is_one_problem(self) -> None:
        problems = validate_schema("OBJECT", self.PATH)
        assert problems == [
            f"Invalid value at '{self.PATH}' "
            '(type.googleapis.com/google.ai.generativelanguage.v1beta.Schema), "OBJECT"'
        ]

"""The parse pass: what Google's JSON-to-proto parser refuses (docs/reference/gemini.md#endpoints to
#schema).

Each test sends one violating request and checks Google's exact status, message and details.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance.emulator.validation import (
    FieldViolation,
    Rejection,
    decode_request_body,
    validate_count_tokens_request,
    validate_generate_content_request,
)

MODEL = "gemini-2.5-flash"
USER_HI = {"role": "user", "parts": [{"text": "hi"}]}


def request(**fields: Any) -> dict[str, Any]:
    return {"contents": [USER_HI], **fields}


def tool(parameters: dict[str, Any], name: str = "f") -> list[dict[str, Any]]:
    return [{"functionDeclarations": [{"name": name, "parameters": parameters}]}]


def rejected(body: object, *, surface: str = "gemini") -> Rejection:
    rejection = validate_generate_content_request(body, model=MODEL, surface=surface)  # type: ignore[arg-type]
    assert rejection is not None
    return rejection


def unknown(name: str, at: str) -> str:
    return f"Invalid JSON payload received. Unknown name \"{name}\" at '{at}': Cannot find field."


def test_unknown_schema_keyword_gets_google_400_with_bad_request_detail() -> None:
    body = request(tools=tool({"type": "object", "additionalProperties": False}))
    line = unknown("additionalProperties", "tools[0].function_declarations[0].parameters")
    assert rejected(body).body() == {
        "error": {
            "code": 400,
            "message": line,
            "status": "INVALID_ARGUMENT",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [
                        {
                            "field": "tools[0].function_declarations[0].parameters",
                            "description": line,
                        }
                    ],
                }
            ],
        }
    }


@pytest.mark.parametrize(
    "keyword",
    [
        "additionalProperties", "additional_properties", "$schema", "const", "exclusiveMinimum",
        "propertyNames", "patternProperties", "$ref", "$defs", "multipleOf", "discriminator",
        "$id", "$comment", "oneOf", "allOf", "not", "if", "then", "else", "exclusiveMaximum",
        "uniqueItems", "contains", "prefixItems", "examples", "dependentRequired",
        "unevaluatedProperties", "contentEncoding", "readOnly", "deprecated",
    ],
)  # fmt: skip
def test_json_schema_keywords_outside_the_gemini_schema_are_unknown_fields(keyword: str) -> None:
    body = request(tools=tool({"type": "object", keyword: {}}))
    assert rejected(body).message == unknown(
        keyword, "tools[0].function_declarations[0].parameters"
    )


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("type", "OBJECT"), ("format", "enum"), ("title", "t"), ("description", "d"),
        ("nullable", True), ("maxItems", "3"), ("minItems", 1), ("properties", {"b": {}}),
        ("required", ["a"]), ("minProperties", 1), ("maxProperties", 2), ("minLength", 1),
        ("maxLength", 2), ("pattern", "a"), ("example", {"a": 1}), ("anyOf", []),
        ("propertyOrdering", []), ("default", None), ("items", {"type": "STRING"}),
        ("minimum", 1.5), ("maximum", 9), ("max_items", 3), ("property_ordering", ["a"]),
        ("any_of", [{"type": "STRING"}]),
    ],
)  # fmt: skip
def test_every_gemini_schema_field_is_accepted_in_either_spelling(key: str, value: object) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "STRING"}}}
    body = request(tools=tool({**schema, key: value}))
    assert validate_generate_content_request(body, model=MODEL) is None


def test_unknown_name_inside_a_property_uses_the_map_entry_path() -> None:
    properties = {"a": {"type": "STRING"}, "b": {"type": "STRING", "const": "x"}}
    body = request(tools=tool({"type": "OBJECT", "properties": properties}))
    at = "tools[0].function_declarations[0].parameters.properties[1].value"
    assert rejected(body).message == unknown("const", at)


def test_type_array_fails_with_proto_field_is_not_repeating() -> None:
    # zed-industries/zed#53919: the fifth property holds a JSON-Schema type array.
    properties = {f"p{i}": {"type": "STRING"} for i in range(4)}
    properties["p4"] = {"type": ["string", "null"]}
    rejection = rejected(request(tools=tool({"type": "OBJECT", "properties": properties})))
    at = "tools[0].function_declarations[0].parameters.properties[4].value"
    line = (
        f"Invalid JSON payload received. Unknown name \"type\" at '{at}': "
        "Proto field is not repeating, cannot start list."
    )
    assert rejection.message == line
    assert rejection.violations == (FieldViolation(at, line),)


def test_code_assist_paths_start_with_request() -> None:
    # router-for-me/CLIProxyAPI#97
    inner = request(tools=tool({"$schema": "http://json-schema.org/draft-07/schema#"}))
    envelope = {"model": "gemini-2.5-pro", "project": "p", "request": inner}
    assert rejected(envelope, surface="code_assist").message == unknown(
        "$schema", "request.tools[0].function_declarations[0].parameters"
    )


def test_every_unknown_field_gets_its_own_line_in_document_order() -> None:
    body = {
        "contents": [{"role": "user", "parts": [{"text": "hi", "cache_control": {}}]}],
        "generationConfig": {"maxTokens": 5, "max_output_tokens": 5},
        "tools": tool({"type": "object", "additionalProperties": False}),
    }
    rejection = rejected(body)
    lines = [
        unknown("cache_control", "contents[0].parts[0]"),
        unknown("maxTokens", "generation_config"),
        unknown("additionalProperties", "tools[0].function_declarations[0].parameters"),
    ]
    assert rejection.message == "\n".join(lines)
    assert [v.field for v in rejection.violations] == [
        "contents[0].parts[0]",
        "generation_config",
        "tools[0].function_declarations[0].parameters",
    ]


def test_unknown_top_level_field_has_no_location() -> None:
    rejection = rejected(request(max_tokens=10))
    line = 'Invalid JSON payload received. Unknown name "max_tokens": Cannot find field.'
    assert rejection.message == line
    assert rejection.body()["error"]["details"][0]["fieldViolations"] == [{"description": line}]


def test_children_of_an_unknown_field_are_not_reported() -> None:
    rejection = rejected(request(messages=[{"role": "user", "bogus": 1}]))
    assert (
        rejection.message
        == 'Invalid JSON payload received. Unknown name "messages": Cannot find field.'
    )


@pytest.mark.parametrize(
    ("body", "at", "name"),
    [
        (request(labels={"a": "b"}), "", "labels"),
        (request(session_id="s"), "", "session_id"),
        (
            {"contents": [{"role": "model", "parts": [{"functionCall": {"name": "f", "partialArgs": []}}]}]},
            "contents[0].parts[0].function_call",
            "partialArgs",
        ),
        (
            request(toolConfig={"functionCallingConfig": {"streamFunctionCallArguments": True}}),
            "tool_config.function_calling_config",
            "streamFunctionCallArguments",
        ),
        (request(safetySettings=[{"category": "HARM_CATEGORY_HARASSMENT", "method": "SEVERITY"}]), "safety_settings[0]", "method"),
        (request(generationConfig={"thinkingConfig": {"effort": "high"}}), "generation_config.thinking_config", "effort"),
        ({"contents": [{"role": "user", "parts": [{"inlineData": {"mimeType": "image/png", "data": "AAAA", "displayName": "x"}}]}]}, "contents[0].parts[0].inline_data", "displayName"),
        ({"contents": [{"role": "user", "parts": [{"text": "x"}], "name": "bob"}]}, "contents[0]", "name"),
        ({"contents": [USER_HI], "systemInstruction": {"parts": [{"text": "s"}], "role": "user", "x": 1}}, "system_instruction", "x"),
    ],
)  # fmt: skip
def test_fields_google_does_not_know_on_the_gemini_api_are_unknown(
    body: dict[str, Any], at: str, name: str
) -> None:
    message = rejected(body).message
    if at:
        assert message == unknown(name, at)
    else:
        assert (
            message == f'Invalid JSON payload received. Unknown name "{name}": Cannot find field.'
        )


def test_code_assist_inner_request_takes_session_id_and_labels() -> None:
    envelope = {
        "model": "gemini-2.5-pro",
        "project": "proj-1",
        "user_prompt_id": "u1",
        "request": request(session_id="s1", labels={"k": "v"}),
        "enabled_credit_types": ["GOOGLE_ONE_AI"],
    }
    assert validate_generate_content_request(envelope, model="x", surface="code_assist") is None


def test_code_assist_envelope_refuses_unknown_envelope_fields() -> None:
    envelope = {"model": "gemini-2.5-pro", "request": request(), "stream": True}
    assert rejected(envelope, surface="code_assist").message == (
        'Invalid JSON payload received. Unknown name "stream": Cannot find field.'
    )


def test_snake_case_spellings_are_accepted_everywhere() -> None:
    body = {
        "contents": [
            {"role": "user", "parts": [{"inline_data": {"mime_type": "image/png", "data": "iVBORw0KGgo="}}]},
            {"role": "model", "parts": [{"function_call": {"name": "f", "args": {}}, "thought_signature": "c2ln"}]},
            {"role": "user", "parts": [{"function_response": {"name": "f", "response": {"output": "ok"}}}]},
        ],
        "system_instruction": {"parts": [{"text": "be brief"}]},
        "tools": [{"function_declarations": [{"name": "f", "parameters": {"type": "object", "properties": {"a": {"type": "string"}}}}]}],
        "tool_config": {"function_calling_config": {"mode": "ANY", "allowed_function_names": ["f"]}},
        "generation_config": {"max_output_tokens": 10, "thinking_config": {"thinking_budget": -1, "include_thoughts": True}},
        "safety_settings": [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_NONE"}],
    }  # fmt: skip
    assert validate_generate_content_request(body, model=MODEL) is None


def test_two_data_fields_in_one_part_violate_the_oneof() -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": "a", "functionCall": {"name": "f"}}]}]}
    rejection = rejected(body)
    line = (
        "Invalid value at 'contents[0].parts[0]' (oneof), oneof field 'data' is already set. "
        "Cannot set 'functionCall'"
    )
    assert rejection.message == line
    assert rejection.violations == (FieldViolation("contents[0].parts[0]", line),)


def test_a_null_member_does_not_take_the_oneof() -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": "a", "inlineData": None}]}]}
    assert validate_generate_content_request(body, model=MODEL) is None


def test_function_response_must_be_an_object_not_a_string() -> None:
    body = {
        "contents": [
            USER_HI,
            {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": "done"}}]},
        ]
    }
    at = "contents[2].parts[0].function_response.response"
    assert rejected(body).message == (
        f"Invalid value at '{at}' (type.googleapis.com/google.protobuf.Struct), \"done\""
    )


def test_function_response_must_be_an_object_not_a_list() -> None:
    body = {
        "contents": [
            USER_HI,
            {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": ["a"]}}]},
        ]
    }
    assert rejected(body).message == (
        'Invalid JSON payload received. Unknown name "response" at '
        "'contents[2].parts[0].function_response': Proto field is not repeating, cannot start list."
    )


def test_function_call_args_must_be_an_object() -> None:
    body = {"contents": [{"role": "model", "parts": [{"functionCall": {"name": "f", "args": 3}}]}]}
    assert rejected(body).message == (
        "Invalid value at 'contents[0].parts[0].function_call.args' "
        "(type.googleapis.com/google.protobuf.Struct), 3"
    )


@pytest.mark.parametrize("body", [[], ["contents"], "hello", 3, None, True])
def test_a_body_that_is_not_an_object_is_refused(body: object) -> None:
    line = 'Invalid JSON payload received. Unknown name "": Root element must be a message.'
    rejection = rejected(body)
    assert rejection.message == line
    assert rejection.body()["error"]["details"][0]["fieldViolations"] == [{"description": line}]


@pytest.mark.parametrize(
    ("config", "line"),
    [
        ({"maxOutputTokens": "abc"}, "Invalid value at 'generation_config.max_output_tokens' (TYPE_INT32), \"abc\""),
        ({"maxOutputTokens": 1.5}, "Invalid value at 'generation_config.max_output_tokens' (TYPE_INT32), 1.5"),
        ({"maxOutputTokens": 2**31}, "Invalid value at 'generation_config.max_output_tokens' (TYPE_INT32), 2147483648"),
        ({"maxOutputTokens": True}, "Invalid value at 'generation_config.max_output_tokens' (TYPE_INT32), true"),
        ({"temperature": "hot"}, "Invalid value at 'generation_config.temperature' (TYPE_FLOAT), \"hot\""),
        ({"responseMimeType": 5}, "Invalid value at 'generation_config.response_mime_type' (TYPE_STRING), 5"),
        ({"responseLogprobs": "yes"}, "Invalid value at 'generation_config.response_logprobs' (TYPE_BOOL), \"yes\""),
        ({"thinkingConfig": "high"}, "Invalid value at 'generation_config.thinking_config' (type.googleapis.com/google.ai.generativelanguage.v1beta.ThinkingConfig), \"high\""),
        ({"thinkingConfig": {"thinkingLevel": "EXTREME"}}, "Invalid value at 'generation_config.thinking_config.thinking_level' (type.googleapis.com/google.ai.generativelanguage.v1beta.ThinkingConfig.ThinkingLevel), \"EXTREME\""),
    ],
)  # fmt: skip
def test_wrong_scalar_types_are_invalid_values(config: dict[str, Any], line: str) -> None:
    assert rejected(request(generationConfig=config)).message == line


@pytest.mark.parametrize(
    "config",
    [
        {"maxOutputTokens": "100", "temperature": "0.5", "topK": 40.0},
        {"responseLogprobs": "true", "candidateCount": 1},
        {"thinkingConfig": {"thinkingLevel": "high"}, "responseModalities": ["text"]},
        {"stopSequences": "END"},
    ],
)
def test_proto_json_conveniences_are_accepted(config: dict[str, Any]) -> None:
    # Numbers as strings, enum names in any case, a single value for a repeated field.
    assert validate_generate_content_request(request(generationConfig=config), model=MODEL) is None


def test_lower_case_schema_types_are_accepted_but_unknown_types_are_not() -> None:
    ok = request(tools=tool({"type": "object", "properties": {"a": {"type": "string"}}}))
    assert validate_generate_content_request(ok, model=MODEL) is None
    bad = request(tools=tool({"type": "dict"}))
    assert rejected(bad).message == (
        "Invalid value at 'tools[0].function_declarations[0].parameters.type' "
        '(type.googleapis.com/google.ai.generativelanguage.v1beta.Type), "dict"'
    )


def test_enum_values_must_be_strings() -> None:
    body = request(tools=tool({"type": "STRING", "enum": ["a", 1]}))
    assert rejected(body).message == (
        "Invalid value at 'tools[0].function_declarations[0].parameters.enum[1]' (TYPE_STRING), 1"
    )


def test_a_single_object_is_accepted_for_a_repeated_field() -> None:
    assert validate_generate_content_request({"contents": USER_HI}, model=MODEL) is None


def test_null_fields_mean_not_set() -> None:
    body = request(tools=None, generationConfig={"temperature": None}, systemInstruction=None)
    assert validate_generate_content_request(body, model=MODEL) is None


def test_inline_data_must_be_base64() -> None:
    part = {"inlineData": {"mimeType": "image/png", "data": "not base64!"}}
    body = {"contents": [{"role": "user", "parts": [part]}]}
    assert rejected(body).message == (
        "Invalid value at 'contents[0].parts[0].inline_data.data' (TYPE_BYTES), \"not base64!\""
    )


def test_thought_signature_must_be_base64() -> None:
    part = {"text": "t", "thoughtSignature": "a b"}
    body = {"contents": [{"role": "user", "parts": [part]}]}
    assert rejected(body).message.startswith(
        "Invalid value at 'contents[0].parts[0].thought_signature' (TYPE_BYTES)"
    )


def test_server_tools_are_accepted() -> None:
    tools = [{"googleSearch": {}}, {"codeExecution": {}}, {"urlContext": {}}]
    assert validate_generate_content_request(request(tools=tools), model=MODEL) is None


def test_parameters_json_schema_takes_any_json_schema() -> None:
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {"a": {"type": ["string", "null"], "format": "uri"}},
        "additionalProperties": False,
    }
    body = request(
        tools=[{"functionDeclarations": [{"name": "f", "parametersJsonSchema": schema}]}]
    )
    assert validate_generate_content_request(body, model=MODEL) is None


def test_deep_nesting_is_refused_without_exhausting_the_stack() -> None:
    schema: dict[str, Any] = {"type": "STRING"}
    for _ in range(400):
        schema = {"type": "ARRAY", "items": schema}
    rejection = rejected(request(tools=tool(schema)))
    assert "Message too deep" in rejection.message


def test_count_tokens_parse_pass_on_both_surfaces() -> None:
    assert validate_count_tokens_request({"contents": [USER_HI]}) is None
    assert (
        validate_count_tokens_request(
            {"request": {"model": "models/gemini-2.5-pro", "contents": [USER_HI]}},
            surface="code_assist",
        )
        is None
    )
    rejection = validate_count_tokens_request(
        {"request": {"model": "m", "contents": [USER_HI], "tools": []}}, surface="code_assist"
    )
    assert rejection is not None
    assert rejection.message == unknown("tools", "request")


def test_count_tokens_accepts_a_wrapped_generate_content_request() -> None:
    body = {"generateContentRequest": {"model": "models/gemini-2.5-pro", "contents": [USER_HI]}}
    assert validate_count_tokens_request(body) is None


class TestDecodeRequestBody:
    def test_an_empty_body_is_an_empty_request(self) -> None:
        assert decode_request_body(b"") == ({}, None)
        assert decode_request_body(b"  \n") == ({}, None)

    def test_a_syntax_error_is_an_invalid_json_payload(self) -> None:
        body, rejection = decode_request_body(b'{"contents": [}')
        assert body is None
        assert rejection is not None
        assert rejection.http_status == 400
        assert rejection.message == "Invalid JSON payload received. Unexpected token."

    def test_a_truncated_body_is_an_unexpected_end(self) -> None:
        _, rejection = decode_request_body(b'{"contents": [')
        assert rejection is not None
        assert rejection.message == "Invalid JSON payload received. Unexpected end of string."

    @pytest.mark.parametrize("raw", [b'{"a": NaN}', b"\xff\xfe", b"{'a': 1}"])
    def test_non_json_is_refused(self, raw: bytes) -> None:
        _, rejection = decode_request_body(raw)
        assert rejection is not None
        assert rejection.message.startswith("Invalid JSON payload received. ")

    def test_lone_surrogate_escapes_are_decoded_as_the_replacement_character(self) -> None:
        body, rejection = decode_request_body(
            b'{"contents": ["\\ud800", {"k\\udc00": "\\ud83d\\ude00"}]}'
        )
        assert rejection is None
        assert body == {"contents": ["\ufffd", {"k\ufffd": "\U0001f600"}]}  # a proper pair kept

    def test_hostile_nesting_is_refused_not_raised(self) -> None:
        for raw in (b"[" * 5000 + b"]" * 5000, b'["\\ud800", ' + b"[" * 5000 + b"]" * 5000 + b"]"):
            body, rejection = decode_request_body(raw)
            assert body is None
            assert rejection is not None
            assert rejection.message == (
                "Invalid JSON payload received. Message too deep. Max recursion depth reached."
            )


def test_deeply_nested_lists_in_a_repeated_field_are_one_invalid_value() -> None:
    nested: list[Any] = []
    inner = nested
    for _ in range(3000):
        inner.append([])
        inner = inner[0]
    assert rejected({"contents": [nested]}).message == (
        "Invalid value at 'contents[0]' "
        "(type.googleapis.com/google.ai.generativelanguage.v1beta.Content), [...]"
    )

"""compat._anthropic.tools: tools -> functionDeclarations (cached) and their checks."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from compat._anthropic.request import to_gemini_request
from compat._anthropic.tools import CACHE_SIZE, _cached_declarations
from compat._errors import RequestError
from compat._options import ConversionOptions, SchemaMode
from compat._schema import clean_schema

SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {"command": {"type": "string", "description": "what to run"}},
    "required": ["command"],
    "additionalProperties": False,
}


def declarations(tools: list[Any], schema_mode: SchemaMode = "parameters") -> list[dict[str, Any]]:
    body = {
        "model": "m",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "x"}],
        "tools": tools,
    }
    converted = to_gemini_request(body, options=ConversionOptions(schema_mode=schema_mode))
    result: list[dict[str, Any]] = converted["tools"][0]["functionDeclarations"]
    assert converted["tools"] == [{"functionDeclarations": result}]
    return result


def refused(tools: Any) -> RequestError:
    body = {
        "model": "m",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "x"}],
        "tools": tools,
    }
    with pytest.raises(RequestError) as caught:
        to_gemini_request(body)
    return caught.value


def tool(name: str = "Bash", **fields: Any) -> dict[str, Any]:
    return {"name": name, "input_schema": SCHEMA, **fields}


@pytest.mark.parametrize("schema_mode", ["parameters", "parametersJsonSchema"])
def test_a_custom_tool_becomes_a_declaration_with_its_schema_cleaned_for_the_mode(
    schema_mode: SchemaMode,
) -> None:
    assert declarations([tool(description="Run a command")], schema_mode) == [
        {
            "name": "Bash",
            "description": "Run a command",
            schema_mode: clean_schema(SCHEMA, mode=schema_mode),
        }
    ]


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object"},
        {"type": "object", "properties": {}},
        {"type": "object", "additionalProperties": True},
    ],
)
def test_a_tool_without_arguments_is_declared_without_parameters(schema: dict[str, Any]) -> None:
    assert declarations([tool("NoArgs", input_schema=schema)]) == [{"name": "NoArgs"}]
    json_schema = declarations([tool("NoArgs", input_schema=schema)], "parametersJsonSchema")
    assert json_schema == [
        {
            "name": "NoArgs",
            "parametersJsonSchema": clean_schema(schema, mode="parametersJsonSchema"),
        }
    ]


def test_tool_fields_with_no_gemini_meaning_are_accepted_and_not_sent() -> None:
    extras = {
        "type": "custom",
        "cache_control": {"type": "ephemeral"},
        "strict": True,
        "input_examples": [{"command": "ls"}],
        "eager_input_streaming": True,
        "defer_loading": False,
        "allowed_callers": ["direct"],
    }
    assert declarations([tool(**extras)]) == declarations([tool()])


def test_an_empty_description_is_not_sent() -> None:
    assert "description" not in declarations([tool(description="")])[0]


def test_an_empty_tools_list_sends_no_tools() -> None:
    body = {
        "model": "m",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "x"}],
        "tools": [],
    }
    assert "tools" not in to_gemini_request(body)


@pytest.mark.parametrize("name", ["mcp__github__create_issue", "_private", "a.b:c-d", "x" * 128])
def test_names_that_obey_geminis_rule_are_kept(name: str) -> None:
    assert declarations([tool(name)])[0]["name"] == name


@pytest.mark.parametrize(
    "name", ["1password", "-dash", "has space", "emoji🙂", "", "x" * 129, "a/b"]
)
def test_names_that_break_geminis_rule_are_refused(name: str) -> None:
    error = refused([tool(name)])
    assert error.path == "tools[0].name"
    assert "start with a letter or underscore" in error.message


@pytest.mark.parametrize(
    "kind", ["web_search_20250305", "bash_20250124", "text_editor_20250728", "memory_20250818"]
)
def test_server_tools_are_refused_as_unsupported(kind: str) -> None:
    error = refused([tool(), {"type": kind, "name": "web_search"}])
    assert error.path == "tools[1].type"
    assert "not supported by this gateway" in error.message


@pytest.mark.parametrize(
    ("bad_tool", "path"),
    [
        ("Bash", "tools[0]"),
        ({"input_schema": SCHEMA}, "tools[0].name"),
        ({"name": "Bash"}, "tools[0].input_schema"),
        ({"name": "Bash", "input_schema": "object"}, "tools[0].input_schema"),
        ({"name": "Bash", "input_schema": {"type": "array"}}, "tools[0].input_schema.type"),
        ({"name": "Bash", "input_schema": SCHEMA, "description": 5}, "tools[0].description"),
        ({"name": "Bash", "input_schema": SCHEMA, "type": 7}, "tools[0].type"),
    ],
)
def test_a_malformed_tool_is_refused_at_its_path(bad_tool: Any, path: str) -> None:
    assert refused([bad_tool]).path == path


def test_duplicate_tool_names_are_refused() -> None:
    assert refused([tool("A"), tool("B"), tool("A")]).path == "tools[2].name"


def test_more_than_512_tools_are_refused() -> None:
    assert refused([tool(f"t{i}") for i in range(513)]).path == "tools"


# -- the declarations cache ----------------------------------------------------------------


def test_the_same_tools_are_converted_once_and_served_from_the_cache() -> None:
    tools = [tool("CacheProbe", description="first sighting")]
    first = declarations(copy.deepcopy(tools))
    hits = _cached_declarations.cache_info().hits
    assert declarations(copy.deepcopy(tools)) == first
    assert _cached_declarations.cache_info().hits == hits + 1


def test_a_changed_tool_is_never_served_stale_from_the_cache() -> None:
    tools = [tool("Stale", description="v1")]
    assert declarations(tools)[0]["description"] == "v1"
    tools[0]["description"] = "v2"  # same list object, edited in place
    assert declarations(tools)[0]["description"] == "v2"
    tools[0]["input_schema"] = {"type": "object", "properties": {"n": {"type": "integer"}}}
    assert declarations(tools)[0]["parameters"] == clean_schema(
        tools[0]["input_schema"], mode="parameters"
    )


def test_the_schema_mode_is_part_of_the_cache_key() -> None:
    tools = [tool("Mode")]
    assert "parameters" in declarations(tools, "parameters")[0]
    assert "parametersJsonSchema" in declarations(tools, "parametersJsonSchema")[0]
    assert "parameters" in declarations(tools, "parameters")[0]


def test_values_equal_in_python_but_not_in_json_get_distinct_cache_entries() -> None:
    def with_default(default: object) -> dict[str, Any]:
        schema = {"type": "object", "properties": {"flag": {"type": "boolean", "default": default}}}
        return tool("Look", input_schema=schema)

    # 1 == True and hash(1) == hash(True): a key built from Python values would conflate them.
    assert (
        type(declarations([with_default(1)])[0]["parameters"]["properties"]["flag"]["default"])
        is int
    )
    assert (
        type(declarations([with_default(True)])[0]["parameters"]["properties"]["flag"]["default"])
        is bool
    )


def test_tools_orjson_cannot_encode_are_converted_without_the_cache() -> None:
    lone_surrogate = tool("Surrogate", description="bad \ud800 text")
    misses = _cached_declarations.cache_info().misses
    assert declarations([lone_surrogate])[0]["description"] == "bad \ud800 text"
    assert _cached_declarations.cache_info().misses == misses


def test_invalid_tools_are_refused_every_time_not_cached() -> None:
    for _ in range(2):
        assert refused([tool("9lives")]).path == "tools[0].name"


def test_the_cache_is_bounded() -> None:
    for index in range(CACHE_SIZE + 5):
        declarations([tool(f"Bound{index}")])
    assert _cached_declarations.cache_info().currsize == CACHE_SIZE
    assert _cached_declarations.cache_info().maxsize == CACHE_SIZE


def test_editing_a_result_does_not_change_the_next_result_list() -> None:
    tools = [tool("Edited")]
    declarations(tools).append({"name": "intruder"})
    assert [d["name"] for d in declarations(tools)] == ["Edited"]

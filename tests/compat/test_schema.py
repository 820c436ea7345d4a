"""compat._schema: clean_schema turns tool JSON Schemas into what Gemini accepts
(docs/reference/gemini.md#schema)."""

from __future__ import annotations

import copy
import json
from types import SimpleNamespace
from typing import Any

import hypothesis_jsonschema._from_schema
import jsonschema
import pytest
from hypothesis import HealthCheck, assume, given, reject, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisException
from hypothesis.internal.conjecture import utils as conjecture_utils
from hypothesis_jsonschema import from_schema

from compat._schema import clean_schema
from conformance.checks.gemini_schema import (
    json_subset_violations,
    schema_violations,
    to_json_schema,
)
from conformance.strategies.json_values import json_values
from conformance.strategies.schemas import json_schemas, schema_like_values, tool_input_schemas

_END = object()


class _ManyWithMore:
    """hypothesis-jsonschema 0.23.1 drives `cu.many` through `.more()`, which hypothesis
    6.170 replaced by `with many(...) as e: for _ in e:`. This adapter restores `.more()`
    on top of the new protocol so object schemas can be drawn from (a test-only shim)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._many = conjecture_utils.many(*args, **kwargs)
        self._many.__enter__()
        self._elements = iter(self._many)

    def more(self) -> bool:
        if next(self._elements, _END) is _END:
            self._many.__exit__(None)
            return False
        return True

    def reject(self, why: str | None = None) -> None:
        self._many.reject(why)


if not hasattr(conjecture_utils.many, "more"):
    hypothesis_jsonschema._from_schema.cu = SimpleNamespace(many=_ManyWithMore)  # type: ignore[attr-defined]

try:  # the emulator's strict validator, when present, is a second judge
    from conformance.emulator.validation import validate_schema as emulator_violations
except ImportError:  # pragma: no cover - the emulator lands separately
    emulator_violations = None


def assert_gemini_valid(schema: dict[str, Any]) -> None:
    assert schema_violations(schema) == []
    if emulator_violations is not None:
        assert emulator_violations(schema, "tools[0].function_declarations[0].parameters") == []


# Tool schemas as Claude Code sends them (zod-to-json-schema output, abridged).
BASH_TOOL = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {
        "command": {"type": "string", "description": "The command to execute"},
        "timeout": {"type": "number", "description": "Optional timeout in ms (max 600000)"},
        "description": {"type": "string", "description": "Clear, concise description"},
        "run_in_background": {"type": "boolean"},
    },
    "required": ["command"],
    "additionalProperties": False,
}
TODO_WRITE_TOOL = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {
        "todos": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "content": {"type": "string", "minLength": 1},
                    "status": {"type": "string", "enum": ["pending", "in_progress", "completed"]},
                    "activeForm": {"type": "string", "minLength": 1},
                },
                "required": ["content", "status", "activeForm"],
                "additionalProperties": False,
            },
            "description": "The updated todo list",
        }
    },
    "required": ["todos"],
    "additionalProperties": False,
}
MULTI_EDIT_TOOL = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {
        "file_path": {"type": "string"},
        "first": {
            "type": "object",
            "properties": {
                "old_string": {"type": "string"},
                "new_string": {"type": "string"},
                "replace_all": {"type": "boolean", "default": False},
            },
            "required": ["old_string", "new_string"],
            "additionalProperties": False,
        },
        "edits": {"type": "array", "items": {"$ref": "#/properties/first"}, "minItems": 1},
    },
    "required": ["file_path", "edits"],
    "additionalProperties": False,
}
MCP_LIKE_TOOL = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "urn:tool",
    "$comment": "generated",
    "type": "object",
    "properties": {
        "url": {"type": "string", "format": "uri"},
        "headers": {
            "type": "object",
            "propertyNames": {"pattern": "^[A-Za-z-]+$"},
            "additionalProperties": {"type": "string"},
        },
        "mode": {"anyOf": [{"const": "fast"}, {"const": "thorough"}]},
        "limit": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 100},
        "cursor": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
        "title": {"type": "string"},
        "properties": {"type": "array", "items": {"type": "string"}},
        "type": {"type": "string", "enum": ["a", "b"]},
    },
    "required": ["url", "title", "type", "ghost"],
    "additionalProperties": False,
}
CLAUDE_CODE_TOOLS = [BASH_TOOL, TODO_WRITE_TOOL, MULTI_EDIT_TOOL, MCP_LIKE_TOOL]


# --- type -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("json_type", "gemini_type"),
    [
        ("string", "STRING"),
        ("number", "NUMBER"),
        ("integer", "INTEGER"),
        ("boolean", "BOOLEAN"),
        ("String", "STRING"),
        ("Boolean", "BOOLEAN"),
    ],
)
def test_type_becomes_one_upper_case_gemini_type(json_type: str, gemini_type: str) -> None:
    assert clean_schema({"type": json_type}) == {"type": gemini_type}


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object"},
        {"type": "object", "additionalProperties": {"type": "string"}},
        {"type": "OBJECT", "properties": {}},
        {"type": "array"},
        {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
        {"type": "array", "items": {"type": "object"}},
    ],
)
def test_objects_without_properties_and_arrays_without_typed_items_become_unconstrained(
    schema: dict[str, object],
) -> None:
    # Gemini refuses both ("should be non-empty for OBJECT type", "items: missing field."):
    # an unconstrained schema is the only relaxation it accepts.
    assert clean_schema(schema) == {}


def test_a_free_form_object_property_keeps_its_description_and_loses_its_type() -> None:
    schema = {
        "type": "object",
        "properties": {
            "url": {"type": "string"},
            "headers": {
                "type": "object",
                "description": "HTTP headers",
                "additionalProperties": {"type": "string"},
            },
        },
    }
    cleaned = clean_schema(schema)
    assert cleaned["properties"]["headers"] == {"description": "HTTP headers"}


def test_type_array_with_null_becomes_nullable() -> None:
    assert clean_schema({"type": ["string", "null"]}) == {"type": "STRING", "nullable": True}


def test_type_array_of_several_types_becomes_any_of_with_each_types_keywords() -> None:
    cleaned = clean_schema({"type": ["string", "integer"], "maxLength": 3, "minimum": 1})
    assert cleaned == {
        "anyOf": [{"type": "STRING", "maxLength": 3}, {"type": "INTEGER", "minimum": 1}]
    }


def test_type_array_of_integer_and_number_is_number() -> None:
    assert clean_schema({"type": ["integer", "number"]}) == {"type": "NUMBER"}


def test_null_type_alone_is_unconstrained() -> None:
    assert clean_schema({"type": "null", "description": "d"}) == {"description": "d"}


def test_missing_type_with_properties_is_object() -> None:
    cleaned = clean_schema({"properties": {"a": {"type": "string"}}})
    assert cleaned == {"type": "OBJECT", "properties": {"a": {"type": "STRING"}}}


def test_missing_type_with_items_is_array() -> None:
    assert clean_schema({"items": {"type": "integer"}}) == {
        "type": "ARRAY",
        "items": {"type": "INTEGER"},
    }


@pytest.mark.parametrize("schema", [{}, True, False, None, 3, "string", [], {"type": 5}])
def test_empty_boolean_and_garbage_schemas_are_unconstrained(schema: object) -> None:
    assert clean_schema(schema) == {}


def test_unknown_type_names_are_ignored() -> None:
    assert clean_schema({"type": ["strng", "integer"]}) == {"type": "INTEGER"}


# --- nullable, anyOf, oneOf ------------------------------------------------------------


@pytest.mark.parametrize(
    "branches",
    [
        [{"type": "string"}, {"type": "null"}],
        [{"type": "null"}, {"type": "string"}],
        [{"type": "string"}, {"const": None}],
    ],
)
def test_any_of_one_schema_or_null_becomes_that_schema_nullable(branches: list[Any]) -> None:
    cleaned = clean_schema({"anyOf": branches, "description": "d"})
    assert cleaned == {"type": "STRING", "nullable": True, "description": "d"}


def test_any_of_several_schemas_or_null_keeps_any_of_and_is_nullable() -> None:
    cleaned = clean_schema({"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]})
    assert cleaned == {"anyOf": [{"type": "STRING"}, {"type": "INTEGER"}], "nullable": True}


def test_any_of_with_an_unconstrained_branch_is_unconstrained() -> None:
    assert clean_schema({"anyOf": [{"type": "string"}, {}]}) == {}


def test_one_of_becomes_any_of() -> None:
    cleaned = clean_schema({"oneOf": [{"type": "string"}, {"type": "boolean"}]})
    assert cleaned == {"anyOf": [{"type": "STRING"}, {"type": "BOOLEAN"}]}


def test_any_of_of_string_literals_becomes_one_string_enum() -> None:
    cleaned = clean_schema({"anyOf": [{"const": "fast"}, {"const": "slow"}]})
    assert cleaned == {"type": "STRING", "enum": ["fast", "slow"]}


def test_any_of_beside_type_distributes_the_type_into_branches() -> None:
    cleaned = clean_schema(
        {"type": "string", "anyOf": [{"format": "date-time"}, {"enum": ["now"]}]}
    )
    assert cleaned == {
        "anyOf": [{"type": "STRING", "format": "date-time"}, {"type": "STRING", "enum": ["now"]}]
    }


def test_openapi_nullable_is_kept() -> None:
    assert clean_schema({"type": "integer", "nullable": True}) == {
        "type": "INTEGER",
        "nullable": True,
    }


# --- format ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("json_type", "fmt", "kept"),
    [
        ("string", "date-time", True),
        ("string", "enum", True),
        ("string", "uri", False),
        ("string", "email", False),
        ("string", "date", False),
        ("number", "float", True),
        ("number", "double", True),
        ("number", "int32", False),
        ("integer", "int32", True),
        ("integer", "int64", True),
        ("integer", "float", False),
        ("boolean", "date-time", False),
    ],
)
def test_format_is_kept_only_where_gemini_allows_it(json_type: str, fmt: str, kept: bool) -> None:
    cleaned = clean_schema({"type": json_type, "format": fmt})
    assert ("format" in cleaned) is kept


# --- enum and const -------------------------------------------------------------------


def test_string_enum_is_kept() -> None:
    assert clean_schema({"type": "string", "enum": ["a", "b"]}) == {
        "type": "STRING",
        "enum": ["a", "b"],
    }


def test_enum_of_strings_without_type_is_a_string_enum() -> None:
    assert clean_schema({"enum": ["a", "b", "a"]}) == {"type": "STRING", "enum": ["a", "b"]}


def test_enum_with_null_is_a_nullable_string_enum() -> None:
    assert clean_schema({"enum": ["a", None]}) == {
        "type": "STRING",
        "enum": ["a"],
        "nullable": True,
    }


def test_integer_enum_is_dropped_and_the_type_kept() -> None:
    # Turning it into a STRING enum would reject the integers the original accepts.
    assert clean_schema({"type": "integer", "enum": [1, 2, 3]}) == {"type": "INTEGER"}


def test_untyped_non_string_enum_keeps_only_the_values_types() -> None:
    assert clean_schema({"enum": [1, 2]}) == {"type": "INTEGER"}
    assert clean_schema({"enum": ["a", True]}) == {
        "anyOf": [{"type": "STRING"}, {"type": "BOOLEAN"}]
    }


def test_string_const_becomes_a_single_value_enum() -> None:
    assert clean_schema({"const": "x"}) == {"type": "STRING", "enum": ["x"]}


def test_non_string_const_keeps_only_its_type() -> None:
    assert clean_schema({"const": 5}) == {"type": "INTEGER"}
    assert clean_schema({"type": "boolean", "const": True}) == {"type": "BOOLEAN"}


def test_string_enum_on_a_non_string_type_is_dropped() -> None:
    assert clean_schema({"type": "integer", "enum": ["1"]}) == {"type": "INTEGER"}


# --- numbers, strings, arrays, objects ------------------------------------------------


def test_exclusive_bounds_become_inclusive_bounds() -> None:
    cleaned = clean_schema({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 10})
    assert cleaned == {"type": "NUMBER", "minimum": 0, "maximum": 10}


def test_the_tighter_of_inclusive_and_exclusive_bounds_wins() -> None:
    cleaned = clean_schema({"type": "integer", "minimum": 5, "exclusiveMinimum": 1, "maximum": 7.5})
    assert cleaned == {"type": "INTEGER", "minimum": 5, "maximum": 7.5}


def test_keywords_of_other_types_are_dropped() -> None:
    cleaned = clean_schema({"type": "string", "minimum": 1, "items": {}, "minLength": 2})
    assert cleaned == {"type": "STRING", "minLength": 2}


def test_tuple_arrays_become_unconstrained() -> None:
    # prefixItems has no Gemini form, and an ARRAY without typed items is refused.
    cleaned = clean_schema(
        {"type": "array", "prefixItems": [{"type": "string"}], "items": {"type": "integer"}}
    )
    assert cleaned == {}


def test_required_names_only_existing_properties() -> None:
    cleaned = clean_schema(
        {"type": "object", "properties": {"a": {}}, "required": ["a", "ghost", "a", 3]}
    )
    assert cleaned == {"type": "OBJECT", "properties": {"a": {}}, "required": ["a"]}


@pytest.mark.parametrize("name", ["title", "properties", "minLength", "default", "type", "$ref"])
def test_a_property_named_like_a_keyword_is_an_ordinary_property(name: str) -> None:
    cleaned = clean_schema(
        {"type": "object", "properties": {name: {"type": "string"}}, "required": [name]}
    )
    assert cleaned == {
        "type": "OBJECT",
        "properties": {name: {"type": "STRING"}},
        "required": [name],
    }


@pytest.mark.parametrize(
    "keyword",
    [
        "additionalProperties",
        "patternProperties",
        "propertyNames",
        "dependencies",
        "dependentRequired",
        "$schema",
        "$id",
        "$comment",
        "not",
        "if",
        "then",
        "else",
        "uniqueItems",
        "multipleOf",
        "examples",
        "contains",
        "unevaluatedProperties",
        "readOnly",
        "deprecated",
        "discriminator",
        "pattern",
    ],
)
def test_keywords_gemini_rejects_are_dropped(keyword: str) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, keyword: {}}
    assert clean_schema(schema) == {"type": "OBJECT", "properties": {"a": {"type": "STRING"}}}


def test_title_description_and_default_are_kept() -> None:
    schema = {"type": "string", "title": "T", "description": "D", "default": "x"}
    assert clean_schema(schema) == {
        "type": "STRING",
        "title": "T",
        "description": "D",
        "default": "x",
    }


# --- $ref and allOf -------------------------------------------------------------------


@pytest.mark.parametrize("defs", ["$defs", "definitions"])
def test_refs_to_definitions_are_inlined(defs: str) -> None:
    schema = {
        defs: {"Point": {"type": "object", "properties": {"x": {"type": "number"}}}},
        "type": "object",
        "properties": {"at": {"$ref": f"#/{defs}/Point"}},
    }
    assert clean_schema(schema) == {
        "type": "OBJECT",
        "properties": {"at": {"type": "OBJECT", "properties": {"x": {"type": "NUMBER"}}}},
    }


def test_json_pointer_refs_with_escapes_are_inlined() -> None:
    schema = {
        "type": "object",
        "properties": {"a/b": {"type": "string"}, "c": {"$ref": "#/properties/a~1b"}},
    }
    assert clean_schema(schema)["properties"]["c"] == {"type": "STRING"}


def test_ref_siblings_apply_alongside_the_target() -> None:
    schema = {
        "$defs": {"S": {"type": "string", "description": "inner"}},
        "$ref": "#/$defs/S",
        "description": "outer",
        "maxLength": 9,
    }
    assert clean_schema(schema) == {"type": "STRING", "description": "outer", "maxLength": 9}


@pytest.mark.parametrize(
    "ref", ["http://example.com/s.json", "#/$defs/missing", "#anchor", "#/x/9"]
)
def test_unresolvable_refs_are_unconstrained(ref: str) -> None:
    assert clean_schema({"$ref": ref}) == {}


def test_recursive_refs_are_cut_to_unconstrained_after_a_few_levels() -> None:
    tree = {
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
                },
            }
        },
        "$ref": "#/$defs/Node",
    }
    cleaned = clean_schema(tree)
    level = cleaned
    depth = 0
    while "items" in level["properties"]["children"]:
        level = level["properties"]["children"]["items"]
        depth += 1
    assert 1 <= depth <= 3
    assert level["properties"]["children"] == {}  # the cut: unconstrained, never stricter
    assert_gemini_valid(cleaned)


def test_a_ref_to_the_root_terminates() -> None:
    cleaned = clean_schema({"type": "object", "properties": {"self": {"$ref": "#"}}})
    assert_gemini_valid(cleaned)
    assert "self" in cleaned["properties"]


def test_exponential_ref_fan_out_is_bounded() -> None:
    defs: dict[str, Any] = {"L0": {"type": "string"}}
    for level in range(1, 30):
        below = {"$ref": f"#/$defs/L{level - 1}"}
        defs[f"L{level}"] = {"type": "object", "properties": {"a": below, "b": below}}
    cleaned = clean_schema({"$defs": defs, "$ref": "#/$defs/L29"})
    assert len(json.dumps(cleaned)) < 2_000_000
    assert_gemini_valid(cleaned)


def test_all_of_is_merged() -> None:
    schema = {
        "allOf": [
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
            {
                "type": "object",
                "properties": {"b": {"type": "integer"}, "a": {"type": "string", "maxLength": 4}},
                "required": ["b"],
            },
        ]
    }
    assert clean_schema(schema) == {
        "type": "OBJECT",
        "properties": {"a": {"type": "STRING", "maxLength": 4}, "b": {"type": "INTEGER"}},
        "required": ["a", "b"],
    }


def test_all_of_intersects_bounds_and_enums() -> None:
    schema = {
        "allOf": [
            {"type": "integer", "minimum": 0, "maximum": 10},
            {"type": "number", "minimum": 2, "maximum": 20},
        ]
    }
    assert clean_schema(schema) == {"type": "INTEGER", "minimum": 2, "maximum": 10}
    enums = {"allOf": [{"enum": ["a", "b", "c"]}, {"enum": ["c", "b", "z"]}]}
    assert clean_schema(enums) == {"type": "STRING", "enum": ["b", "c"]}


# --- whole tool schemas, robustness ---------------------------------------------------


def test_bash_tool_schema_is_cleaned_to_the_expected_gemini_schema() -> None:
    assert clean_schema(BASH_TOOL) == {
        "type": "OBJECT",
        "properties": {
            "command": {"type": "STRING", "description": "The command to execute"},
            "timeout": {"type": "NUMBER", "description": "Optional timeout in ms (max 600000)"},
            "description": {"type": "STRING", "description": "Clear, concise description"},
            "run_in_background": {"type": "BOOLEAN"},
        },
        "required": ["command"],
    }


def test_mcp_like_tool_schema_is_cleaned_to_the_expected_gemini_schema() -> None:
    assert clean_schema(MCP_LIKE_TOOL) == {
        "type": "OBJECT",
        "properties": {
            "url": {"type": "STRING"},
            "headers": {},
            "mode": {"type": "STRING", "enum": ["fast", "thorough"]},
            "limit": {"type": "INTEGER", "minimum": 0, "maximum": 100},
            "cursor": {"type": "STRING", "nullable": True, "default": None},
            "title": {"type": "STRING"},
            "properties": {"type": "ARRAY", "items": {"type": "STRING"}},
            "type": {"type": "STRING", "enum": ["a", "b"]},
        },
        "required": ["url", "title", "type"],
    }


@pytest.mark.parametrize("tool", CLAUDE_CODE_TOOLS, ids=["bash", "todo", "multiedit", "mcp"])
def test_claude_code_tool_schemas_clean_to_valid_gemini_schemas(tool: dict[str, Any]) -> None:
    cleaned = clean_schema(tool)
    assert_gemini_valid(cleaned)
    assert clean_schema(cleaned) == cleaned


def test_multi_edit_ref_to_a_sibling_property_is_inlined() -> None:
    edits = clean_schema(MULTI_EDIT_TOOL)["properties"]["edits"]
    assert edits["items"]["required"] == ["old_string", "new_string"]
    assert edits["minItems"] == 1


def test_very_deep_nesting_is_cut_without_raising() -> None:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(900):
        schema = {"type": "array", "items": schema}
    cleaned = clean_schema(schema)
    assert_gemini_valid(cleaned)


def test_an_unknown_mode_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="mode"):
        clean_schema({}, mode="nope")  # type: ignore[arg-type]


# --- mode="parametersJsonSchema" ------------------------------------------------------


def test_json_schema_mode_keeps_the_documented_subset_and_drops_the_rest() -> None:
    cleaned = clean_schema(MCP_LIKE_TOOL, mode="parametersJsonSchema")
    assert json_subset_violations(cleaned) == []
    assert cleaned["additionalProperties"] is False
    assert cleaned["properties"]["limit"] == {"type": "integer", "minimum": 0, "maximum": 100}
    assert cleaned["properties"]["headers"] == {
        "type": "object",
        "additionalProperties": {"type": "string"},
    }
    assert cleaned["properties"]["mode"] == {"anyOf": [{"enum": ["fast"]}, {"enum": ["thorough"]}]}
    assert cleaned["required"] == ["url", "title", "type"]


def test_json_schema_mode_keeps_refs_bare_and_renames_definitions() -> None:
    schema = {
        "definitions": {
            "Node": {"type": "object", "properties": {"next": {"$ref": "#/definitions/Node"}}}
        },
        "type": "object",
        "properties": {"head": {"$ref": "#/definitions/Node", "description": "first"}},
    }
    cleaned = clean_schema(schema, mode="parametersJsonSchema")
    assert json_subset_violations(cleaned) == []
    assert cleaned["$defs"]["Node"]["properties"]["next"] == {"$ref": "#/$defs/Node"}
    assert cleaned["properties"]["head"] == {
        "description": "first",
        "anyOf": [{"$ref": "#/$defs/Node"}],
    }


def test_json_schema_mode_keeps_number_enums_and_drops_boolean_ones() -> None:
    assert clean_schema({"enum": [1, "a"]}, mode="parametersJsonSchema") == {"enum": [1, "a"]}
    assert clean_schema({"enum": [True]}, mode="parametersJsonSchema") == {}


# --- properties -----------------------------------------------------------------------


@given(st.one_of(json_values(max_leaves=30), schema_like_values()))
def test_never_raises_and_always_emits_a_valid_gemini_schema(value: object) -> None:
    cleaned = clean_schema(value)
    assert_gemini_valid(cleaned)
    assert json_subset_violations(clean_schema(value, mode="parametersJsonSchema")) == []


@given(st.one_of(schema_like_values(), tool_input_schemas()))
def test_cleaning_is_idempotent(value: object) -> None:
    cleaned = clean_schema(value)
    assert clean_schema(cleaned) == cleaned
    subset = clean_schema(value, mode="parametersJsonSchema")
    assert clean_schema(subset, mode="parametersJsonSchema") == subset


@given(st.one_of(schema_like_values(), tool_input_schemas()))
def test_cleaning_does_not_mutate_its_input(value: object) -> None:
    before = copy.deepcopy(value)
    clean_schema(value)
    clean_schema(value, mode="parametersJsonSchema")
    assert value == before


@given(json_schemas())
def test_realistic_schemas_clean_to_valid_gemini_schemas(schema: dict[str, Any]) -> None:
    assert_gemini_valid(clean_schema(schema))


def _instance_of(data: st.DataObject, schema: dict[str, Any]) -> object:
    try:
        return data.draw(from_schema(schema))
    except HypothesisException:  # a schema hypothesis-jsonschema cannot draw from
        reject()


@settings(
    max_examples=60, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
@given(tool_input_schemas(), st.data())
def test_cleaning_only_relaxes_an_instance_valid_before_stays_valid(
    schema: dict[str, Any], data: st.DataObject
) -> None:
    instance = _instance_of(data, schema)
    assume(jsonschema.Draft202012Validator(schema).is_valid(instance))
    cleaned = to_json_schema(clean_schema(schema))
    jsonschema.Draft202012Validator.check_schema(cleaned)
    errors = [e.message for e in jsonschema.Draft202012Validator(cleaned).iter_errors(instance)]
    assert errors == []


@settings(
    max_examples=60, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
@given(tool_input_schemas(), st.data())
def test_json_schema_mode_only_relaxes(schema: dict[str, Any], data: st.DataObject) -> None:
    instance = _instance_of(data, schema)
    assume(jsonschema.Draft202012Validator(schema).is_valid(instance))
    cleaned = clean_schema(schema, mode="parametersJsonSchema")
    errors = [e.message for e in jsonschema.Draft202012Validator(cleaned).iter_errors(instance)]
    assert errors == []

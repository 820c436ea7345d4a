"""Strategies for tool input schemas (JSON Schema draft 2020-12) and schema-shaped garbage.

    property_names()      ordinary names and names that are JSON-Schema keywords
    leaf_schemas()        string / number / integer / boolean schemas with formats, bounds,
                          enums and consts
    json_schemas()        nested realistic schemas: objects (required, additionalProperties,
                          propertyNames), arrays, type arrays with "null", anyOf-null, anyOf,
                          oneOf, allOf, exclusive bounds, descriptions and titles
    tool_input_schemas()  a whole tool `input_schema` the way Claude Code sends one:
                          `$schema`, top-level object, `additionalProperties: false`,
                          sometimes `$defs` with `$ref` uses
    schema_like_values()  JSON objects whose keys are schema keywords with arbitrary values
                          (any JSON value: `json_values.json_values()`)

Every schema from the realistic strategies is satisfiable and non-recursive, so
hypothesis-jsonschema can draw instances from it.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from conformance.strategies.json_values import json_scalars, json_values

__all__ = [
    "SCHEMA_KEYWORDS",
    "json_schemas",
    "leaf_schemas",
    "property_names",
    "schema_like_values",
    "tool_input_schemas",
]

Schema = dict[str, Any]

SCHEMA_KEYWORDS = (
    "type",
    "title",
    "description",
    "properties",
    "required",
    "items",
    "enum",
    "const",
    "format",
    "default",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minItems",
    "maxItems",
    "anyOf",
    "oneOf",
    "allOf",
    "not",
    "$ref",
    "$defs",
    "definitions",
    "additionalProperties",
    "patternProperties",
    "propertyNames",
    "nullable",
    "prefixItems",
    "$schema",
    "$id",
    "examples",
    "pattern",
    "multipleOf",
    "uniqueItems",
)
_FORMATS = ("uri", "email", "date-time", "date", "uuid", "enum", "hostname", "int32")
_DRAFT_07 = "http://json-schema.org/draft-07/schema#"


def property_names() -> st.SearchStrategy[str]:
    """Plain identifiers and keyword-named properties (`title`, `type`, `properties`...)."""
    return st.one_of(
        st.sampled_from(["title", "properties", "minLength", "default", "type", "required"]),
        st.sampled_from(["items", "enum", "format", "description", "anyOf", "const"]),
        st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True),
    )


def _described(schema: Schema, draw: st.DrawFn) -> Schema:
    if draw(st.booleans()):
        schema["description"] = draw(st.text(max_size=20))
    if draw(st.integers(0, 4)) == 0:
        schema["title"] = draw(st.text(max_size=10))
    return schema


@st.composite
def _string_schema(draw: st.DrawFn) -> Schema:
    schema: Schema = {"type": "string"}
    if draw(st.booleans()):
        schema["format"] = draw(st.sampled_from(_FORMATS))
    low = draw(st.none() | st.integers(0, 5))
    if low is not None:
        schema["minLength"] = low
    if draw(st.booleans()):
        schema["maxLength"] = (low or 0) + draw(st.integers(0, 20))
    return _described(schema, draw)


@st.composite
def _number_schema(draw: st.DrawFn) -> Schema:
    kind = draw(st.sampled_from(["integer", "number"]))
    schema: Schema = {"type": kind}
    low = draw(st.integers(-1000, 1000))
    span = draw(st.integers(2, 10_000))
    lower_key = draw(st.sampled_from([None, "minimum", "exclusiveMinimum"]))
    upper_key = draw(st.sampled_from([None, "maximum", "exclusiveMaximum"]))
    if lower_key:
        schema[lower_key] = low
    if upper_key:
        schema[upper_key] = low + span
    if draw(st.booleans()):
        schema["format"] = draw(
            st.sampled_from(["int32", "int64"] if kind == "integer" else ["float", "double"])
        )
    if draw(st.integers(0, 5)) == 0:
        schema["multipleOf"] = draw(st.sampled_from([1, 2, 5]))
    return _described(schema, draw)


@st.composite
def _enum_schema(draw: st.DrawFn) -> Schema:
    values: list[Any] = draw(
        st.one_of(
            st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=5, unique=True),
            st.lists(st.integers(-5, 5), min_size=1, max_size=4, unique=True),
            st.just(["a", 1, True]),
            st.just(["x", None]),
        )
    )
    schema: Schema = {"enum": values}
    if all(isinstance(value, str) for value in values) and draw(st.booleans()):
        schema["type"] = "string"
    return _described(schema, draw)


@st.composite
def _const_schema(draw: st.DrawFn) -> Schema:
    value = draw(st.one_of(st.text(max_size=8), st.integers(-3, 3), st.booleans()))
    return {"const": value}


def leaf_schemas() -> st.SearchStrategy[Schema]:
    """Schemas of scalar values."""
    return st.one_of(
        _string_schema(),
        _number_schema(),
        st.just({"type": "boolean"}),
        _enum_schema(),
        _const_schema(),
        st.just({}),
    )


@st.composite
def _object_schema(draw: st.DrawFn, children: st.SearchStrategy[Schema]) -> Schema:
    properties = draw(st.dictionaries(property_names(), children, max_size=4))
    schema: Schema = {"type": "object", "properties": properties}
    names = sorted(properties)
    required = draw(st.lists(st.sampled_from(names), unique=True)) if names else []
    if required:
        schema["required"] = required
    extra = draw(st.sampled_from(["absent", "false", "true", "schema", "names"]))
    if extra == "false":
        schema["additionalProperties"] = False
    elif extra == "true":
        schema["additionalProperties"] = True
    elif extra == "schema":
        schema["additionalProperties"] = {"type": "string"}
    elif extra == "names":
        schema["propertyNames"] = {"type": "string", "maxLength": 20}
    return _described(schema, draw)


@st.composite
def _array_schema(draw: st.DrawFn, children: st.SearchStrategy[Schema]) -> Schema:
    schema: Schema = {"type": "array", "items": draw(children)}
    if draw(st.booleans()):
        schema["minItems"] = draw(st.integers(0, 2))
    if draw(st.booleans()):
        schema["maxItems"] = schema.get("minItems", 0) + draw(st.integers(0, 4))
    return _described(schema, draw)


@st.composite
def _nullable(draw: st.DrawFn, children: st.SearchStrategy[Schema]) -> Schema:
    child = draw(children)
    if isinstance(child.get("type"), str) and draw(st.booleans()):
        return {**child, "type": [child["type"], "null"]}
    branches = [child, {"type": "null"}]
    return {"anyOf": branches if draw(st.booleans()) else branches[::-1]}


def _extend(children: st.SearchStrategy[Schema]) -> st.SearchStrategy[Schema]:
    return st.one_of(
        _object_schema(children),
        _array_schema(children),
        _nullable(children),
        st.lists(children, min_size=2, max_size=3).map(lambda bs: {"anyOf": bs}),
        st.tuples(_string_schema(), _number_schema()).map(lambda bs: {"oneOf": list(bs)}),
        st.tuples(_object_schema(children), _object_schema(children)).map(
            lambda bs: {"allOf": list(bs)}
        ),
    )


def json_schemas(max_leaves: int = 8) -> st.SearchStrategy[Schema]:
    """Nested realistic JSON Schemas (satisfiable, without `$ref`)."""
    return st.recursive(leaf_schemas(), _extend, max_leaves=max_leaves)


@st.composite
def tool_input_schemas(draw: st.DrawFn, max_leaves: int = 8) -> Schema:
    """A tool `input_schema` as Claude Code sends it, sometimes with `$defs`/`$ref`."""
    properties = draw(st.dictionaries(property_names(), json_schemas(max_leaves), max_size=5))
    schema: Schema = {"type": "object", "properties": properties}
    if draw(st.booleans()):
        definition = draw(json_schemas(max_leaves // 2))
        defs_key = draw(st.sampled_from(["$defs", "definitions"]))
        schema[defs_key] = {"Shared": definition}
        for name in draw(st.lists(property_names(), min_size=1, max_size=2, unique=True)):
            ref: Schema = {"$ref": f"#/{defs_key}/Shared"}
            if draw(st.booleans()):
                ref["description"] = "shared"
            properties[name] = ref
    names = sorted(properties)
    if names:
        schema["required"] = draw(st.lists(st.sampled_from(names), unique=True))
    if draw(st.booleans()):
        schema["additionalProperties"] = False
    if draw(st.booleans()):
        schema["$schema"] = _DRAFT_07
    return schema


def schema_like_values(max_leaves: int = 30) -> st.SearchStrategy[object]:
    """JSON objects keyed by schema keywords with arbitrary (often wrong) values."""
    refs = st.sampled_from(["#", "#/properties/a", "#/$defs/a", "#/definitions/a", "#/items"])
    words = st.sampled_from(["string", "object", "null", "array", "integer", "STRING", "x"])
    return json_values(
        scalars=json_scalars(integers=st.integers(-3, 3), text=words | refs),
        keys=st.sampled_from(SCHEMA_KEYWORDS) | st.sampled_from(["a", "b"]),
        max_leaves=max_leaves,
        max_size=5,
    )

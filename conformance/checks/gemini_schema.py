"""A strict checker of Gemini `Schema` objects and a translator back to JSON Schema.

Written from docs/reference/gemini.md#schema alone (it never imports compat), so it judges a
translator's schemas (compat's clean_schema, or any proxy's) against the reference rather than
against itself.

    schema_violations(schema)         -> list of rule breaks in a Gemini `Schema`
    json_subset_violations(schema)    -> list of rule breaks in a `parametersJsonSchema`
    to_json_schema(schema)            -> the JSON Schema (2020-12) a Gemini `Schema` means

Reading of Gemini semantics used by the translator: `nullable: true` means "or null" (also
beside `anyOf`), a missing `type` means any value, properties not listed are allowed
(Gemini has no `additionalProperties`), and `format`, `title`, `description`, `default`,
`example` are annotations.
"""

from __future__ import annotations

import math
from typing import Any

# docs/reference/gemini.md#schema: the accepted keys (v1beta, Node ISchema v3.7.0).
GEMINI_FIELDS = frozenset(
    {
        "type",
        "format",
        "title",
        "description",
        "nullable",
        "enum",
        "maxItems",
        "minItems",
        "properties",
        "required",
        "minProperties",
        "maxProperties",
        "minLength",
        "maxLength",
        "pattern",
        "example",
        "anyOf",
        "propertyOrdering",
        "default",
        "items",
        "minimum",
        "maximum",
    }
)
GEMINI_TYPES = frozenset({"STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL"})
# docs/reference/gemini.md#schema `format`: "for NUMBER type: float, double / for INTEGER type:
# int32, int64 / for STRING type: enum, date-time".
GEMINI_FORMATS = {
    "STRING": {"enum", "date-time"},
    "NUMBER": {"float", "double"},
    "INTEGER": {"int32", "int64"},
}
COUNT_FIELDS = (
    "maxItems",
    "minItems",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
)

# docs/reference/gemini.md#schema: the keys responseJsonSchema supports (+ propertyOrdering).
JSON_SUBSET_FIELDS = frozenset(
    {
        "$id",
        "$defs",
        "$ref",
        "$anchor",
        "type",
        "format",
        "title",
        "description",
        "enum",
        "items",
        "prefixItems",
        "minItems",
        "maxItems",
        "minimum",
        "maximum",
        "anyOf",
        "oneOf",
        "properties",
        "additionalProperties",
        "required",
        "propertyOrdering",
    }
)
JSON_TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object", "null"})


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def schema_violations(schema: object, path: str = "parameters") -> list[str]:
    """Every way `schema` breaks the Gemini `Schema` rules of docs/reference/gemini.md#schema (empty
    when valid)."""
    if not isinstance(schema, dict):
        return [f"{path}: a Schema must be an object, got {type(schema).__name__}"]
    problems = [f"{path}: unknown field {key!r}" for key in schema if key not in GEMINI_FIELDS]
    kind = schema.get("type")
    if "type" in schema:
        if not isinstance(kind, str) or kind.upper() not in GEMINI_TYPES:
            problems.append(f"{path}.type: must be one of {sorted(GEMINI_TYPES)}, got {kind!r}")
            kind = None
        else:
            kind = kind.upper()
    if "format" in schema:
        allowed = GEMINI_FORMATS.get(kind or "", set())
        if schema["format"] not in allowed:
            problems.append(f"{path}.format: {schema['format']!r} not allowed for type {kind}")
    if "enum" in schema:
        values = schema["enum"]
        if kind != "STRING":
            problems.append(f"{path}.enum: enum only allowed for STRING type")
        if not isinstance(values, list) or not values:
            problems.append(f"{path}.enum: must be a non-empty list")
        elif not all(isinstance(value, str) for value in values):
            problems.append(f"{path}.enum: values must be strings")
    for key in ("title", "description", "pattern"):
        if key in schema and not isinstance(schema[key], str):
            problems.append(f"{path}.{key}: must be a string")
    if "nullable" in schema and not isinstance(schema["nullable"], bool):
        problems.append(f"{path}.nullable: must be a bool")
    for key in COUNT_FIELDS:
        if key in schema and not _is_count(schema[key]):
            problems.append(f"{path}.{key}: must be a non-negative integer")
    for key in ("minimum", "maximum"):
        if key in schema and not _is_number(schema[key]):
            problems.append(f"{path}.{key}: must be a number")
    if kind == "OBJECT" and not schema.get("properties"):
        problems.append(f"{path}.properties: should be non-empty for OBJECT type")
    items = schema.get("items")
    if kind == "ARRAY" and not (isinstance(items, dict) and "type" in items):
        problems.append(f"{path}.items: an ARRAY needs an items schema with a type")
    problems.extend(_children_violations(schema, path))
    return problems


def _children_violations(schema: dict[str, Any], path: str) -> list[str]:
    problems: list[str] = []
    properties = schema.get("properties", {})
    if not isinstance(properties, dict):
        problems.append(f"{path}.properties: must be an object")
        properties = {}
    for name, child in properties.items():
        problems.extend(schema_violations(child, f"{path}.properties[{name}]"))
    for key in ("required", "propertyOrdering"):
        if key not in schema:
            continue
        names = schema[key]
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            problems.append(f"{path}.{key}: must be a list of strings")
            continue
        problems.extend(
            f"{path}.{key}: {name!r} is not a property" for name in names if name not in properties
        )
    if "items" in schema:
        problems.extend(schema_violations(schema["items"], f"{path}.items"))
    if "anyOf" in schema:
        branches = schema["anyOf"]
        if not isinstance(branches, list) or not branches:
            problems.append(f"{path}.anyOf: must be a non-empty list")
        else:
            for index, branch in enumerate(branches):
                problems.extend(schema_violations(branch, f"{path}.anyOf[{index}]"))
    return problems


def json_subset_violations(schema: object, path: str = "parametersJsonSchema") -> list[str]:
    """Every way `schema` leaves the responseJsonSchema subset of docs/reference/gemini.md#schema
    (empty when valid)."""
    if isinstance(schema, bool):
        return []
    if not isinstance(schema, dict):
        return [f"{path}: a schema must be an object or a bool"]
    problems = [f"{path}: unsupported {key!r}" for key in schema if key not in JSON_SUBSET_FIELDS]
    if "$ref" in schema:
        # "If $ref is set on a sub-schema, no other properties, except for than those
        # starting as a $, may be set."
        problems.extend(f"{path}: {key!r} beside $ref" for key in schema if not key.startswith("$"))
    kind = schema.get("type")
    if "type" in schema:
        kinds = kind if isinstance(kind, list) else [kind]
        if not kinds or not all(isinstance(k, str) and k in JSON_TYPES for k in kinds):
            problems.append(f"{path}.type: invalid {kind!r}")
    if "enum" in schema:
        values = schema["enum"]
        # "enum (for strings and numbers)"
        if not isinstance(values, list) or not all(
            isinstance(v, str) or _is_number(v) for v in values
        ):
            problems.append(f"{path}.enum: only strings and numbers")
    for key in ("$defs", "properties"):
        for name, child in (schema.get(key) or {}).items():
            problems.extend(json_subset_violations(child, f"{path}.{key}[{name}]"))
    for key in ("items", "additionalProperties"):
        if key in schema:
            problems.extend(json_subset_violations(schema[key], f"{path}.{key}"))
    for key in ("prefixItems", "anyOf", "oneOf"):
        for index, child in enumerate(schema.get(key) or ()):
            problems.extend(json_subset_violations(child, f"{path}.{key}[{index}]"))
    return problems


def to_json_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The JSON Schema meaning of a (valid) Gemini `Schema`, for checking instances."""
    out: dict[str, Any] = {}
    if "type" in schema:
        out["type"] = schema["type"].lower()
    if "enum" in schema:
        out["enum"] = list(schema["enum"])
    for key in ("minimum", "maximum", "pattern", "required", *COUNT_FIELDS):
        if key in schema:
            out[key] = schema[key]
    if "properties" in schema:
        out["properties"] = {k: to_json_schema(v) for k, v in schema["properties"].items()}
    if "items" in schema:
        out["items"] = to_json_schema(schema["items"])
    if "anyOf" in schema:
        out["anyOf"] = [to_json_schema(branch) for branch in schema["anyOf"]]
    if schema.get("nullable") is True and out:
        return {"anyOf": [out, {"type": "null"}]}
    return out

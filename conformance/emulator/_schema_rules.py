"""Validation rules of one Gemini Schema, after it parsed (docs/reference/gemini.md#schema).

Operation: `schema_problems(schema, path, out)` appends `(field path, problem)` pairs, in the
`* GenerateContentRequest.<path>: <problem>` style Google uses for request validation, for:
- a STRING `format` other than `enum` / `date-time`:
  `only 'enum' and 'date-time' are supported for STRING type` (gemini-cli#3178, verbatim);
- an `enum` on a schema whose type is not STRING (or missing):
  `function declaration enum only allowed for STRING type` (9router PR #380; the `.enum` path
  suffix is not verified);
- an OBJECT without properties: `properties: should be non-empty for OBJECT type`;
- a `required` name that is not a property: `required[i]: property is not defined`;
- an ARRAY without a typed `items` schema: `items: missing field.`.
Paths name map entries by key (`properties[links]`), as Google's validator does, unlike the
parser's `properties[4].value`.

Goal and plan: one recursive walk over `properties`, `items` and `anyOf`; the caller has already
run the parse pass, which bounds the nesting depth and guarantees field types.
"""

from __future__ import annotations

from typing import Any

from conformance.emulator._json_access import as_list, get

STRING_FORMATS = frozenset({"enum", "date-time"})
FORMAT_PROBLEM = "only 'enum' and 'date-time' are supported for STRING type"
ENUM_PROBLEM = "function declaration enum only allowed for STRING type"
# Both quoted in public code (Gemini API and Vertex), not in the reference. A proto3 map has no
# presence, so a missing `properties` is the same as an empty one.
EMPTY_OBJECT_PROBLEM = "should be non-empty for OBJECT type"
UNDEFINED_REQUIRED_PROBLEM = "property is not defined"
# An ARRAY needs an `items` schema that has a `type` (an `anyOf`-only `items` fails the same
# way, as public code reports).
MISSING_ITEMS_PROBLEM = "missing field."


def schema_problems(schema: object, path: str, out: list[tuple[str, str]]) -> None:
    """Append the validation problems of `schema` (a parsed Schema object) found at `path`."""
    if type(schema) is dict:
        _check(schema, [path], out)


def _check(schema: dict[str, Any], trail: list[str], out: list[tuple[str, str]]) -> None:
    # `trail` holds the path segments; they are joined only when a problem is found.
    schema_type = _type_name(schema.get("type"))
    properties = schema.get("properties")
    if schema_type == "STRING":
        schema_format = schema.get("format")
        if schema_format is not None and schema_format not in STRING_FORMATS:
            out.append(("".join(trail) + ".format", FORMAT_PROBLEM))
    elif schema.get("enum"):
        out.append(("".join(trail) + ".enum", ENUM_PROBLEM))
    if schema_type == "OBJECT" and not properties:
        out.append(("".join(trail) + ".properties", EMPTY_OBJECT_PROBLEM))
    elif schema_type == "ARRAY":
        items = schema.get("items")
        if type(items) is not dict or items.get("type") is None:
            out.append(("".join(trail) + ".items", MISSING_ITEMS_PROBLEM))
    required = schema.get("required")
    if required:
        _check_required(required, properties, trail, out)
    if type(properties) is dict:
        for key, child in properties.items():
            if type(child) is dict:
                trail.append(f".properties[{key}]")
                _check(child, trail, out)
                trail.pop()
    items = schema.get("items")
    if type(items) is dict:
        trail.append(".items")
        _check(items, trail, out)
        trail.pop()
    for index, child in enumerate(as_list(get(schema, "anyOf", "any_of"))):
        if type(child) is dict:
            trail.append(f".any_of[{index}]")
            _check(child, trail, out)
            trail.pop()


def _check_required(
    required: Any, properties: Any, trail: list[str], out: list[tuple[str, str]]
) -> None:
    names = properties if type(properties) is dict else {}
    for index, name in enumerate(as_list(required)):
        if name not in names:
            out.append(("".join(trail) + f".required[{index}]", UNDEFINED_REQUIRED_PROBLEM))


def _type_name(value: Any) -> str:
    if type(value) is str:
        return value if value == "STRING" else value.upper()
    if type(value) is int:  # proto JSON accepts enum numbers: STRING = 1
        return "STRING" if value == 1 else str(value)
    return ""

"""Validation rules of one Gemini Schema, after it parsed (reference/protocols.md §B.3).

Operation: `schema_problems(schema, path, out)` appends `(field path, problem)` pairs, in the
`* GenerateContentRequest.<path>: <problem>` style Google uses for request validation, for:
- a STRING `format` other than `enum` / `date-time`:
  `only 'enum' and 'date-time' are supported for STRING type` (gemini-cli#3178, verbatim);
- an `enum` on a schema whose type is not STRING (or missing):
  `function declaration enum only allowed for STRING type` (9router PR #380; the `.enum` path
  suffix is not verified).
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


def schema_problems(schema: object, path: str, out: list[tuple[str, str]]) -> None:
    """Append the validation problems of `schema` (a parsed Schema object) found at `path`."""
    if type(schema) is not dict:
        return
    schema_type = _type_name(schema.get("type"))
    schema_format = schema.get("format")
    if (
        schema_type == "STRING"
        and schema_format is not None
        and schema_format not in STRING_FORMATS
    ):
        out.append((f"{path}.format", FORMAT_PROBLEM))
    if schema.get("enum") and schema_type != "STRING":
        out.append((f"{path}.enum", ENUM_PROBLEM))
    properties = schema.get("properties")
    if type(properties) is dict:
        for key, child in properties.items():
            schema_problems(child, f"{path}.properties[{key}]", out)
    schema_problems(schema.get("items"), f"{path}.items", out)
    for index, child in enumerate(as_list(get(schema, "anyOf", "any_of"))):
        schema_problems(child, f"{path}.any_of[{index}]", out)


def _type_name(value: Any) -> str:
    if type(value) is str:
        return value.upper()
    if type(value) is int:  # proto JSON accepts enum numbers: STRING = 1
        return "STRING" if value == 1 else str(value)
    return ""

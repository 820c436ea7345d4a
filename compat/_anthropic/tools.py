"""Anthropic `tools` and `tool_choice` -> Gemini `tools` and `toolConfig`.

Operations
    function_declarations(tools, *, schema_mode) -> (declarations, names)   cached
    tool_config(tool_choice, names) -> toolConfig dict, or None

Goals
    Custom tools become FunctionDeclarations whose names obey Gemini's rule
    (docs/reference/gemini.md#tools-and-tool-config) and whose
    `input_schema` is cleaned by `clean_schema` into `parameters` or `parametersJsonSchema`. Server
    tools (typed `web_search_20250305`, ...) are refused: Gemini's built-in tools are not the same
    tools. The four tool_choice variants map as in docs/reference/stop-reasons.md#tool-choice.

Plan
    Clients send the same tools on every turn of a session, and cleaning twenty schemas is
    the most expensive step of a request, so declarations are cached in a bounded LRU.
    The key is the tools' exact JSON encoding (orjson, no passthrough of dataclasses,
    datetimes or subclasses) plus the schema mode, and a miss converts the tools decoded
    from that very key: the cached value is a pure function of its key, so it can never
    be stale. Tools orjson cannot encode (lone surrogates, huge ints, non-JSON values) are
    converted uncached. Cached declarations are shared between results: callers treat
    the converted request as read-only.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import orjson

from compat._anthropic.fields import (
    child,
    dict_field,
    expect_bool,
    expect_dict,
    expect_str,
    item,
    str_field,
)
from compat._errors import RequestError
from compat._nesting import check_nesting
from compat._options import SchemaMode
from compat._schema import clean_schema

__all__ = ["CACHE_SIZE", "function_declarations", "tool_config"]

Declaration = dict[str, Any]

CACHE_SIZE = 32
# FunctionDeclaration.name: a letter or underscore, then letters, digits, `_.:-`; max 128
# (docs/reference/gemini.md#tools-and-tool-config).
_TOOL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:\-]{0,127}")
_MAX_DECLARATIONS = 512  # Gemini's limit per request
_KEY_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def function_declarations(
    tools: list[Any], *, schema_mode: SchemaMode
) -> tuple[tuple[Declaration, ...], frozenset[str]]:
    """The FunctionDeclarations of `tools` and their names (RequestError if invalid)."""
    try:
        key = orjson.dumps(tools, option=_KEY_OPTIONS)
    except orjson.JSONEncodeError:
        return _declarations(tools, schema_mode)
    return _cached_declarations(key, schema_mode)


@lru_cache(maxsize=CACHE_SIZE)
def _cached_declarations(
    key: bytes, schema_mode: SchemaMode
) -> tuple[tuple[Declaration, ...], frozenset[str]]:
    return _declarations(orjson.loads(key), schema_mode)


def _declarations(
    tools: list[Any], schema_mode: SchemaMode
) -> tuple[tuple[Declaration, ...], frozenset[str]]:
    check_nesting(tools, ("tools",), 2)
    if len(tools) > _MAX_DECLARATIONS:
        raise RequestError("tools", f"Gemini accepts at most {_MAX_DECLARATIONS} tools")
    declarations: list[Declaration] = []
    names: set[str] = set()
    for index, tool in enumerate(tools):
        path = item("tools", index)
        declaration = _declaration(expect_dict(tool, path), path, schema_mode)
        if declaration["name"] in names:
            raise RequestError(
                child(path, "name"), f"tool names must be unique: {declaration['name']}"
            )
        names.add(declaration["name"])
        declarations.append(declaration)
    return tuple(declarations), frozenset(names)


def _declaration(tool: dict[str, Any], path: str, schema_mode: SchemaMode) -> Declaration:
    kind = tool.get("type")
    if kind is not None and kind != "custom":
        kind = expect_str(kind, child(path, "type"))
        raise RequestError(
            child(path, "type"), f"server tool {kind!r} is not supported by this gateway"
        )
    name_path = child(path, "name")
    name = str_field(tool, "name", path)
    if not _TOOL_NAME.fullmatch(name):
        raise RequestError(
            name_path,
            "Gemini requires tool names to start with a letter or underscore and contain only "
            "a-z, A-Z, 0-9, underscores, dots, colons and dashes (at most 128 characters)",
        )
    schema_path = child(path, "input_schema")
    schema = dict_field(tool, "input_schema", path)
    if schema.get("type") != "object":
        raise RequestError(child(schema_path, "type"), "input_schema must have type 'object'")
    declaration: Declaration = {"name": name}
    description = tool.get("description")
    if description is not None and expect_str(description, child(path, "description")):
        declaration["description"] = description
    cleaned = clean_schema(schema, mode=schema_mode)
    if schema_mode == "parametersJsonSchema" or cleaned.get("properties"):
        declaration[schema_mode] = cleaned
    # else: a Gemini Schema OBJECT must list properties ("should be non-empty for OBJECT
    # type"); a tool that takes no arguments is declared without `parameters`.
    return declaration


def tool_config(tool_choice: object, names: frozenset[str]) -> dict[str, Any] | None:
    """Gemini toolConfig for an Anthropic tool_choice (None: nothing to send)."""
    choice = expect_dict(tool_choice, "tool_choice")
    kind = str_field(choice, "type", "tool_choice")
    parallel = choice.get("disable_parallel_tool_use")
    # Gemini has no such switch (docs/reference/stop-reasons.md#tool-choice): accepted, unused
    if parallel is not None:
        expect_bool(parallel, "tool_choice.disable_parallel_tool_use")
    if kind == "auto" or kind == "none":
        # Without tools both mean exactly what sending no toolConfig means.
        return {"functionCallingConfig": {"mode": kind.upper()}} if names else None
    if kind == "any":
        if not names:
            raise RequestError("tool_choice", "tool_choice 'any' requires tools")
        return {"functionCallingConfig": {"mode": "ANY"}}
    if kind == "tool":
        name = str_field(choice, "name", "tool_choice")
        if name not in names:
            raise RequestError("tool_choice.name", f"no tool named {name!r} in tools")
        return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [name]}}
    raise RequestError("tool_choice.type", "expected one of 'auto', 'any', 'tool', 'none'")

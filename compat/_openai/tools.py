"""OpenAI `tools` / `tool_choice` (and legacy `functions` / `function_call`) → Gemini.

Operations: `function_declarations(request, options) -> list`, `tool_config(request,
declared_names) -> dict | None`.

Mapping (docs/reference/gemini.md#tools-and-tool-config,
docs/reference/stop-reasons.md#tool-choice):
- function tools → `functionDeclarations`; `parameters` through
  `clean_schema(..., mode=options.schema_mode)` into `parameters` or `parametersJsonSchema`;
  names must be valid Gemini names (`[A-Za-z_][A-Za-z0-9_.:-]*`, ≤ 128) and unique.
  Custom tools are refused.
- `tool_choice` none/auto/required/named → NONE/AUTO/ANY/ANY + `allowedFunctionNames`;
  `allowed_tools` with mode `required` → ANY + its names (mode `auto` has no Gemini form);
  a named or required choice needs declared tools. Legacy `function_call` likewise.
"""

from __future__ import annotations

import re

from compat._errors import RequestError
from compat._openai.fields import (
    JSONObject,
    optional_bool,
    optional_str,
    require_dict,
    require_list,
    require_str,
)
from compat._options import ConversionOptions
from compat._schema import clean_schema

_FUNCTION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]{0,127}")


def function_declarations(request: JSONObject, options: ConversionOptions) -> list[JSONObject]:
    """The `functionDeclarations` for `tools` and legacy `functions`, in order."""
    declarations: list[JSONObject] = []
    tools = request.get("tools")
    if tools is not None:
        for index, raw_tool in enumerate(require_list(tools, "tools")):
            path = f"tools[{index}]"
            tool = require_dict(raw_tool, path)
            if tool.get("type") != "function":
                raise RequestError(f"{path}.type", "only function tools can be sent to Gemini")
            function = require_dict(tool.get("function"), f"{path}.function")
            declarations.append(_declaration(function, f"{path}.function", options))
    functions = request.get("functions")
    if functions is not None:
        for index, raw_function in enumerate(require_list(functions, "functions")):
            path = f"functions[{index}]"
            declarations.append(_declaration(require_dict(raw_function, path), path, options))
    seen: set[str] = set()
    for declaration in declarations:
        if declaration["name"] in seen:
            raise RequestError("tools", f"duplicate function name {declaration['name']!r}")
        seen.add(declaration["name"])
    return declarations


def _declaration(function: JSONObject, path: str, options: ConversionOptions) -> JSONObject:
    name = require_str(function.get("name"), f"{path}.name")
    if _FUNCTION_NAME.fullmatch(name) is None:
        raise RequestError(
            f"{path}.name",
            "Gemini function names start with a letter or underscore and contain only "
            "letters, digits, '_', '.', ':' or '-' (at most 128 characters)",
        )
    declaration: JSONObject = {"name": name}
    description = optional_str(function, "description", f"{path}.")
    if description:
        declaration["description"] = description
    optional_bool(function, "strict", f"{path}.")
    parameters = function.get("parameters")
    if parameters is not None:
        schema = require_dict(parameters, f"{path}.parameters")
        mode = options.schema_mode
        cleaned = clean_schema(schema, mode=mode)
        # A Gemini Schema OBJECT must list properties: a tool without any declares none.
        if mode == "parametersJsonSchema" or cleaned.get("properties"):
            declaration[mode] = cleaned
    return declaration


def tool_config(request: JSONObject, declared: set[str]) -> JSONObject | None:
    """`toolConfig` for `tool_choice` (or legacy `function_call`), None when unset."""
    if request.get("tool_choice") is not None:
        config = _function_calling_config(request["tool_choice"], "tool_choice", declared)
    elif request.get("function_call") is not None:
        config = _function_calling_config(request["function_call"], "function_call", declared)
    else:
        return None
    if config is None:
        return None
    return {"functionCallingConfig": config}


def _function_calling_config(choice: object, path: str, declared: set[str]) -> JSONObject | None:
    if choice in ("none", "auto"):
        return {"mode": str(choice).upper()} if declared else None
    if choice == "required":
        _require_tools(declared, path)
        return {"mode": "ANY"}
    if isinstance(choice, str):
        raise RequestError(
            path, f"expected 'none', 'auto', 'required' or an object, got {choice!r}"
        )
    selected = require_dict(choice, path)
    if selected.get("type") == "allowed_tools":
        return _allowed_tools(
            require_dict(selected.get("allowed_tools"), f"{path}.allowed_tools"),
            f"{path}.allowed_tools",
            declared,
        )
    if "name" in selected and "type" not in selected:  # legacy function_call {"name"}
        name = require_str(selected.get("name"), f"{path}.name")
        name_path = f"{path}.name"
    else:
        if selected.get("type") != "function":
            raise RequestError(f"{path}.type", "expected 'function' or 'allowed_tools'")
        function = require_dict(selected.get("function"), f"{path}.function")
        name = require_str(function.get("name"), f"{path}.function.name")
        name_path = f"{path}.function.name"
    _require_declared(name, declared, name_path)
    return {"mode": "ANY", "allowedFunctionNames": [name]}


def _allowed_tools(allowed: JSONObject, path: str, declared: set[str]) -> JSONObject:
    if allowed.get("mode") != "required":
        raise RequestError(
            f"{path}.mode", "only mode 'required' can be expressed to Gemini (as mode ANY)"
        )
    names = []
    for index, raw_tool in enumerate(require_list(allowed.get("tools"), f"{path}.tools")):
        tool_path = f"{path}.tools[{index}]"
        function = require_dict(
            require_dict(raw_tool, tool_path).get("function"), f"{tool_path}.function"
        )
        name = require_str(function.get("name"), f"{tool_path}.function.name")
        _require_declared(name, declared, f"{tool_path}.function.name")
        names.append(name)
    if not names:
        raise RequestError(f"{path}.tools", "at least one tool is required")
    return {"mode": "ANY", "allowedFunctionNames": names}


def _require_tools(declared: set[str], path: str) -> None:
    if not declared:
        raise RequestError(path, "a tool must be required only when tools are given")


def _require_declared(name: str, declared: set[str], path: str) -> None:
    if name not in declared:
        raise RequestError(path, f"{name!r} is not one of the request's tools")

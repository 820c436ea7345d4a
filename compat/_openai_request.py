"""OpenAI Chat Completions request → Gemini generateContent request.

Operation: `openai_to_gemini_request(openai_request, *, options=None) -> dict`, a plain
Gemini API body (`contents`, `systemInstruction`, `tools`, `toolConfig`,
`generationConfig`); the caller wraps it for Code Assist.

Goal: every OpenAI request either converts faithfully or fails with
`RequestError(path, message)`; never KeyError/TypeError, never a silently dropped feature
that would change the answer. Plan: messages go to `compat._openai_messages`; this module
maps the parameters:
- `tools` (function type) → one `functionDeclarations` tool; `parameters` through
  `clean_schema(..., mode=options.schema_mode)` into `parameters` or `parametersJsonSchema`.
  Legacy `functions` likewise.
- `tool_choice` none/auto/required/named → NONE/AUTO/ANY/ANY + `allowedFunctionNames`;
  `allowed_tools` with mode `required` → ANY + its names; legacy `function_call` likewise.
- `max_completion_tokens` (else the deprecated `max_tokens`) → `maxOutputTokens`;
  `temperature`, `top_p`, `seed`, `presence_penalty`, `frequency_penalty` → their Gemini
  names; `stop` (a string or up to 5 strings) → `stopSequences`; `n` must be 1.
- `response_format` json_object → `responseMimeType: application/json`; json_schema → also
  `responseJsonSchema` (cleaned as JSON Schema).
- `reasoning_effort` → `thinkingConfig` with `includeThoughts: true` (the thoughts come back
  as `reasoning_content`): Gemini 3 (`options.upstream_model`) gets `thinkingLevel`
  (minimal/low/medium/high; xhigh → HIGH); other models get `thinkingBudget` minimal 512,
  low 1024, medium 8192, high 24576, xhigh 32768 (Google's OpenAI-compatible endpoint uses
  1K/8K/24K for low/medium/high). `none` → `includeThoughts: false` without a budget
  (docs/mapping.md: some models reject a budget of 0).
- Accepted and ignored (no Gemini equivalent that changes the answer): `model`, `stream`,
  `stream_options`, `parallel_tool_calls`, `user`, `metadata`, `store`, `service_tier`,
  `prompt_cache_key`, `safety_identifier`, `logprobs: false`, empty `logit_bias`.
- Refused: `n` ≠ 1, `logprobs: true`, a non-empty `logit_bias`, audio output, custom tools.
"""

from __future__ import annotations

import re
from typing import Any

from compat._errors import RequestError
from compat._openai_fields import (
    JSONObject,
    describe,
    optional_bool,
    optional_int,
    optional_number,
    optional_str,
    require_dict,
    require_list,
    require_str,
)
from compat._openai_messages import convert_messages
from compat._options import ConversionOptions
from compat._schema import clean_schema

MAX_STOP_SEQUENCES = 5
_FUNCTION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]{0,127}")
_THINKING_LEVELS = {
    "minimal": "MINIMAL",
    "low": "LOW",
    "medium": "MEDIUM",
    "high": "HIGH",
    "xhigh": "HIGH",
}
_THINKING_BUDGETS = {"minimal": 512, "low": 1024, "medium": 8192, "high": 24576, "xhigh": 32768}
_DEFAULT_OPTIONS = ConversionOptions()


def openai_to_gemini_request(
    openai_request: dict[str, Any], *, options: ConversionOptions | None = None
) -> dict[str, Any]:
    """Convert an OpenAI Chat Completions request body to a Gemini generateContent body.

    Raises `RequestError` (the client's fault, a 400) for anything that cannot be
    converted faithfully; its `path` names the offending value.
    """
    options = options or _DEFAULT_OPTIONS
    request = require_dict(openai_request, "")
    _check_unsupported(request)
    gemini_3 = (options.upstream_model or "").startswith("gemini-3")
    contents, system_instruction = convert_messages(request.get("messages"), gemini_3=gemini_3)
    body: JSONObject = {"contents": contents}
    if system_instruction is not None:
        body["systemInstruction"] = system_instruction
    declarations = _function_declarations(request, options)
    if declarations:
        body["tools"] = [{"functionDeclarations": declarations}]
    tool_config = _tool_config(request, {declaration["name"] for declaration in declarations})
    if tool_config is not None:
        body["toolConfig"] = tool_config
    generation_config = _generation_config(request, gemini_3=gemini_3)
    if generation_config:
        body["generationConfig"] = generation_config
    return body


def _check_unsupported(request: JSONObject) -> None:
    model = request.get("model")
    if model is not None:
        require_str(model, "model")
    optional_bool(request, "stream", "")
    optional_bool(request, "parallel_tool_calls", "")
    stream_options = request.get("stream_options")
    if stream_options is not None:
        optional_bool(
            require_dict(stream_options, "stream_options"), "include_usage", "stream_options."
        )
    n = optional_int(request, "n", "")
    if n is not None and n != 1:
        raise RequestError("n", "only n=1 is supported: Gemini returns one candidate here")
    if optional_bool(request, "logprobs", ""):
        raise RequestError("logprobs", "logprobs are not supported")
    logit_bias = request.get("logit_bias")
    if logit_bias is not None and require_dict(logit_bias, "logit_bias"):
        raise RequestError("logit_bias", "logit_bias is not supported by Gemini")
    modalities = request.get("modalities")
    if modalities is not None and any(m != "text" for m in require_list(modalities, "modalities")):
        raise RequestError("modalities", "only text output is supported")
    if request.get("audio") is not None:
        raise RequestError("audio", "audio output is not supported")


def _function_declarations(request: JSONObject, options: ConversionOptions) -> list[JSONObject]:
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
        declaration[mode] = clean_schema(schema, mode=mode)
    return declaration


def _tool_config(request: JSONObject, declared: set[str]) -> JSONObject | None:
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


def _generation_config(request: JSONObject, *, gemini_3: bool) -> JSONObject:
    config: JSONObject = {}
    max_tokens = optional_int(request, "max_completion_tokens", "", minimum=1)
    legacy_max_tokens = optional_int(request, "max_tokens", "", minimum=1)
    if max_tokens is None:
        max_tokens = legacy_max_tokens
    if max_tokens is not None:
        config["maxOutputTokens"] = max_tokens
    for openai_name, gemini_name, low, high in (
        ("temperature", "temperature", 0.0, 2.0),
        ("top_p", "topP", 0.0, 1.0),
        ("presence_penalty", "presencePenalty", -2.0, 2.0),
        ("frequency_penalty", "frequencyPenalty", -2.0, 2.0),
    ):
        value = optional_number(request, openai_name, "", minimum=low, maximum=high)
        if value is not None:
            config[gemini_name] = value
    seed = optional_int(request, "seed", "")
    if seed is not None:
        config["seed"] = seed
    stop_sequences = _stop_sequences(request.get("stop"))
    if stop_sequences:
        config["stopSequences"] = stop_sequences
    config.update(_response_format(request.get("response_format")))
    thinking = _thinking_config(request.get("reasoning_effort"), gemini_3=gemini_3)
    if thinking is not None:
        config["thinkingConfig"] = thinking
    return config


def _stop_sequences(stop: object) -> list[str]:
    if stop is None:
        return []
    sequences = [stop] if isinstance(stop, str) else require_list(stop, "stop")
    if len(sequences) > MAX_STOP_SEQUENCES:
        raise RequestError("stop", f"at most {MAX_STOP_SEQUENCES} stop sequences are supported")
    for index, sequence in enumerate(sequences):
        path = "stop" if isinstance(stop, str) else f"stop[{index}]"
        if not require_str(sequence, path):
            raise RequestError(path, "a stop sequence must not be empty")
    return list(sequences)


def _response_format(response_format: object) -> JSONObject:
    if response_format is None:
        return {}
    spec = require_dict(response_format, "response_format")
    kind = spec.get("type")
    if kind == "text":
        return {}
    if kind == "json_object":
        return {"responseMimeType": "application/json"}
    if kind == "json_schema":
        json_schema = require_dict(spec.get("json_schema"), "response_format.json_schema")
        config: JSONObject = {"responseMimeType": "application/json"}
        schema = json_schema.get("schema")
        if schema is not None:
            path = "response_format.json_schema.schema"
            config["responseJsonSchema"] = clean_schema(
                require_dict(schema, path), mode="parametersJsonSchema"
            )
        return config
    raise RequestError("response_format.type", "expected 'text', 'json_object' or 'json_schema'")


def _thinking_config(effort: object, *, gemini_3: bool) -> JSONObject | None:
    if effort is None:
        return None
    if effort == "none":
        return {"includeThoughts": False}
    if not isinstance(effort, str) or effort not in _THINKING_BUDGETS:
        raise RequestError(
            "reasoning_effort",
            f"expected none, minimal, low, medium, high or xhigh, got {describe(effort) if not isinstance(effort, str) else repr(effort)}",
        )
    if gemini_3:
        return {"includeThoughts": True, "thinkingLevel": _THINKING_LEVELS[effort]}
    return {"includeThoughts": True, "thinkingBudget": _THINKING_BUDGETS[effort]}

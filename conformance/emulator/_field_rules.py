"""Validation rules of `tools` and `generationConfig`, after the parse pass
(docs/reference/gemini.md#tools-and-tool-config, #generation-config).

Operations, each appending `(field path, problem)` pairs in Google's
`* GenerateContentRequest.<path>: <problem>` style:
- `tool_problems(tools, out)`: function names (`[A-Za-z_][A-Za-z0-9_.:-]*`, at most 128), at most 512
  declarations, `parameters` xor `parametersJsonSchema` (and `response` xor `responseJsonSchema`),
  and the Schema rules of `_schema_rules` on `parameters` and `response`.
- `tool_config_problems(tool_config, out)`: `allowedFunctionNames` only with mode ANY or VALIDATED
  (the proto comment: "Only set when the Mode is ANY").
- `generation_config_problems(config, out)`: at most 5 stop sequences, temperature in [0, 2], topP in
  [0, 1], topK, candidateCount and maxOutputTokens positive, thinkingBudget >= -1, a known
  `responseMimeType`, `responseSchema` xor `responseJsonSchema`, and the Schema rules on
  `responseSchema`.
- `thinking_config_problem(config, model)`: a budget and a level together, and the model-dependent
  budget rules (Gemini 2.5 Pro and Gemini 3 Pro cannot disable thinking; 2.5 Pro takes 128-32768).

The limits come from the reference; their wording is not quoted there. The texts for invalid and
empty function names, response MIME types and the thinking errors are Google's as quoted in
public code (issues and client code, not the reference); the others are written in Google's style
and are not verified. Parameter names are deliberately not checked: the reference quotes the
documented rule ("letters, digits, underscores, at most 64") but no observed rejection, and real
Claude Code tools (Grep's `-A`, `-B`, `-C`) break it.
"""

from __future__ import annotations

import math
import re
from typing import Any

from conformance.emulator._json_access import dicts, get
from conformance.emulator._schema_rules import schema_problems

MAX_FUNCTION_DECLARATIONS = 512
MAX_STOP_SEQUENCES = 5
FUNCTION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:\-]{0,127}")
# Google's text (quoted in public code) says "maximum length of 64"; the limit enforced here is the
# reference's 128 (python-genai docstring), so the text says 128 to match it.
INVALID_NAME_PROBLEM = (
    "Invalid function name. Must start with a letter or an underscore. Must be alphameric "
    "(a-z, A-Z, 0-9), underscores (_), dots (.), colons (:), or dashes (-), with a maximum "
    "length of 128."
)
EMPTY_NAME_PROBLEM = "Name cannot be empty."
BUDGET_ZERO_MESSAGE = "Budget 0 is invalid. This model only works in thinking mode."
BUDGET_AND_LEVEL_MESSAGE = "You can only set only one of thinking budget and thinking level."
# Gemini 2.5 Pro's budget range, as its refusals state it (quoted in public code).
_PRO_25 = "gemini-2.5-pro"
_PRO_25_BUDGETS = (128, 32768)
RESPONSE_MIME_TYPES = frozenset(
    {"text/plain", "application/json", "application/xml", "application/yaml", "text/x.enum"}
)
MIME_TYPE_PROBLEM = (  # as quoted in public code
    "allowed mimetypes are text/plain, application/json, application/xml, application/yaml and "
    "text/x.enum"
)
NAMES_NEED_ANY_PROBLEM = "allowed_function_names can be set only when the mode is ANY or VALIDATED"
FORCING_MODES = frozenset({"ANY", "VALIDATED", "2", "4"})  # names or enum numbers


def tool_config_problems(tool_config: Any, out: list[tuple[str, str]]) -> None:
    """Append the problems of `toolConfig`: allowed function names only with mode ANY/VALIDATED."""
    if type(tool_config) is not dict:
        return
    calling = get(tool_config, "functionCallingConfig", "function_calling_config")
    if type(calling) is not dict:
        return
    names = get(calling, "allowedFunctionNames", "allowed_function_names")
    if names and str(calling.get("mode") or "").upper() not in FORCING_MODES:
        where = "tool_config.function_calling_config.allowed_function_names"
        out.append((where, NAMES_NEED_ANY_PROBLEM))


def tool_problems(tools: Any, out: list[tuple[str, str]]) -> None:
    """Append the problems of every function declaration in `tools`."""
    total = 0
    for tool_index, tool in dicts(tools):
        declarations = get(tool, "functionDeclarations", "function_declarations")
        for index, declaration in dicts(declarations):
            total += 1
            path = f"tools[{tool_index}].function_declarations[{index}]"
            _declaration_problems(declaration, path, out)
    if total > MAX_FUNCTION_DECLARATIONS:
        problem = (
            f"at most {MAX_FUNCTION_DECLARATIONS} function declarations are supported, got {total}"
        )
        out.append(("tools", problem))


def _declaration_problems(
    declaration: dict[str, Any], path: str, out: list[tuple[str, str]]
) -> None:
    name = declaration.get("name")
    if not name:
        out.append((f"{path}.name", EMPTY_NAME_PROBLEM))
    elif FUNCTION_NAME.fullmatch(name) is None:
        out.append((f"{path}.name", INVALID_NAME_PROBLEM))
    _exclusive(declaration, _PARAMETERS_PAIR, path, out)
    _exclusive(declaration, _RESPONSE_PAIR, path, out)
    schema_problems(declaration.get("parameters"), f"{path}.parameters", out)
    schema_problems(declaration.get("response"), f"{path}.response", out)


# Mutually exclusive pairs: (Schema field, JSON Schema field), each as (camelCase, snake_case).
_ExclusivePair = tuple[tuple[str, str], tuple[str, str]]
_PARAMETERS_PAIR: _ExclusivePair = (
    ("parameters", "parameters"),
    ("parametersJsonSchema", "parameters_json_schema"),
)
_RESPONSE_PAIR: _ExclusivePair = (
    ("response", "response"),
    ("responseJsonSchema", "response_json_schema"),
)
_RESPONSE_SCHEMA_PAIR: _ExclusivePair = (
    ("responseSchema", "response_schema"),
    ("responseJsonSchema", "response_json_schema"),
)


def _exclusive(
    obj: dict[str, Any], pair: _ExclusivePair, path: str, out: list[tuple[str, str]]
) -> None:
    (schema_camel, schema_name), (json_schema_camel, json_schema_name) = pair
    has_schema = get(obj, schema_camel, schema_name) is not None
    if has_schema and get(obj, json_schema_camel, json_schema_name) is not None:
        out.append(
            (
                f"{path}.{json_schema_name}",
                f"{json_schema_name} and {schema_name} are mutually exclusive",
            )
        )


# (JSON camel name, proto name, lowest allowed, highest allowed)
_RANGES: tuple[tuple[str, str, float, float], ...] = (
    ("temperature", "temperature", 0.0, 2.0),
    ("topP", "top_p", 0.0, 1.0),
    ("topK", "top_k", 1.0, math.inf),
    ("candidateCount", "candidate_count", 1.0, 8.0),
    ("maxOutputTokens", "max_output_tokens", 1.0, math.inf),
)


def generation_config_problems(config: Any, out: list[tuple[str, str]]) -> None:
    """Append the problems of `generationConfig`."""
    if type(config) is not dict:
        return
    path = "generation_config"
    stops = get(config, "stopSequences", "stop_sequences")
    if type(stops) is list and len(stops) > MAX_STOP_SEQUENCES:
        problem = f"at most {MAX_STOP_SEQUENCES} stop sequences are supported, got {len(stops)}"
        out.append((f"{path}.stop_sequences", problem))
    for camel, snake, low, high in _RANGES:
        value = _number(get(config, camel, snake))
        if value is not None and not low <= value <= high:
            out.append((f"{path}.{snake}", _range_problem(snake, low, high)))
    thinking = get(config, "thinkingConfig", "thinking_config")
    if type(thinking) is dict:
        budget = _number(get(thinking, "thinkingBudget", "thinking_budget"))
        if budget is not None and budget < -1:
            problem = "thinking_budget must be -1 (automatic), 0 (disabled) or positive"
            out.append((f"{path}.thinking_config.thinking_budget", problem))
    mime_type = get(config, "responseMimeType", "response_mime_type")
    if mime_type and mime_type not in RESPONSE_MIME_TYPES:
        out.append((f"{path}.response_mime_type", MIME_TYPE_PROBLEM))
    _exclusive(config, _RESPONSE_SCHEMA_PAIR, path, out)
    if config.get("responseSchema") is not None:
        schema_problems(config["responseSchema"], f"{path}.response_schema", out)
    elif config.get("response_schema") is not None:
        schema_problems(config["response_schema"], f"{path}.response_schema", out)


def _range_problem(name: str, low: float, high: float) -> str:
    if math.isinf(high):
        return f"{name} must be at least {low:g}"
    return f"{name} must be between {low:g} and {high:g}, inclusive"


def thinking_config_problem(config: Any, model: str) -> str | None:
    """The thinking config's one-line errors: a budget and a level together (any model), a zero
    budget for a Pro model (it only works in thinking mode), a budget out of 2.5 Pro's range."""
    if type(config) is not dict:
        return None
    thinking = get(config, "thinkingConfig", "thinking_config")
    if type(thinking) is not dict:
        return None
    budget = _number(get(thinking, "thinkingBudget", "thinking_budget"))
    if budget is not None and get(thinking, "thinkingLevel", "thinking_level") is not None:
        return BUDGET_AND_LEVEL_MESSAGE
    if budget == 0 and _thinking_only(model):
        return BUDGET_ZERO_MESSAGE
    if budget is not None and budget != -1 and model.removeprefix("models/").startswith(_PRO_25):
        low, high = _PRO_25_BUDGETS
        if not low <= budget <= high:
            shown = int(budget) if budget.is_integer() else budget
            return (
                f"The thinking budget {shown} is invalid. "
                f"Please choose a value between {low} and {high}."
            )
    return None


def _thinking_only(model: str) -> bool:
    name = model.removeprefix("models/")
    return name.startswith("gemini-2.5-pro") or (name.startswith("gemini-3") and "-pro" in name)


def _number(value: Any) -> float | None:
    """A parsed numeric field as a float (proto JSON also allows numeric strings)."""
    if type(value) is int or type(value) is float:
        return float(value)
    if type(value) is str:
        try:
            return float(value)
        except ValueError:
            return None
    return None

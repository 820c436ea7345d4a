"""Strict like Google: the emulator refuses what the Gemini API / Code Assist would refuse.

Operations:
- `decode_request_body(raw)`: bytes -> JSON value, or Google's 400 for a syntax error.
- `validate_generate_content_request(body, model=..., surface=...)`: None, or the `Rejection` Google
  would answer (HTTP status, status, exact message, BadRequest field violations).
- `validate_count_tokens_request(body, surface=...)`: the same for `countTokens`.
- `validate_schema(schema, path)`: the problems of one Gemini Schema, for other parts' tests.
`surface="code_assist"` reads the v1internal envelope `{model, project, user_prompt_id?, request,
enabled_credit_types?}`; parser paths then start with `request.` (`'request.contents[801].parts[0]'`
in public quotes), while validation lines keep `* GenerateContentRequest.<path>` (as a public Code
Assist client test quotes `* GenerateContentRequest.contents: contents is not specified`).

Goal: the oracle of the conformance suite, written from docs/reference/gemini.md and
docs/reference/code-assist.md only (it never imports `compat`). Every message quoted by the
reference is reproduced exactly; messages the reference does not quote are marked "not verified"
where they are written.

Plan, in Google's own order:
1. the proto JSON parse pass (`_proto_json`): unknown fields anywhere in the tree, lists where no
   list belongs, oneof conflicts, wrong scalar types. All problems are reported at once, one line
   each, with a BadRequest detail.
2. request validation (`_turn_rules`, `_field_rules`, `_schema_rules`): empty contents and parts,
   parts without data, names, Schema formats and enums, limits and ranges. All problems at once,
   as `* GenerateContentRequest.<path>: <problem>\\n` lines, no details.
3. request-wide rules, first failure only, as Google's one-line messages: `cachedContent` with its
   own system instruction or tools, the thinking config (budget and level together, a zero budget
   for Pro models), roles and turn order, Gemini 3 thought signatures. Their relative order is
   not known from Google; this one is a choice.
The body is walked once per step; field tables and patterns are precomputed at import.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

import orjson

from conformance.emulator._field_rules import (
    generation_config_problems,
    thinking_config_problem,
    tool_config_problems,
    tool_problems,
)
from conformance.emulator._json_access import as_list, get
from conformance.emulator._proto_json import parse_violations
from conformance.emulator._schema_rules import schema_problems
from conformance.emulator._turn_rules import (
    read_content,
    read_contents,
    thought_signature_problem,
    turn_order_problem,
)
from conformance.emulator.google_errors import FieldViolation, Rejection, invalid_argument

__all__ = [
    "FieldViolation",
    "Rejection",
    "Surface",
    "decode_request_body",
    "validate_count_tokens_request",
    "validate_generate_content_request",
    "validate_schema",
]

Surface = Literal["gemini", "code_assist"]
CONTENTS_MISSING_PROBLEM = "contents is not specified"
CACHED_CONTENT_MESSAGE = (
    "CachedContent can not be used with GenerateContent request setting system_instruction, "
    "tools or tool_config.\n\nProposed fix: move those values to CachedContent from "
    "GenerateContent request."
)
# orjson's messages for a lone-surrogate escape (3.8: "unexpected end of hex escape"; later: "no low
# surrogate in string"); only these bodies are retried with the standard library.
_LONE_SURROGATE_SIGNS = ("low surrogate", "hex escape")
_LONE_SURROGATE = re.compile(
    "[\ud800-\udfff]"
)  # json.loads joins proper pairs, so any left is lone
_CACHE_OWNED_FIELDS = (
    ("systemInstruction", "system_instruction"),
    ("tools", "tools"),
    ("toolConfig", "tool_config"),
)


def decode_request_body(raw: bytes) -> tuple[Any, Rejection | None]:
    """Decode a request body; an empty body is `{}`, a syntax error Google's 400.

    Lone-surrogate escapes (`"\\ud800"`) are accepted, as Google's JSON parser accepts them (whether
    Gemini then refuses them is not verified, docs/reference/json.md#lone-surrogates), and repaired
    to U+FFFD here, once: everything downstream then holds valid Unicode and encodes to valid UTF-8.
    """
    if not raw.strip():
        return {}, None
    try:
        return orjson.loads(raw), None
    except orjson.JSONDecodeError as error:
        reason = _syntax_error_reason(raw, error)
        if not any(sign in str(error) for sign in _LONE_SURROGATE_SIGNS):
            return None, _syntax_rejection(reason)
    try:  # the standard library decodes lone-surrogate escapes, orjson does not
        return repair_surrogates(json.loads(raw, parse_constant=_refuse_constant)), None
    except (ValueError, RecursionError) as error:
        return None, _syntax_rejection(_syntax_error_reason(raw, error))


def repair_surrogates(value: Any) -> Any:
    """`value` with every lone surrogate in its strings and keys replaced by U+FFFD."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [repair_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {repair_surrogates(k): repair_surrogates(v) for k, v in value.items()}
    return value


def _syntax_error_reason(raw: bytes, error: Exception) -> str:
    # Wordings in the style of Google's JSON parser; not verified.
    if isinstance(error, RecursionError) or "depth limit" in str(error):
        return "Message too deep. Max recursion depth reached."
    if isinstance(error, UnicodeDecodeError):
        return "Invalid UTF-8 in string."
    position = getattr(error, "pos", 0)
    at_end = position >= len(raw.rstrip())
    return "Unexpected end of string." if at_end else "Unexpected token."


def _syntax_rejection(reason: str) -> Rejection:
    line = f"Invalid JSON payload received. {reason}"
    return invalid_argument(line, [FieldViolation("", line)])


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def validate_generate_content_request(
    body: object, *, model: str, surface: Surface = "gemini"
) -> Rejection | None:
    """None when Google would serve this generateContent body, else Google's rejection."""
    root = "GenerateContentRequest" if surface == "gemini" else "CAGenerateContentRequest"
    violations = parse_violations(body, root)
    if violations:
        return _parse_rejection(violations)
    assert isinstance(body, dict)
    request = body
    if surface == "code_assist":
        request = body.get("request") or {}
        envelope_model = body.get("model")
        model = envelope_model if isinstance(envelope_model, str) and envelope_model else model
    return _request_rejection(request, model)


def validate_count_tokens_request(body: object, *, surface: Surface = "gemini") -> Rejection | None:
    """None when Google would serve this countTokens body, else Google's rejection.

    Only the parse pass and the per-part rules apply: countTokens does not judge the conversation
    (docs/reference/code-assist.md#request-envelope: the CountTokens API wants each part's `data`
    oneof set).
    """
    root = "CountTokensRequest" if surface == "gemini" else "CACountTokenRequest"
    violations = parse_violations(body, root)
    if violations:
        return _parse_rejection(violations)
    assert isinstance(body, dict)
    request = body if surface == "gemini" else body.get("request") or {}
    contents = as_list(get(request, "contents"))
    inner = get(request, "generateContentRequest", "generate_content_request")
    problems: list[tuple[str, str]] = []
    if contents:
        read_contents(contents, problems)
    elif isinstance(inner, dict):
        read_contents(as_list(get(inner, "contents")), problems)
        problems = [(f"generate_content_request.{path}", text) for path, text in problems]
    # The `CountTokensRequest.` prefix follows the GenerateContentRequest pattern; not verified.
    return invalid_argument(_star_lines("CountTokensRequest", problems)) if problems else None


def validate_schema(schema: object, path: str) -> list[str]:
    """Every problem of one Gemini Schema (`parameters`, `responseSchema`) located at `path`.

    Parse-level problems come first, in the parser's wording with `path` as the location prefix;
    validation problems follow as `<path>: <problem>`. An empty list means Google accepts it.
    """
    violations = parse_violations(schema, "Schema", location=path)
    if violations:
        return [violation.description for violation in violations]
    problems: list[tuple[str, str]] = []
    schema_problems(schema, path, problems)
    return [f"{field}: {problem}" for field, problem in problems]


def _request_rejection(request: dict[str, Any], model: str) -> Rejection | None:
    contents = as_list(get(request, "contents"))
    config = get(request, "generationConfig", "generation_config")
    problems: list[tuple[str, str]] = []
    if not contents:
        problems.append(("contents", CONTENTS_MISSING_PROBLEM))
    turns = read_contents(contents, problems)
    system = get(request, "systemInstruction", "system_instruction")
    if type(system) is dict:
        read_content(system, "system_instruction", 0, problems, require_parts=False)
    tool_problems(get(request, "tools"), problems)
    tool_config_problems(get(request, "toolConfig", "tool_config"), problems)
    generation_config_problems(config, problems)
    if problems:
        return invalid_argument(_star_lines("GenerateContentRequest", problems))
    message = (
        _cached_content_problem(request)
        or thinking_config_problem(config, model)
        or turn_order_problem(turns)
        or thought_signature_problem(turns, model)
    )
    return invalid_argument(message) if message else None


def _cached_content_problem(request: dict[str, Any]) -> str | None:
    """A cached context already holds the system instruction and tools (wording quoted in public
    code as verified against the live API; not in the reference)."""
    if not get(request, "cachedContent", "cached_content"):
        return None
    for camel, snake in _CACHE_OWNED_FIELDS:
        if get(request, camel, snake):
            return CACHED_CONTENT_MESSAGE
    return None


def _parse_rejection(violations: list[FieldViolation]) -> Rejection:
    message = "\n".join(violation.description for violation in violations)
    return invalid_argument(message, violations)


def _star_lines(request_name: str, problems: list[tuple[str, str]]) -> str:
    return "".join(f"* {request_name}.{path}: {problem}\n" for path, problem in problems)

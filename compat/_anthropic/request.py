"""Anthropic Messages request -> Gemini generateContent request body.

Operations
    to_gemini_request(anthropic_request, *, options=None) -> dict

Goals
    Faithful: every field and content block of the Messages API
    (docs/reference/anthropic.md#request-body, #content-blocks) is converted or refused with a
    RequestError naming its JSON path; nothing is invented (no default temperature, no safety
    settings) and nothing is dropped in silence, except fields with no upstream meaning
    (`cache_control`, `metadata`, `stream`, `citations`, `disable_parallel_tool_use`) and unknown
    top-level fields (`context_management`, `output_config`, `service_tier`, `container`, ...),
    which are tolerated. Valid for Gemini: the body obeys the turn rules
    (docs/reference/gemini.md#turn-rules) and the schema subset (docs/reference/gemini.md#schema).
    Fast: the agent-sized request (20+ tools) converts in well under a millisecond; the
    tools, identical on every turn of a session, come from a cache.

Plan
    The request is read top-down: the contents (`.messages`), the system instruction
    (`system` plus leading system messages), the tools and tool_choice (`.tools`), the
    generationConfig (`.generation_config`). With `options.fast_path`, text-only requests
    take `.fast_path` instead, which produces the same body or hands the request back here.
    The result may share sub-objects with the input (tool inputs) and with the tools
    cache: treat it as read-only.
"""

from __future__ import annotations

from typing import Any

from compat._anthropic.fast_path import fast_gemini_request
from compat._anthropic.fields import (
    expect_bool,
    expect_dict,
    expect_list,
    expect_str,
    list_field,
    str_field,
)
from compat._anthropic.generation_config import generation_config
from compat._anthropic.messages import build_contents, system_parts
from compat._anthropic.tools import function_declarations, tool_config
from compat._nesting import check_nesting
from compat._options import ConversionOptions

__all__ = ["to_gemini_request"]

_DEFAULT_OPTIONS = ConversionOptions()


def to_gemini_request(
    anthropic_request: dict[str, Any], *, options: ConversionOptions | None = None
) -> dict[str, Any]:
    """Convert an Anthropic Messages request to a Gemini generateContent body.

    Returns a dict with only the keys that have content among `contents`,
    `systemInstruction`, `tools`, `toolConfig` and `generationConfig`.
    Raises RequestError (with the offending JSON path) for anything that cannot be
    converted faithfully. The input is not modified; treat the result as read-only.
    """
    _check_nesting(anthropic_request)
    if options is None:
        options = _DEFAULT_OPTIONS
    elif options.fast_path:
        fast = fast_gemini_request(anthropic_request)
        if fast is not None:
            return fast
    request = expect_dict(anthropic_request, "")
    _check_envelope(request)
    messages = list_field(request, "messages", "")
    gemini3 = (options.upstream_model or "").startswith("gemini-3")
    contents, leading_system = build_contents(messages, gemini3=gemini3)
    body: dict[str, Any] = {"contents": contents}
    system = request.get("system")
    instruction = (system_parts(system) if system is not None else []) + leading_system
    if instruction:
        body["systemInstruction"] = {"parts": instruction}
    _add_tools(body, request, options)
    body["generationConfig"] = generation_config(request)
    return body


def _check_nesting(request: object) -> None:
    """RequestError past MAX_NESTING levels; `tools` are checked with their cached conversion."""
    if isinstance(request, dict):
        check_nesting({key: value for key, value in request.items() if key != "tools"})


def _check_envelope(request: dict[str, Any]) -> None:
    """Fields that are checked but have no Gemini body counterpart."""
    str_field(request, "model", "")
    stream = request.get("stream")
    if stream is not None:
        expect_bool(stream, "stream")
    metadata = request.get("metadata")
    if metadata is not None:
        user_id = expect_dict(metadata, "metadata").get("user_id")
        if user_id is not None:  # Gemini has no end-user field: checked, not sent
            expect_str(user_id, "metadata.user_id")


def _add_tools(body: dict[str, Any], request: dict[str, Any], options: ConversionOptions) -> None:
    tools = request.get("tools")
    names: frozenset[str] = frozenset()
    if tools is not None:
        declarations, names = function_declarations(
            expect_list(tools, "tools"), schema_mode=options.schema_mode
        )
        if declarations:
            body["tools"] = [{"functionDeclarations": list(declarations)}]
    tool_choice = request.get("tool_choice")
    if tool_choice is not None:
        config = tool_config(tool_choice, names)
        if config is not None:
            body["toolConfig"] = config

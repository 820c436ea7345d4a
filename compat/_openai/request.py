"""OpenAI Chat Completions request → Gemini generateContent request.

Operation: `openai_to_gemini_request(openai_request, *, options=None) -> dict`, a plain
Gemini API body (`contents`, `systemInstruction`, `tools`, `toolConfig`,
`generationConfig`); the caller wraps it for Code Assist.

Goal: every OpenAI request either converts faithfully or fails with
`RequestError(path, message)`; never KeyError/TypeError, never a silently dropped feature
that would change the answer.
Plan: one module per part of the request: `compat._openai.messages` (messages → contents
and systemInstruction), `compat._openai.tools` (tools, tool_choice),
`compat._openai.params` (generationConfig, refused parameters). With
`options.fast_path`, plain text chats take `compat._openai.fast_path`, which gives the same
body or hands the request back.
"""

from __future__ import annotations

from typing import Any

from compat._nesting import check_nesting
from compat._openai.fast_path import fast_gemini_body
from compat._openai.fields import JSONObject, require_dict
from compat._openai.messages import convert_messages
from compat._openai.params import check_parameters, generation_config
from compat._openai.tools import function_declarations, tool_config
from compat._options import ConversionOptions

_DEFAULT_OPTIONS = ConversionOptions()


def openai_to_gemini_request(
    openai_request: dict[str, Any], *, options: ConversionOptions | None = None
) -> dict[str, Any]:
    """Convert an OpenAI Chat Completions request body to a Gemini generateContent body.

    Raises `RequestError` (the client's fault, a 400) for anything that cannot be
    converted faithfully; its `path` names the offending value.
    """
    check_nesting(openai_request)
    options = options or _DEFAULT_OPTIONS
    if options.fast_path:
        fast_body = fast_gemini_body(openai_request)
        if fast_body is not None:
            return fast_body
    request = require_dict(openai_request, "")
    check_parameters(request)
    gemini_3 = (options.upstream_model or "").startswith("gemini-3")
    contents, system_instruction = convert_messages(request.get("messages"), gemini_3=gemini_3)
    body: JSONObject = {"contents": contents}
    if system_instruction is not None:
        body["systemInstruction"] = system_instruction
    declarations = function_declarations(request, options)
    if declarations:
        body["tools"] = [{"functionDeclarations": declarations}]
    calling_config = tool_config(request, {declaration["name"] for declaration in declarations})
    if calling_config is not None:
        body["toolConfig"] = calling_config
    config = generation_config(request, gemini_3=gemini_3)
    if config:
        body["generationConfig"] = config
    return body

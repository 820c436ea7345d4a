"""The text-only fast path of OpenAI request conversion (`ConversionOptions.fast_path`).

Operation: `fast_gemini_body(request) -> dict | None`.

Goal: plain text chats (flag `ff_converter_fast_path`) skip the part dispatch, path
bookkeeping and tool-call pairing of the full conversion and produce exactly the body the
full path produces.
Plan: one pass that accepts only the plain shape: messages `system`/`developer`/`user`/
`assistant` whose keys are `role`, `content` (a string) and `name`, ending with a user
message, and only the parameters of `_PLAIN_PARAMETERS`. Anything else returns None and the
full path converts (or refuses) the request, so errors are always the full path's errors:
the parameters go through the same `check_parameters` / `generation_config`, which run
first on the full path too.
"""

from __future__ import annotations

from typing import Any

from compat._openai.params import check_parameters, generation_config

_PLAIN_PARAMETERS = frozenset(
    {
        "model", "messages", "stream", "stream_options", "max_tokens", "max_completion_tokens",
        "temperature", "top_p", "stop", "seed", "presence_penalty", "frequency_penalty", "n",
        "user", "metadata", "store", "service_tier",
    }
)  # fmt: skip
_MESSAGE_KEYS = frozenset({"role", "content", "name"})
_GEMINI_ROLES = {"user": "user", "assistant": "model"}


def fast_gemini_body(request: object) -> dict[str, Any] | None:
    """The Gemini body for a plain text chat, or None when the full path must run."""
    if type(request) is not dict or not _PLAIN_PARAMETERS.issuperset(request):
        return None
    messages = request.get("messages")
    if type(messages) is not list:
        return None
    contents: list[dict[str, Any]] = []
    system_parts: list[dict[str, Any]] = []
    for message in messages:
        if type(message) is not dict or not _MESSAGE_KEYS.issuperset(message):
            return None
        role, content = message.get("role"), message.get("content")
        if type(content) is not str:
            return None
        if role == "system" or role == "developer":
            if content:
                system_parts.append({"text": content})
            continue
        gemini_role = _GEMINI_ROLES.get(role) if type(role) is str else None
        if gemini_role is None:
            return None
        if not content:
            continue
        if contents and contents[-1]["role"] == gemini_role:
            contents[-1]["parts"].append({"text": content})
        else:
            contents.append({"role": gemini_role, "parts": [{"text": content}]})
    if not contents or contents[-1]["role"] != "user":
        return None
    check_parameters(request)
    body: dict[str, Any] = {"contents": contents}
    if system_parts:
        body["systemInstruction"] = {"parts": system_parts}
    config = generation_config(request, gemini_3=False)  # no reasoning_effort on this path
    if config:
        body["generationConfig"] = config
    return body

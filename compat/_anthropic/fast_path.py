"""The text-only fast path (`ConversionOptions.fast_path`, flag `ff_converter_fast_path`).

Operations
    fast_gemini_request(anthropic_request) -> dict | None

Goal: small text chats skip the block dispatch, path bookkeeping and tool machinery of the
full conversion, and produce exactly the body the full path produces.

Plan: one pass that accepts only the plain shape (user/assistant messages whose content is
a non-empty string or a list of non-empty text blocks, a string or text-block `system`, no
`tools` or `tool_choice`, a conversation ending with a user message). Anything else, and
anything invalid, returns None and the full path converts (or refuses) the request, so
errors are always the full path's errors.
"""

from __future__ import annotations

from typing import Any

from compat._anthropic.generation_config import generation_config
from compat._errors import RequestError

__all__ = ["fast_gemini_request"]


def fast_gemini_request(request: object) -> dict[str, Any] | None:
    """The Gemini body for a plain text request, or None when the full path must run."""
    if type(request) is not dict or "tools" in request or "tool_choice" in request:
        return None
    stream = request.get("stream")
    if type(request.get("model")) is not str or (stream is not None and type(stream) is not bool):
        return None
    if "metadata" in request and not _plain_metadata(request["metadata"]):
        return None
    contents = _text_contents(request.get("messages"))
    if contents is None:
        return None
    body: dict[str, Any] = {"contents": contents}
    system = request.get("system")
    if type(system) is str:
        if system:
            body["systemInstruction"] = {"parts": [{"text": system}]}
    elif system is not None:
        parts = _text_parts(system) if type(system) is list else None
        if parts is None:
            return None
        if parts:
            body["systemInstruction"] = {"parts": parts}
    try:
        body["generationConfig"] = generation_config(request)
    except RequestError:
        return None
    return body


def _plain_metadata(metadata: object) -> bool:
    """`metadata` is well typed (it is checked, never sent upstream)."""
    if metadata is None:
        return True
    user_id = metadata.get("user_id") if type(metadata) is dict else 0
    return user_id is None or type(user_id) is str


def _text_contents(messages: object) -> list[dict[str, Any]] | None:
    if type(messages) is not list or not messages:
        return None
    contents: list[dict[str, Any]] = []
    previous_role = ""
    parts: list[dict[str, Any]] = []
    for message in messages:
        if type(message) is not dict:
            return None
        role = message.get("role")
        if role == "assistant":
            role = "model"
        elif role != "user":
            return None
        content = message.get("content")
        if type(content) is str and content:
            new_parts: list[dict[str, Any]] | None = [{"text": content}]
        else:
            new_parts = _text_parts(content) if type(content) is list else None
        if not new_parts:
            return None
        if role == previous_role:
            parts.extend(new_parts)
        else:
            parts = new_parts
            contents.append({"role": role, "parts": parts})
            previous_role = role
    return contents if previous_role == "user" else None


def _text_parts(blocks: list[Any]) -> list[dict[str, Any]] | None:
    """Parts for a list of non-empty text blocks; None for anything else."""
    parts: list[dict[str, Any]] = []
    for block in blocks:
        if type(block) is not dict or block.get("type") != "text":
            return None
        text = block.get("text")
        if type(text) is not str or not text:
            return None
        parts.append({"text": text})
    return parts

"""Gemini GenerateContentResponse → OpenAI ChatCompletion (non-stream).

Operation: `to_openai_completion(gemini_response, *, model, stop=(), completion_id=None)`.

Plan (docs/reference/openai.md#response, docs/reference/stop-reasons.md#finish-reasons): the first
candidate's parts go through the same `ChoiceAssembler` the stream translator uses (text,
`reasoning_content`, tool calls, stop sequences); `finish_reason` is the finish-reasons table's
OpenAI column, with `tool_calls` when the reply calls a tool; a prompt blocked before any candidate
gives `content_filter` with `content: null`. `usage` maps `usageMetadata` (completion includes
reasoning tokens; cached and reasoning counts in the details). A Code Assist envelope is unwrapped.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from compat._gemini.response import (
    PROMPT_BLOCKED,
    candidate_of,
    candidate_parts,
    openai_usage,
    prompt_block_reason,
    unwrap_response,
)
from compat._gemini.response import completion_id as new_completion_id
from compat._openai.choice import ChoiceAssembler, merge_delta

JSONObject = dict[str, Any]


def to_openai_completion(
    gemini_response: dict[str, Any],
    *,
    model: str,
    stop: Sequence[str] = (),
    completion_id: str | None = None,
) -> dict[str, Any]:
    """The OpenAI `chat.completion` object for a Gemini generateContent response."""
    assembler = ChoiceAssembler(stop)
    candidate = candidate_of(gemini_response)
    if prompt_block_reason(gemini_response) is not None:
        gemini_finish: object = PROMPT_BLOCKED
        delta: JSONObject = {}
    else:
        gemini_finish = candidate.get("finishReason") if candidate is not None else None
        parts = candidate_parts(candidate) if candidate is not None else []
        delta = assembler.delta_for(parts)
        merge_delta(delta, assembler.flush())
    finish_reason = assembler.finish_reason(gemini_finish)
    merge_delta(delta, assembler.closing_delta(finish_reason))
    return {
        "id": completion_id or new_completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": _message(delta),
                "finish_reason": finish_reason,
                "logprobs": None,
            }
        ],
        "usage": openai_usage(_usage_metadata(gemini_response)),
    }


def _message(delta: JSONObject) -> JSONObject:
    message: JSONObject = {"role": "assistant", "content": delta.get("content"), "refusal": None}
    if "reasoning_content" in delta:
        message["reasoning_content"] = delta["reasoning_content"]
    if "extra_content" in delta:
        message["extra_content"] = delta["extra_content"]
    if "tool_calls" in delta:
        message["tool_calls"] = [
            {key: value for key, value in call.items() if key != "index"}
            for call in delta["tool_calls"]
        ]
    return message


def _usage_metadata(response: Mapping[str, Any]) -> Mapping[str, Any] | None:
    usage = unwrap_response(response).get("usageMetadata")
    return usage if isinstance(usage, Mapping) else None

"""Whole-body shapes: the Anthropic and OpenAI error envelopes and the non-stream replies.

Operations (each returns the part it checked, or raises a Violation naming the rule):
    anthropic_error(status, body) -> error  {"type":"error","error":{"type","message"}}
    openai_error(body) -> error             {"error":{"message","type","param","code"}}
    anthropic_message(body) -> body         a Message (and the checklist's non-streaming line)
    openai_completion(body) -> body         a ChatCompletion (OpenAI response)
    ERROR_TYPE_FOR_STATUS                   which error type a status carries (Anthropic errors)

Written from docs/reference (anthropic.md, openai.md), never from compat.
"""

from __future__ import annotations

from typing import Any

from conformance.checks.anthropic_stream import ERROR_TYPES, STOP_REASONS
from conformance.checks.openai_stream import FINISH_REASONS
from conformance.checks.text import no_lone_surrogates
from conformance.checks.violation import require

ERROR_TYPE_FOR_STATUS = {
    400: {"invalid_request_error"},
    401: {"authentication_error"},
    402: {"billing_error"},
    403: {"permission_error"},
    404: {"not_found_error"},
    408: {"timeout_error", "invalid_request_error"},
    413: {"request_too_large"},
    429: {"rate_limit_error"},
    500: {"api_error"},
    504: {"timeout_error", "api_error"},
    529: {"overloaded_error"},
}
RESPONSE_BLOCKS = {"text", "thinking", "redacted_thinking", "tool_use"}


def anthropic_error(status: int, body: Any) -> dict[str, Any]:
    """The `error` object of an Anthropic error body, its type matching the status."""
    require(
        isinstance(body, dict) and body.get("type") == "error",
        "type is error (Anthropic errors)",
        body,
    )
    error = body.get("error")
    require(isinstance(error, dict), "error is an object (Anthropic errors)", body)
    require(error.get("type") in ERROR_TYPES, "error.type is an Anthropic ErrorType", error)
    require(isinstance(error.get("message"), str) and error["message"], "error.message", error)
    expected = ERROR_TYPE_FOR_STATUS.get(status)
    if expected is None and status >= 500:
        expected = {"api_error", "overloaded_error", "timeout_error"}
    if expected is None and 400 <= status < 500:
        expected = {
            "invalid_request_error"
        }  # Anthropic errors: "also ... for other 4XX status codes"
    require(
        expected is None or error["type"] in expected,
        f"HTTP {status} carries error type {sorted(expected or ())} (Anthropic errors)",
        error["type"],
    )
    no_lone_surrogates(body)
    return error


def openai_error(body: Any) -> dict[str, Any]:
    """The `error` object of an OpenAI error body (OpenAI errors)."""
    require(isinstance(body, dict) and isinstance(body.get("error"), dict), "error object", body)
    error = body["error"]
    require(isinstance(error.get("message"), str) and error["message"], "error.message", error)
    require(isinstance(error.get("type"), str), "error.type is a string (OpenAI errors)", error)
    for key in ("param", "code"):
        require(key in error, f"error.{key} is present (OpenAI errors)", error)
        require(error[key] is None or isinstance(error[key], str), f"error.{key}", error)
    no_lone_surrogates(body)
    return error


def anthropic_message(body: Any, *, ids: bool = True) -> dict[str, Any]:
    """A non-stream Message: type, role, ids, known blocks, a stop reason, usage (message object,
    checklist); with `ids` False the `msg_` / `toolu_` prefixes are not judged."""
    require(isinstance(body, dict), "the body is a JSON object", body)
    require(body.get("type") == "message", "type is message (message object)", body.get("type"))
    require(body.get("role") == "assistant", "role is assistant (message object)", body.get("role"))
    require(isinstance(body.get("id"), str) and body["id"], "a message id", body.get("id"))
    require(
        not ids or body["id"].startswith("msg_"), "id starts with msg_ (checklist)", body.get("id")
    )
    require(isinstance(body.get("model"), str), "model is a string", body.get("model"))
    content = body.get("content")
    require(isinstance(content, list), "content is a list (message object)", content)
    for block in content:
        require(isinstance(block, dict), "a content block is an object", block)
        require(block.get("type") in RESPONSE_BLOCKS, "a known content block type", block)
        if block["type"] == "tool_use":
            require(isinstance(block.get("id"), str) and block["id"], "tool_use has an id", block)
            require(
                not ids or block["id"].startswith("toolu_"), "tool_use id toolu_ (checklist)", block
            )
            require(isinstance(block.get("input"), dict), "tool_use input is an object", block)
        if block["type"] == "thinking":
            require(isinstance(block.get("signature"), str), "thinking has a signature", block)
    reason = body.get("stop_reason")
    require(
        reason in STOP_REASONS, "stop_reason is a StopReason, never null (message object)", reason
    )
    require(
        (body.get("stop_sequence") is not None) == (reason == "stop_sequence"),
        "stop_sequence set iff stop_reason is stop_sequence (message object)",
        body.get("stop_sequence"),
    )
    usage = body.get("usage")
    require(isinstance(usage, dict), "usage is an object (message object)", usage)
    for key in ("input_tokens", "output_tokens"):
        require(type(usage.get(key)) is int and usage[key] >= 0, f"usage.{key}", usage)
    no_lone_surrogates(body)
    return body


def openai_completion(body: Any) -> dict[str, Any]:
    """A non-stream ChatCompletion (OpenAI response)."""
    require(isinstance(body, dict), "the body is a JSON object", body)
    require(body.get("object") == "chat.completion", "object is chat.completion", body)
    require(isinstance(body.get("id"), str), "id is a string", body.get("id"))
    require(type(body.get("created")) is int, "created is unix seconds", body.get("created"))
    choices = body.get("choices")
    require(isinstance(choices, list) and choices, "choices is a non-empty list", choices)
    for choice in choices:
        message = choice.get("message")
        require(isinstance(message, dict), "a choice has a message", choice)
        require(message.get("role") == "assistant", "message role is assistant", message)
        content = message.get("content")
        require(content is None or isinstance(content, str), "content is a string or null", message)
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {}
            require(call.get("type") == "function" and call.get("id"), "tool call id/type", call)
            require(isinstance(function.get("arguments"), str), "arguments is a string", call)
        reason = choice.get("finish_reason")
        require(
            reason in FINISH_REASONS, "finish_reason is a known value (OpenAI response)", reason
        )
    usage = body.get("usage")
    if usage is not None:
        for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
            require(type(usage.get(key)) is int, f"usage.{key} is an integer", usage)
    no_lone_surrogates(body)
    return body

"""The reply the client got against the reply the upstream sent: nothing lost, duplicated or
invented on the way back.

Operations:
    gemini_reply(recorded, fault=None) -> Reply   what a Gemini (or Code Assist) reply carried, as
                                                  far as it went out: a `drop` fault cuts the stream
                                                  after `after_chunks` chunks
    anthropic_reply(message) -> Reply             an Anthropic Message (or a stream's accumulation)
    openai_reply(completion) -> Reply             the first choice of a ChatCompletion
    reply_problems(upstream, client, complete=True, thinking=True) -> [str]

Complete replies must match exactly: the client's text is the upstream's text (lone surrogates
repaired to U+FFFD, JSON), thinking text is the thought parts' text, tool calls are the function
calls (name and arguments) in order. A reply cut by an upstream failure must be a prefix: what
the client got was sent once, before the failure, never again (a retry after the first byte
duplicates it) and never made up.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.checks.text import canonical, repaired


@dataclass
class Reply:
    text: str = ""
    thinking: str = ""
    calls: list[tuple[str, str]] = field(default_factory=list)  # (name, canonical JSON args)
    signatures: list[str] = field(default_factory=list)  # Gemini thought signatures
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None


def gemini_reply(recorded: Mapping[str, Any], fault: Mapping[str, Any] | None = None) -> Reply:
    """The reply in a record's `reply` (`{"chunks": [...]}` or `{"body": {...}}`)."""
    chunks = list(recorded.get("chunks") or [recorded.get("body") or {}])
    if fault is not None and fault.get("kind") == "drop":
        chunks = chunks[: int(fault.get("after_chunks", 0))]
    reply = Reply()
    for chunk in chunks:
        response = chunk.get("response", chunk) if isinstance(chunk, Mapping) else {}
        reply.usage = response.get("usageMetadata") or reply.usage
        for candidate in (response.get("candidates") or [])[:1]:
            reply.finish_reason = candidate.get("finishReason") or reply.finish_reason
            for part in (candidate.get("content") or {}).get("parts") or ():
                _add_part(reply, part)
    return reply


def _add_part(reply: Reply, part: Mapping[str, Any]) -> None:
    if isinstance(part.get("thoughtSignature"), str):
        reply.signatures.append(part["thoughtSignature"])
    if isinstance(part.get("text"), str):
        if part.get("thought") is True:
            reply.thinking += part["text"]
        else:
            reply.text += part["text"]
    call = part.get("functionCall")
    if isinstance(call, Mapping):
        reply.calls.append((str(call.get("name")), canonical(call.get("args") or {})))


def anthropic_reply(message: Mapping[str, Any]) -> Reply:
    reply = Reply(finish_reason=message.get("stop_reason"), usage=message.get("usage"))
    for block in message.get("content") or ():
        kind = block.get("type")
        if kind == "text":
            reply.text += str(block.get("text", ""))
        elif kind == "thinking":
            reply.thinking += str(block.get("thinking", ""))
        elif kind == "tool_use":
            reply.calls.append((str(block.get("name")), canonical(block.get("input"))))
    return reply


def openai_reply(completion: Mapping[str, Any]) -> Reply:
    choices = completion.get("choices") or [{}]
    message = choices[0].get("message") or {}
    reply = Reply(
        text=str(message.get("content") or ""),
        finish_reason=choices[0].get("finish_reason"),
        usage=completion.get("usage"),
    )
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        try:
            arguments = json.loads(function.get("arguments") or "{}")
        except ValueError:
            arguments = function.get("arguments")
        reply.calls.append((str(function.get("name")), canonical(arguments)))
    return reply


def reply_problems(
    upstream: Reply, client: Reply, *, complete: bool = True, thinking: bool = True
) -> list[str]:
    """How the client's reply differs from the upstream's (empty when faithful)."""
    problems: list[str] = []
    sent_text = repaired(upstream.text)
    if complete and client.text != sent_text:
        problems.append(f"text differs: upstream sent {sent_text!r}, client got {client.text!r}")
    if not complete and not sent_text.startswith(client.text):
        problems.append(
            f"text is not a prefix of what the upstream sent before failing: upstream sent "
            f"{sent_text!r}, client got {client.text!r}"
        )
    if thinking and (complete or client.thinking):
        sent_thinking = repaired(upstream.thinking)
        matches = (
            client.thinking == sent_thinking
            if complete
            else (sent_thinking.startswith(client.thinking))
        )
        if not matches:
            problems.append(
                f"thinking differs: upstream sent {sent_thinking!r}, client got {client.thinking!r}"
            )
    calls_match = (
        client.calls == upstream.calls
        if complete
        else (client.calls == upstream.calls[: len(client.calls)])
    )
    if not calls_match:
        problems.append(
            f"tool calls differ: upstream sent {upstream.calls}, client got {client.calls}"
        )
    return problems

"""Gemini GenerateContentResponse → Anthropic Message (non-streaming).

Operations
    to_anthropic_message(gemini_response, *, model, stop_sequences=(), message_id=None) -> dict

Goals
    Always a valid Anthropic Message (docs/reference/anthropic.md#message-object): `type`, `role`,
    non-null `stop_reason`, `usage`, `msg_`/`toolu_` ids, whatever Gemini sent (an envelope, no
    candidates, a blocked prompt, empty parts). Thought parts become thinking blocks carrying their
    signatures exactly as docs/mapping.md describes; no string in the result holds a lone surrogate.
    The block rules are the same as `compat._anthropic.stream.StreamTranslator`'s, so a streamed and
    a non-streamed reply to the same content accumulate to the same message.

Plan
    Walk the first candidate's parts once with a small block builder that knows which block is still
    open (a thinking run, a text run, or none), then pick the stop reason
    (docs/reference/stop-reasons.md#finish-reasons) and map usage with the helpers in
    `compat._gemini.response`.

Rules worth knowing
    - Consecutive thought parts form one thinking block (a signed thought part after the block
      already has a signature starts a new one, so no signature is lost); consecutive plain
      text parts one text block; each functionCall is its own tool_use block.
    - A signature on a non-thought part goes to the thinking block still open just before it,
      else to a new empty thinking block; either way the part then starts a new block.
    - MALFORMED_FUNCTION_CALL is a failed turn, not a reply (`compat.turn_failure`: callers
      answer it as an error); converted anyway, it shows only what the model really said.
    - executableCode, codeExecutionResult, inlineData and fileData parts (no Anthropic block
      fits) each become a text block of their own (`compat._gemini.response.other_part_text`), or
      thinking text when marked `thought` (an image model's draft images): content is never
      silently dropped.
    - Stop sequences: Gemini strips a matched sequence and reports STOP, so `stop_sequence` is
      reported only when the final text block still ends with a requested sequence; otherwise
      the honest answer is `end_turn`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from compat._gemini.response import (
    PROMPT_BLOCKED,
    anthropic_stop,
    anthropic_usage,
    candidate_of,
    candidate_parts,
    first_use_of_id,
    function_args,
    function_name,
    other_part_text,
    prompt_block_reason,
    tool_use_id,
    unwrap_response,
)
from compat._gemini.response import message_id as new_message_id
from compat._json import scrub

__all__ = ["to_anthropic_message"]


def to_anthropic_message(
    gemini_response: Mapping[str, Any],
    *,
    model: str,
    stop_sequences: Sequence[str] = (),
    message_id: str | None = None,
) -> dict[str, Any]:
    """Convert one (non-streamed) Gemini response, Code Assist envelope or not, to a Message."""
    response = unwrap_response(gemini_response)
    candidate = candidate_of(gemini_response)
    blocks = _BlockBuilder()
    finish_reason: str | None = None
    if candidate is not None:
        for part in candidate_parts(candidate):
            blocks.add_part(part)
        reason = candidate.get("finishReason")
        finish_reason = reason if isinstance(reason, str) else None
    elif prompt_block_reason(gemini_response) is not None:
        finish_reason = PROMPT_BLOCKED
    content = blocks.content
    last = content[-1] if content else None
    stop_reason, stop_sequence = anthropic_stop(
        finish_reason,
        has_tool_calls=blocks.has_tool_calls,
        final_text=last["text"] if last is not None and last["type"] == "text" else None,
        stop_sequences=stop_sequences,
    )
    usage = response.get("usageMetadata")
    return {
        "id": message_id or new_message_id(),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": anthropic_usage(usage if isinstance(usage, Mapping) else None),
    }


class _BlockBuilder:
    """Anthropic content blocks from Gemini parts, one part at a time (see module rules)."""

    def __init__(self) -> None:
        self.content: list[dict[str, Any]] = []
        self.has_tool_calls = False
        self._call_ids: set[str] = set()  # Gemini call ids already used in this reply
        self._open: str | None = None  # "thinking" or "text": the block parts may extend

    def add_part(self, part: Any) -> None:
        if not isinstance(part, dict):
            return
        signature = part.get("thoughtSignature")
        signature = scrub(signature) if isinstance(signature, str) and signature else None
        call = part.get("functionCall")
        if isinstance(call, dict):
            if signature:
                self._place_signature(signature)
            self._add_tool_use(call)
            return
        text = part.get("text")
        shown = None if isinstance(text, str) else other_part_text(part)
        readable = scrub(text) if isinstance(text, str) else shown
        if part.get("thought") is True and readable is not None:
            self._add_thought(readable, signature)
            return
        if signature:  # a part of unknown shape still hands its signature on
            self._place_signature(signature)
        if shown is not None:
            self.add_notice(shown)
        elif isinstance(text, str) and text:
            self._add_text(scrub(text))

    def add_notice(self, text: str) -> None:
        """A text block of its own (code, its result, media)."""
        self.content.append({"type": "text", "text": text})
        self._open = None

    def _add_thought(self, text: str, signature: str | None) -> None:
        signed_twice = signature and self._open == "thinking" and self.content[-1]["signature"]
        if self._open != "thinking" or signed_twice:
            if not text and not signature:
                return
            self.content.append({"type": "thinking", "thinking": "", "signature": ""})
            self._open = "thinking"
        block = self.content[-1]
        block["thinking"] += text
        if signature:
            block["signature"] = signature

    def _add_text(self, text: str) -> None:
        if self._open == "text":
            self.content[-1]["text"] += text
        else:
            self.content.append({"type": "text", "text": text})
            self._open = "text"

    def _add_tool_use(self, call: Mapping[str, Any]) -> None:
        self.content.append(
            {
                "type": "tool_use",
                "id": tool_use_id(first_use_of_id(call, self._call_ids)),
                "name": function_name(call),
                "input": function_args(call),
            }
        )
        self.has_tool_calls = True
        self._open = None

    def _place_signature(self, signature: str) -> None:
        """docs/mapping.md rule 3: the open unsigned thinking block takes it, else a new one."""
        if self._open == "thinking" and not self.content[-1]["signature"]:
            self.content[-1]["signature"] = signature
        else:
            self.content.append({"type": "thinking", "thinking": "", "signature": signature})
        self._open = None

"""Gemini candidate parts → the fields of one OpenAI choice, shared by stream and non-stream.

Operations: `ChoiceAssembler(stop)`; `.delta_for(parts) -> dict` (the delta fields for a
batch of parts, e.g. one upstream chunk), `.flush() -> dict`, `.finish_reason(gemini_finish)`,
`.closing_delta(finish_reason) -> dict`, `.stopped`; `merge_delta(delta, more)`.

Goal: the non-stream completion and the accumulated stream are built by the same code, so
they cannot drift apart. Rules:
- visible text → `content`, cut at the first requested stop sequence (`compat._openai.stop`);
  after a cut, nothing more of the candidate is used.
- thoughts (`thought: true`) → `reasoning_content`, the field DeepSeek and LiteLLM use; they
  are never mixed into `content`.
- functionCall → a tool call: id `call_` + 24 base62, or `call_g_X` for Gemini's id X (the
  first time the reply uses X: client ids must be unique);
  `arguments` is `compat.dumps` of the args (valid UTF-8, no lone surrogates); indices
  0..n-1 in arrival order.
- a functionCall's `thoughtSignature` goes on its tool call as
  `extra_content: {"google": {"thought_signature": ...}}`, the field Google's own
  OpenAI-compatible endpoint uses; clients that send the assistant message back unchanged
  round-trip it (Gemini 3 requires it). The first signature on any other part (text,
  thought, empty text) goes on the message itself (the delta that carries it) under the same
  key, where Google's endpoint puts it; later ones are dropped, because the SDK's stream
  accumulator would concatenate two strings into one invalid signature (Gemini validates
  only function-call signatures).
- code, code results and media (no Chat Completions field) are shown as text
  (`compat._gemini.response.other_part_text`) in `content`, set apart from the text around them by a
  blank line and not searched for stop sequences (they are not generated text to cut); when
  marked `thought` (an image model's draft images) in `reasoning_content` instead.
- content is null when the reply has no text but tool calls or a content filter stop;
  otherwise it is a string (possibly empty).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from compat._gemini.response import (
    FUNCTION_CALL,
    TEXT,
    THOUGHT,
    first_use_of_id,
    function_args,
    function_name,
    openai_call_id,
    other_part_text,
    part_kind,
)
from compat._gemini.response import openai_finish_reason as gemini_to_openai_finish
from compat._json import dumps, scrub
from compat._openai.stop import StopMatcher

JSONObject = dict[str, Any]


def merge_delta(delta: JSONObject, more: JSONObject) -> None:
    """Add the fields of `more` to `delta`: texts concatenated, tool call lists extended."""
    for key, value in more.items():
        if key == "tool_calls":
            delta.setdefault(key, []).extend(value)
        else:
            delta[key] = delta.get(key, "") + value


class ChoiceAssembler:
    """Builds the delta fields of choice 0 from Gemini parts, in arrival order."""

    __slots__ = ("_break_due", "_call_ids", "_signature_sent", "_stop", "text_sent", "tool_calls")

    def __init__(self, stop: Sequence[str] = ()) -> None:
        self._stop = StopMatcher(stop)
        self._break_due = False  # the last content was a shown part: a blank line before more
        self._signature_sent = False
        self.text_sent = False
        self.tool_calls = 0
        self._call_ids: set[str] = set()  # Gemini call ids already used in this reply

    @property
    def stopped(self) -> bool:
        """A stop sequence was found: the choice is complete."""
        return self._stop.matched

    def delta_for(self, parts: Sequence[Any]) -> JSONObject:
        """Delta fields (`content`, `reasoning_content`, `tool_calls`) for `parts`."""
        delta: JSONObject = {}
        for part in parts:
            if self._stop.matched:
                break
            kind = part_kind(part)
            if kind == FUNCTION_CALL:
                self._add_text(delta, self._stop.flush())
                delta.setdefault("tool_calls", []).append(self._tool_call(part))
                continue
            if kind == TEXT:
                self._add_text(delta, self._stop.feed(part["text"]))
            elif kind == THOUGHT:
                if part["text"]:
                    delta["reasoning_content"] = delta.get("reasoning_content", "") + part["text"]
            elif isinstance(part, dict):
                self._add_shown_part(delta, part)
            if isinstance(part, dict) and not self._signature_sent:
                self._add_message_signature(delta, part)
        return delta

    def flush(self) -> JSONObject:
        """Delta fields for text held back while it could still begin a stop sequence."""
        delta: JSONObject = {}
        self._add_text(delta, self._stop.flush())
        return delta

    def finish_reason(self, gemini_finish: object) -> str:
        """The OpenAI finish_reason, given Gemini's (None when a stop sequence ended it)."""
        if self._stop.matched:
            return "tool_calls" if self.tool_calls else "stop"
        finish = gemini_finish if isinstance(gemini_finish, str) else None
        return gemini_to_openai_finish(finish, has_tool_calls=self.tool_calls > 0)

    def closing_delta(self, finish_reason: str) -> JSONObject:
        """`{"content": ""}` when the reply had no text yet content must be a string."""
        if self.text_sent or self.tool_calls or finish_reason == "content_filter":
            return {}
        return {"content": ""}

    def _add_text(self, delta: JSONObject, text: str) -> None:
        if text:
            if self._break_due:
                text = "\n\n" + text
                self._break_due = False
            delta["content"] = delta.get("content", "") + text
            self.text_sent = True

    def _add_shown_part(self, delta: JSONObject, part: JSONObject) -> None:
        shown = other_part_text(part)
        if shown is None:
            return
        if part.get("thought") is True:  # e.g. an image model's draft image
            delta["reasoning_content"] = delta.get("reasoning_content", "") + shown
            return
        self._add_text(delta, self._stop.flush())
        self._break_due = self.text_sent
        self._add_text(delta, shown)
        self._break_due = True

    def _add_message_signature(self, delta: JSONObject, part: JSONObject) -> None:
        extra_content = _google_extra_content(part)
        if extra_content is not None:
            delta["extra_content"] = extra_content
            self._signature_sent = True

    def _tool_call(self, part: JSONObject) -> JSONObject:
        call = part["functionCall"]
        entry: JSONObject = {
            "index": self.tool_calls,
            "id": openai_call_id(first_use_of_id(call, self._call_ids)),
            "type": "function",
            "function": {
                "name": function_name(call),
                "arguments": dumps(function_args(call)).decode("utf-8"),
            },
        }
        extra_content = _google_extra_content(part)
        if extra_content is not None:
            entry["extra_content"] = extra_content
        self.tool_calls += 1
        return entry


def _google_extra_content(part: JSONObject) -> JSONObject | None:
    """`{"google": {"thought_signature": S}}` for a part's signature, Google's own field."""
    signature = part.get("thoughtSignature")
    if isinstance(signature, str) and signature:
        return {"google": {"thought_signature": scrub(signature)}}
    return None

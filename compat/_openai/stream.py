"""Gemini stream (raw upstream bytes) → OpenAI `chat.completion.chunk` stream.

Operations
    translator = OpenAIStreamTranslator(model=..., include_usage=False, stop=(), completion_id=None)
    translator.feed(data) -> list[chunk dict]     upstream bytes, any split, SSE or JSON framing
    translator.close() -> list[chunk dict]        the upstream body ended
    translator.feed_sse(data) / close_sse() -> bytes   the same as `data: {json}\\n\\n` frames,
                                                  `close_sse` ending with `data: [DONE]\\n\\n`
    translator.started, translator.finished, translator.upstream_error

Goals (docs/reference/openai.md#streaming; checked against the SDK's accumulator in tests)
    - the same `id`, `created` and `model` in every chunk; `role` only in the first delta;
    - a tool call's `id`, `type`, `function.name` (and `extra_content`) only in its first (and
      only) delta, with indices 0..n-1 in order; `arguments` complete in that delta (Gemini
      sends whole calls);
    - the message's `extra_content` (the first signature on a part that is no call) in one
      delta only, since the SDK's accumulator concatenates repeated strings;
    - exactly one chunk with a `finish_reason`, after all content, with an empty delta (or
      `content: ""` for a reply with no text and no tool call, as the non-stream reply has);
    - with `include_usage`, every chunk has `"usage": null` and one last chunk has
      `"choices": []` and the usage; then `data: [DONE]`;
    - an upstream error, a turn that failed (MALFORMED_FUNCTION_CALL, `compat.turn_failure`),
      or an upstream end without `finishReason`, gives one chunk whose
      `error` object the SDK raises as APIError (docs/mapping.md: never a fake finish) and
      ends the stream, without `[DONE]` so no client mistakes it for a complete reply.
    The accumulated stream equals `to_openai_completion` of the same content: both use
    `ChoiceAssembler`.

Plan
    `GeminiChunkDecoder` turns bytes into response dicts; each upstream chunk's parts become at
    most one content chunk (text, reasoning and tool calls of that chunk merged in one delta);
    the usage of the latest upstream chunk that carried `usageMetadata` is reported.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from compat._gemini.errors import GoogleError, error_from_object, openai_error_for
from compat._gemini.framing import GeminiChunkDecoder
from compat._gemini.response import (
    PROMPT_BLOCKED,
    candidate_failure,
    candidate_of,
    candidate_parts,
    openai_usage,
    prompt_block_reason,
)
from compat._gemini.response import completion_id as new_completion_id
from compat._json import dumps_decoded
from compat._openai.choice import ChoiceAssembler, merge_delta

JSONObject = dict[str, Any]

DONE_FRAME = b"data: [DONE]\n\n"
_INCOMPLETE_MESSAGE = "the upstream stream ended before the reply was complete"


def encode_chunk(chunk: Mapping[str, Any]) -> bytes:
    """One SSE frame `data: {json}\\n\\n` for a chunk of an `OpenAIStreamTranslator`.

    Encoded with `compat._json.dumps_decoded` (no NaN search: every chunk has `null`s, and
    the translator's chunks hold only decoded upstream JSON and compat's own values).
    """
    return b"data: " + dumps_decoded(chunk) + b"\n\n"


class OpenAIStreamTranslator:
    """Translates one upstream Gemini stream into OpenAI chat completion chunks."""

    def __init__(
        self,
        *,
        model: str,
        include_usage: bool = False,
        stop: Sequence[str] = (),
        completion_id: str | None = None,
    ) -> None:
        self._decoder = GeminiChunkDecoder()
        self._choice = ChoiceAssembler(stop)
        # the same in every chunk (docs/reference/openai.md#streaming)
        self._envelope: JSONObject = {
            "id": completion_id or new_completion_id(),
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
        }
        self._include_usage = include_usage
        self._usage_metadata: Mapping[str, Any] | None = None
        self._closed = False
        self._failed = False
        self.started = False
        """The reply's first chunk (with the role) was produced; an error chunk alone does
        not count, so a caller that has sent nothing yet may answer with an HTTP error."""
        self.finished = False
        """The choice is complete (finish_reason sent) or the stream failed."""
        self.upstream_error: GoogleError | None = None
        """The upstream error that ended the stream, if any (for an HTTP status before start)."""

    # -- public operations ---------------------------------------------------------------

    def feed(self, data: bytes) -> list[JSONObject]:
        """Chunks completed by `data`, in order."""
        out: list[JSONObject] = []
        for upstream_chunk in self._decoder.feed(data):
            self._on_upstream_chunk(upstream_chunk, out)
        return out

    def close(self) -> list[JSONObject]:
        """The last chunks: an error if the reply was incomplete, else the usage chunk."""
        return self._close() or []

    def feed_sse(self, data: bytes) -> bytes:
        """`feed`, encoded as SSE frames."""
        return b"".join(encode_chunk(chunk) for chunk in self.feed(data))

    def close_sse(self) -> bytes:
        """`close`, encoded as SSE frames, then `data: [DONE]` unless the stream failed."""
        chunks = self._close()
        if chunks is None:
            return b""
        frames = b"".join(encode_chunk(chunk) for chunk in chunks)
        return frames if self._failed else frames + DONE_FRAME

    # -- upstream chunks -----------------------------------------------------------------

    def _close(self) -> list[JSONObject] | None:
        if self._closed:
            return None
        self._closed = True
        out: list[JSONObject] = []
        for upstream_chunk in self._decoder.close():
            self._on_upstream_chunk(upstream_chunk, out)
        if self._failed:
            return out
        if not self.finished:
            self._fail(out, {"code": 502, "status": "UNAVAILABLE", "message": _INCOMPLETE_MESSAGE})
        elif self._include_usage:
            out.append(self._usage_chunk())
        return out

    def _on_upstream_chunk(self, upstream_chunk: JSONObject, out: list[JSONObject]) -> None:
        if self._failed:
            return
        error = upstream_chunk.get("error")
        if error is not None:
            if not self.finished:  # after the finish the reply is complete; only usage is lost
                self._fail(out, error if isinstance(error, dict) else {"message": str(error)})
            return
        usage_metadata = upstream_chunk.get("usageMetadata")
        if isinstance(usage_metadata, dict):
            self._usage_metadata = usage_metadata
        if self.finished:
            return
        if prompt_block_reason(upstream_chunk) is not None:
            self._finish(out, {}, PROMPT_BLOCKED)
            return
        candidate = candidate_of(upstream_chunk)
        if candidate is None:
            return
        delta = self._choice.delta_for(candidate_parts(candidate))
        finish = candidate.get("finishReason")
        failure = candidate_failure(candidate)
        if failure is not None and not self._choice.stopped:
            merge_delta(delta, self._choice.flush())
            if delta:
                out.append(self._chunk(delta, None))
            self._fail_with(out, failure)
        elif self._choice.stopped or (isinstance(finish, str) and finish):
            self._finish(out, delta, None if self._choice.stopped else finish)
        elif delta:
            out.append(self._chunk(delta, None))

    def _finish(self, out: list[JSONObject], delta: JSONObject, gemini_finish: object) -> None:
        merge_delta(delta, self._choice.flush())
        if delta:
            out.append(self._chunk(delta, None))
        finish_reason = self._choice.finish_reason(gemini_finish)
        out.append(self._chunk(self._choice.closing_delta(finish_reason), finish_reason))
        self.finished = True

    def _fail(self, out: list[JSONObject], error: Mapping[str, Any]) -> None:
        self._fail_with(out, error_from_object(error))

    def _fail_with(self, out: list[JSONObject], error: GoogleError) -> None:
        self.upstream_error = error
        out.append(openai_error_for(error)[1])
        self._failed = True
        self.finished = True

    # -- chunk builders ------------------------------------------------------------------

    def _chunk(self, delta: JSONObject, finish_reason: str | None) -> JSONObject:
        if not self.started:
            delta = {"role": "assistant", **delta}
            self.started = True
        chunk: JSONObject = {
            **self._envelope,
            "choices": [
                {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
            ],
        }
        if self._include_usage:
            chunk["usage"] = None
        return chunk

    def _usage_chunk(self) -> JSONObject:
        return {**self._envelope, "choices": [], "usage": openai_usage(self._usage_metadata)}

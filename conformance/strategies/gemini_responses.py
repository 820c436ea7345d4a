"""Hypothesis strategies for upstream Gemini responses: parts, chunks, whole streams, splits.

Building blocks (the one copy of each: the Anthropic and OpenAI tests both draw from these)
    FINISH_REASONS          every `finishReason` Google's API defines, and one it may add
    BLOCK_REASONS           every `promptFeedback.blockReason`, and one it may add
    text_values()           model text: plain, whitespace-only, pieces of stop sequences, and
                            hostile text (lone surrogates, astral characters, controls)
    json_args()             functionCall `args` objects (nested, unicode, lone surrogates)
    parts(text=)            text, thought (+signature), functionCall (+id, +signature),
                            signature-only empty text, empty text, executableCode,
                            codeExecutionResult, inlineData, fileData (+signature, +thought)
    usage_metadata()        a running-total usageMetadata
    stream_chunks()         a list of GenerateContentResponse dicts ending with a finishReason
                            (usage-only chunks, empty parts and missing content included)
    complete_streams()      every way a stream ends well: stream_chunks(), the same followed by
                            a usage-only chunk, or one chunk whose prompt was blocked
    gemini_streams(chunks=) GeminiStream: the logical chunks plus the upstream body bytes in one
                            framing (SSE with CRLF / LF / CR, or a JSON array), each chunk
                            optionally in the Code Assist envelope
    byte_splits(body)       the body cut into pieces at arbitrary byte offsets
    merged_response(chunks) the one non-stream response holding the same content
    hostile_chunks()        JSON objects built from response field names with values of any
                            JSON type: what a broken or future upstream might send

Independent of compat by rule: these describe Google's wire format from the references only
(docs/reference/gemini.md#response, #streaming, docs/reference/stop-reasons.md#finish-reasons;
google-genai's `types.FinishReason` and `types.BlockedReason`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from conformance.strategies.gemini_requests import function_names
from conformance.strategies.json_values import INT64, json_scalars, json_values
from conformance.strategies.unicode import hostile_text

__all__ = [
    "BLOCK_REASONS",
    "FINISH_REASONS",
    "GeminiStream",
    "byte_splits",
    "complete_streams",
    "gemini_streams",
    "hostile_chunks",
    "json_args",
    "merged_response",
    "parts",
    "stream_chunks",
    "text_values",
    "usage_metadata",
]

# google-genai 3.6 `types.FinishReason`, in its order, then a value Google may add tomorrow
# (a gateway must map an unknown reason, not fail on it).
FINISH_REASONS = (
    "FINISH_REASON_UNSPECIFIED",
    "STOP",
    "MAX_TOKENS",
    "SAFETY",
    "RECITATION",
    "LANGUAGE",
    "OTHER",
    "BLOCKLIST",
    "PROHIBITED_CONTENT",
    "SPII",
    "MALFORMED_FUNCTION_CALL",
    "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT",
    "IMAGE_OTHER",
    "NO_IMAGE",
    "IMAGE_RECITATION",
    "UNEXPECTED_TOOL_CALL",
    "TOO_MANY_TOOL_CALLS",
    "MISSING_THOUGHT_SIGNATURE",
    "MALFORMED_RESPONSE",
    "ESCALATION",
    "PUP_LIMITED_DISABLED",
    "CONTINUATION",
    "MODEL_ARMOR",
    "SOMETHING_NEW",
)
# google-genai 3.6 `types.BlockedReason`, then a new one.
BLOCK_REASONS = (
    "BLOCKED_REASON_UNSPECIFIED",
    "SAFETY",
    "OTHER",
    "BLOCKLIST",
    "PROHIBITED_CONTENT",
    "IMAGE_SAFETY",
    "MODEL_ARMOR",
    "JAILBREAK",
    "SOMETHING_NEW",
)
# Pieces of the stop sequences the stream tests request (`END`, `xy`, newlines), so that text
# often ends in, or spans chunks with, part of a stop sequence.
_STOP_PIECES = ("E", "N", "D", "END", "x", "y", "a", "\n", " ")
_FRAMINGS = ("\r\n", "\n", "\r", "array")
_ANY_FINISH = st.just("STOP") | st.sampled_from(FINISH_REASONS)


def text_values(max_size: int = 12) -> st.SearchStrategy[str]:
    """Text as models produce it, plus the hostile cases: whitespace, emoji, lone surrogates."""
    return st.one_of(
        st.text(max_size=max_size),
        st.text(alphabet=" \t\n\r", min_size=1, max_size=4),
        st.lists(st.sampled_from(_STOP_PIECES), max_size=max_size).map("".join),
        hostile_text(max_size=max(1, max_size // 3)),
    )


def json_args() -> st.SearchStrategy[dict[str, Any]]:
    """A functionCall `args` object (JSON-safe ints, finite floats, unicode keys and values)."""
    scalars = json_scalars(text=text_values(8), integers=st.integers(-(2**53), 2**53))
    values = json_values(scalars=scalars, keys=text_values(5), max_leaves=8, max_size=3)
    return st.dictionaries(text_values(6), values, max_size=4)


_signatures = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=",
    min_size=1,
    max_size=16,
)
_call_ids = st.from_regex(r"[a-z0-9]{1,10}", fullmatch=True) | st.just("x-\U0001f600")


@st.composite
def _text_part(draw: st.DrawFn, text: st.SearchStrategy[str]) -> dict[str, Any]:
    part: dict[str, Any] = {"text": draw(text)}
    if draw(st.integers(0, 4)) == 0:
        part["thoughtSignature"] = draw(_signatures)
    return part


@st.composite
def _thought_part(draw: st.DrawFn, text: st.SearchStrategy[str]) -> dict[str, Any]:
    part: dict[str, Any] = {"text": draw(text), "thought": True}
    if draw(st.booleans()):
        part["thoughtSignature"] = draw(_signatures)
    return part


@st.composite
def _function_call_part(draw: st.DrawFn) -> dict[str, Any]:
    call: dict[str, Any] = {"name": draw(function_names()), "args": draw(json_args())}
    if draw(st.integers(0, 3)) == 0:
        call["id"] = draw(_call_ids)
    part: dict[str, Any] = {"functionCall": call}
    if draw(st.integers(0, 2)) == 0:
        part["thoughtSignature"] = draw(_signatures)
    return part


@st.composite
def _shown_part(draw: st.DrawFn, text: st.SearchStrategy[str]) -> dict[str, Any]:
    """A part with no client field: executableCode, codeExecutionResult, inlineData, fileData."""
    part: dict[str, Any] = draw(
        st.one_of(
            st.builds(
                lambda language, code: {"executableCode": {"language": language, "code": code}},
                st.sampled_from(["PYTHON", "LANGUAGE_UNSPECIFIED"]),
                st.one_of(text, st.just("print('```')\n")),
            ),
            st.builds(
                lambda outcome, output: {
                    "codeExecutionResult": {"outcome": outcome, **output},
                },
                st.sampled_from(["OUTCOME_OK", "OUTCOME_FAILED", "OUTCOME_DEADLINE_EXCEEDED"]),
                st.one_of(st.just({}), text.map(lambda output: {"output": output})),
            ),
            st.builds(
                lambda mime, data: {"inlineData": {"mimeType": mime, "data": data}},
                st.sampled_from(["image/png", "image/jpeg", "audio/wav"]),
                st.sampled_from(["", "AAAA", "iVBORw0KGgo=", "AA=="]),
            ),
            st.just({"fileData": {"mimeType": "image/png", "fileUri": "gs://bucket/out.png"}}),
        )
    )
    if draw(st.integers(0, 3)) == 0:
        part["thoughtSignature"] = draw(_signatures)
    if draw(st.integers(0, 4)) == 0:
        part["thought"] = True  # an image model's draft image
    return part


def parts(text: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """One response part of any kind Gemini streams; texts from `text` (default text_values())."""
    texts = text if text is not None else text_values()
    return st.one_of(
        _text_part(texts),
        _thought_part(texts),
        _function_call_part(),
        _shown_part(texts),
        _signatures.map(lambda signature: {"text": "", "thoughtSignature": signature}),
        st.just({"text": ""}),
    )


@st.composite
def usage_metadata(draw: st.DrawFn, *, at_least: int = 0) -> dict[str, Any]:
    """usageMetadata with running totals (`at_least` keeps candidate counts monotonic)."""
    prompt = draw(st.integers(0, 5000))
    cached = draw(st.integers(0, prompt))
    candidates = draw(st.integers(at_least, at_least + 50))
    thoughts = draw(st.integers(0, 100))
    usage = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": candidates,
        "totalTokenCount": prompt + candidates + thoughts,
    }
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    if cached:
        usage["cachedContentTokenCount"] = cached
    return usage


@st.composite
def stream_chunks(
    draw: st.DrawFn,
    *,
    max_chunks: int = 6,
    finish_reasons: st.SearchStrategy[str] | None = None,
) -> list[dict[str, Any]]:
    """Logical chunks of one stream; the last one carries the finishReason (drawn from
    `finish_reasons`; by default STOP half the time, else any of FINISH_REASONS)."""
    reasons = finish_reasons if finish_reasons is not None else _ANY_FINISH
    chunks: list[dict[str, Any]] = []
    count = draw(st.integers(0, max_chunks))
    produced = 0
    for position in range(count + 1):
        last = position == count
        kinds = (
            ["parts", "parts", "empty"] if last else ["parts", "parts", "parts", "usage", "empty"]
        )
        kind = draw(st.sampled_from(kinds))
        chunk: dict[str, Any] = {}
        candidate: dict[str, Any] = {"index": 0}
        if kind == "parts":
            candidate["content"] = {"role": "model", "parts": draw(st.lists(parts(), max_size=4))}
        elif kind == "empty" and draw(st.booleans()):
            candidate["content"] = {"role": "model", "parts": []}
        if last:
            reason = draw(reasons)
            candidate["finishReason"] = reason
            if reason == "MALFORMED_FUNCTION_CALL" and draw(st.booleans()):
                candidate["finishMessage"] = "Malformed function call: " + draw(text_values())
        if kind != "usage":
            chunk["candidates"] = [candidate]
        if kind == "usage" or draw(st.booleans()):
            usage = draw(usage_metadata(at_least=produced))
            produced = usage["candidatesTokenCount"]
            chunk["usageMetadata"] = usage
        chunk["modelVersion"] = "gemini-2.5-flash"
        chunk["responseId"] = "r1"
        chunks.append(chunk)
    return chunks


@st.composite
def complete_streams(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Every way a stream ends well: at its finishReason, with a usage-only chunk after the
    finish (running totals, so the last word on usage), or as one blocked-prompt chunk."""
    ending = draw(st.sampled_from(["finish", "finish", "finish", "usage_after", "blocked"]))
    if ending == "blocked":
        feedback = {"blockReason": draw(st.sampled_from(BLOCK_REASONS))}
        return [{"promptFeedback": feedback, "usageMetadata": draw(usage_metadata())}]
    chunks = draw(stream_chunks())
    if ending == "usage_after":
        produced = max(
            (chunk["usageMetadata"]["candidatesTokenCount"] for chunk in chunks
             if "usageMetadata" in chunk),
            default=0,
        )  # fmt: skip
        chunks.append({"usageMetadata": draw(usage_metadata(at_least=produced))})
    return chunks


@dataclass(frozen=True)
class GeminiStream:
    """Logical chunks (unwrapped) and the upstream body that carries them."""

    chunks: list[dict[str, Any]]
    body: bytes
    framing: str


def _encode_json(value: Any, ascii_only: bool) -> bytes:
    try:
        return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: only escapes can carry them
        return json.dumps(value, ensure_ascii=True).encode("utf-8")


@st.composite
def gemini_streams(
    draw: st.DrawFn, chunks: st.SearchStrategy[list[dict[str, Any]]] | None = None
) -> GeminiStream:
    """A stream body (default: complete_streams()) in a drawn framing, chunks optionally in
    the Code Assist envelope, JSON written ASCII-escaped or as raw UTF-8."""
    logical = draw(chunks if chunks is not None else complete_streams())
    framing = draw(st.sampled_from(_FRAMINGS))
    ascii_only = draw(st.booleans())
    wire: list[Any] = []
    for chunk in logical:
        if "error" not in chunk and draw(st.booleans()):
            wire.append(
                {"response": chunk, "traceId": draw(st.from_regex(r"[0-9a-f]{8}", fullmatch=True))}
            )
        else:
            wire.append(chunk)
    if framing == "array":
        body = b"[" + b",\r\n".join(_encode_json(item, ascii_only) for item in wire) + b"]"
    else:
        end = framing.encode() * 2
        body = b"".join(b"data: " + _encode_json(item, ascii_only) + end for item in wire)
    return GeminiStream(chunks=logical, body=body, framing=framing)


def byte_splits(body: bytes, max_pieces: int = 12) -> st.SearchStrategy[list[bytes]]:
    """`body` cut at arbitrary offsets (inside CRLF, inside UTF-8 characters, anywhere; a
    repeated offset gives an empty piece)."""
    offsets = st.lists(st.integers(0, len(body)), max_size=max_pieces - 1)
    return offsets.map(sorted).map(
        lambda cuts: [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    )


def merged_response(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """The non-stream response with the same content as the stream's chunks.

    Parts of the first candidate are concatenated up to the first chunk with a finishReason;
    usageMetadata is the last one seen (Gemini's counts are running totals), a usage-only
    chunk after the finish included. A stream whose prompt was blocked is its one chunk.
    """
    if len(chunks) == 1 and "promptFeedback" in chunks[0] and not chunks[0].get("candidates"):
        return chunks[0]
    merged_parts: list[Any] = []
    usage: dict[str, Any] | None = None
    candidate: dict[str, Any] = {}
    finished = False
    for chunk in chunks:
        if "usageMetadata" in chunk:
            usage = chunk["usageMetadata"]
        candidates = chunk.get("candidates") or []
        if finished or not candidates:
            continue
        current = candidates[0]
        merged_parts += (current.get("content") or {}).get("parts") or []
        if current.get("finishReason"):
            candidate = {
                key: current[key] for key in ("finishReason", "finishMessage") if key in current
            }
            finished = True
    response: dict[str, Any] = {
        "candidates": [{"content": {"role": "model", "parts": merged_parts}, **candidate}]
    }
    if usage is not None:
        response["usageMetadata"] = usage
    return response


_FIELD_NAMES = (
    "candidates",
    "content",
    "parts",
    "text",
    "thought",
    "thoughtSignature",
    "functionCall",
    "executableCode",
    "codeExecutionResult",
    "inlineData",
    "fileData",
    "name",
    "args",
    "id",
    "finishReason",
    "finishMessage",
    "usageMetadata",
    "promptTokenCount",
    "candidatesTokenCount",
    "promptFeedback",
    "blockReason",
    "response",
    "error",
    "code",
    "message",
)


def hostile_chunks() -> st.SearchStrategy[dict[str, Any]]:
    """A JSON object shaped from response field names, with values of any JSON type, real
    parts, usage and block reasons among them."""
    keys = st.sampled_from(_FIELD_NAMES) | text_values(4)
    scalars = json_scalars(text=text_values(6), integers=INT64) | st.sampled_from(FINISH_REASONS)
    values = json_values(scalars=scalars, keys=keys, max_leaves=20)
    objects = st.dictionaries(keys, values, max_size=5)
    candidates = st.fixed_dictionaries(
        {},
        optional={
            "content": st.fixed_dictionaries(
                {"parts": st.lists(parts() | objects | values, max_size=4) | values}
            )
            | values,
            "finishReason": st.sampled_from(FINISH_REASONS) | values,
            "finishMessage": values,
        },
    )
    blocked = st.sampled_from(BLOCK_REASONS).map(lambda reason: {"blockReason": reason})
    shaped = st.fixed_dictionaries(
        {},
        optional={
            "candidates": st.lists(candidates | values, max_size=2) | values,
            "usageMetadata": usage_metadata() | objects | values,
            "promptFeedback": blocked | objects | values,
        },
    )
    return st.one_of(objects, shaped, shaped.map(lambda chunk: {"response": chunk}))

"""Hypothesis strategies for upstream Gemini responses: parts, chunks, whole streams, splits.

Building blocks
    text_values()           unicode text incl. whitespace-only, emoji and lone surrogates
    json_args()             functionCall `args` objects (nested, unicode, lone surrogates)
    parts()                 text, thought (+signature), functionCall (+id, +signature),
                            signature-only empty text, empty text, executableCode,
                            codeExecutionResult, inlineData, fileData (+signature)
    usage_metadata()        a running-total usageMetadata
    stream_chunks()         a list of GenerateContentResponse dicts ending with a finishReason
                            (usage-only chunks, empty parts and missing content included)
    gemini_streams()        GeminiStream: the logical chunks plus the upstream body bytes in one
                            framing (SSE with CRLF / LF / CR, or a JSON array), each chunk
                            optionally in the Code Assist envelope
    byte_splits(body)       the body cut into pieces at arbitrary byte offsets
    merged_response(chunks) the one non-stream response holding the same content
    hostile_chunks()        JSON objects built from response field names with values of any
                            JSON type: what a broken or future upstream might send

Independent of compat by rule: these describe Google's wire format from the references only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

__all__ = [
    "FINISH_REASONS",
    "GeminiStream",
    "byte_splits",
    "gemini_streams",
    "hostile_chunks",
    "json_args",
    "merged_response",
    "parts",
    "stream_chunks",
    "text_values",
    "usage_metadata",
]

FINISH_REASONS = (
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
    "UNEXPECTED_TOOL_CALL",
    "TOO_MANY_TOOL_CALLS",
    "FINISH_REASON_UNSPECIFIED",
    "SOMETHING_NEW",
)
_FRAMINGS = ("\r\n", "\n", "\r", "array")


def text_values(max_size: int = 12) -> st.SearchStrategy[str]:
    """Text as models produce it, plus the hostile cases: whitespace, emoji, lone surrogates."""
    return st.one_of(
        st.text(max_size=max_size),
        st.text(alphabet=" \t\n\r", min_size=1, max_size=4),
        st.text(alphabet=st.sampled_from('a é😀\ud83d\ude00\ud800\udfff}"\\'), max_size=max_size),
    )


def json_args() -> st.SearchStrategy[dict[str, Any]]:
    """A functionCall `args` object (JSON-safe ints, finite floats, unicode keys and values)."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**53), max_value=2**53),
        st.floats(allow_nan=False, allow_infinity=False, width=64),
        text_values(8),
    )
    values = st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(text_values(5), inner, max_size=3)
        ),
        max_leaves=8,
    )
    return st.dictionaries(text_values(6), values, max_size=4)


_signatures = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=",
    min_size=1,
    max_size=16,
)
_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True)


@st.composite
def _text_part(draw: st.DrawFn) -> dict[str, Any]:
    part: dict[str, Any] = {"text": draw(text_values())}
    if draw(st.integers(0, 4)) == 0:
        part["thoughtSignature"] = draw(_signatures)
    return part


@st.composite
def _thought_part(draw: st.DrawFn) -> dict[str, Any]:
    part: dict[str, Any] = {"text": draw(text_values()), "thought": True}
    if draw(st.booleans()):
        part["thoughtSignature"] = draw(_signatures)
    return part


@st.composite
def _function_call_part(draw: st.DrawFn) -> dict[str, Any]:
    call: dict[str, Any] = {"name": draw(_names), "args": draw(json_args())}
    if draw(st.integers(0, 3)) == 0:
        call["id"] = draw(st.from_regex(r"[a-z0-9]{1,10}", fullmatch=True))
    part: dict[str, Any] = {"functionCall": call}
    if draw(st.integers(0, 2)) == 0:
        part["thoughtSignature"] = draw(_signatures)
    return part


@st.composite
def _shown_part(draw: st.DrawFn) -> dict[str, Any]:
    """A part with no client field: executableCode, codeExecutionResult, inlineData, fileData."""
    part: dict[str, Any] = draw(
        st.one_of(
            st.builds(
                lambda language, code: {"executableCode": {"language": language, "code": code}},
                st.sampled_from(["PYTHON", "LANGUAGE_UNSPECIFIED"]),
                st.one_of(text_values(), st.just("print('```')\n")),
            ),
            st.builds(
                lambda outcome, output: {
                    "codeExecutionResult": {"outcome": outcome, **output},
                },
                st.sampled_from(["OUTCOME_OK", "OUTCOME_FAILED", "OUTCOME_DEADLINE_EXCEEDED"]),
                st.one_of(st.just({}), text_values().map(lambda output: {"output": output})),
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


def parts() -> st.SearchStrategy[dict[str, Any]]:
    """One response part of any kind Gemini streams."""
    return st.one_of(
        _text_part(),
        _thought_part(),
        _function_call_part(),
        _shown_part(),
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
def stream_chunks(draw: st.DrawFn, *, max_chunks: int = 6) -> list[dict[str, Any]]:
    """Logical chunks of one stream; the last one carries the finishReason."""
    chunks: list[dict[str, Any]] = []
    count = draw(st.integers(0, max_chunks))
    produced = 0
    for position in range(count + 1):
        last = position == count
        kind = (
            "parts"
            if last
            else draw(st.sampled_from(["parts", "parts", "parts", "usage", "empty"]))
        )
        chunk: dict[str, Any] = {}
        candidate: dict[str, Any] = {"index": 0}
        if kind == "parts":
            candidate["content"] = {"role": "model", "parts": draw(st.lists(parts(), max_size=4))}
        elif kind == "empty" and draw(st.booleans()):
            candidate["content"] = {"role": "model", "parts": []}
        if last:
            reason = draw(st.just("STOP") | st.sampled_from(FINISH_REASONS))
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
        chunks.append(chunk)
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
    """A stream body in a drawn framing; chunks optionally in the Code Assist envelope."""
    logical = draw(chunks if chunks is not None else stream_chunks())
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
    """`body` cut at arbitrary offsets (inside CRLF, inside UTF-8 characters, anywhere)."""
    offsets = st.lists(st.integers(0, len(body)), max_size=max_pieces - 1, unique=True)
    return offsets.map(
        lambda cuts: [
            body[a:b] for a, b in zip([0, *sorted(cuts)], [*sorted(cuts), len(body)], strict=True)
        ]
    )


def merged_response(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """The non-stream response with the same content as the stream's chunks.

    Parts of the first candidate are concatenated up to the first chunk with a finishReason;
    usageMetadata is the last one seen up to there (Gemini's counts are running totals).
    """
    merged_parts: list[Any] = []
    usage: dict[str, Any] | None = None
    candidate: dict[str, Any] = {}
    for chunk in chunks:
        if "usageMetadata" in chunk:
            usage = chunk["usageMetadata"]
        candidates = chunk.get("candidates") or []
        if not candidates:
            continue
        current = candidates[0]
        merged_parts += (current.get("content") or {}).get("parts") or []
        if current.get("finishReason"):
            candidate = {
                key: current[key] for key in ("finishReason", "finishMessage") if key in current
            }
            break
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
    """A JSON object shaped from response field names, with values of any JSON type."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**63), 2**63 - 1),
        st.floats(allow_nan=False, allow_infinity=False),
        text_values(6),
        st.sampled_from(FINISH_REASONS),
    )
    keys = st.sampled_from(_FIELD_NAMES) | text_values(4)
    values = st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=4),
        max_leaves=20,
    )
    objects = st.dictionaries(keys, values, max_size=5)
    candidates = st.fixed_dictionaries(
        {
            "content": st.fixed_dictionaries({"parts": st.lists(objects | values, max_size=4)})
            | values
        },
        optional={"finishReason": values, "finishMessage": values},
    )
    shaped = st.fixed_dictionaries(
        {"candidates": st.lists(candidates | values, max_size=2) | values},
        optional={"usageMetadata": objects | values, "promptFeedback": objects},
    )
    return st.one_of(objects, shaped, shaped.map(lambda chunk: {"response": chunk}))

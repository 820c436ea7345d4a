"""Reading Gemini responses: the facts both response translators (Anthropic, OpenAI) share.

Operations
    candidate_of(response) -> dict | None           the first candidate, envelope unwrapped
    part_kind(part) -> PartKind                     THOUGHT, TEXT, FUNCTION_CALL or OTHER
    function_args(call) -> dict                     a call's `args` as an object, strings scrubbed
    other_part_text(part) -> str | None             the text shown for code, its result, media
    prompt_block_reason(response) -> str | None     set when the prompt itself was blocked
    anthropic_stop_reason(finish, has_tool_calls=)  the Anthropic stop reason
                                                    (docs/reference/stop-reasons.md#finish-reasons)
    anthropic_stop(finish, has_tool_calls=, final_text=, stop_sequences=)
                                                    (stop_reason, stop_sequence) of a message
    candidate_failure(candidate) -> GoogleError | None
    turn_failure(response) -> GoogleError | None    the turn failed rather than ended: Gemini
                                                    could not produce a valid function call
                                                    (MALFORMED_FUNCTION_CALL); an upstream
                                                    failure for the client, never model text
    function_name(call) -> str                      a call's name, scrubbed ("" when missing)
    openai_finish_reason(finish, has_tool_calls=)   the OpenAI finish reason
                                                    (docs/reference/stop-reasons.md#finish-reasons)
    ending_stop_sequence(text, stop_sequences)      the requested stop sequence `text` ends with
    anthropic_usage(usage_metadata), openai_usage(usage_metadata)
    tool_use_id(gemini_id), openai_call_id(gemini_id), message_id(), completion_id()
    first_use_of_id(call, seen) -> str | None       a call's Gemini id, unless the reply used it

Goals
    One place for every Gemini → client decision that both protocols make the same way, so the
    non-stream and stream paths (and the Anthropic and OpenAI sides) cannot drift apart.
    Unknown finish reasons fall back to a plain stop; values are never invented.
    Never silently drop content: parts neither protocol has a field for (executableCode,
    codeExecutionResult, inlineData, fileData) are shown as text (docs/mapping.md).

Plan
    Pure functions over the decoded JSON. Ids are random base62 from `secrets`; a Gemini-given
    function call id is kept inside the client id (`toolu_g_<id>`, see docs/mapping.md) so the
    request side can send it back.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

import orjson

from compat._gemini.errors import FAILED_TURN, GoogleError
from compat._json import scrub

__all__ = [
    "FUNCTION_CALL",
    "OTHER",
    "PLAIN_STOPS",
    "PROMPT_BLOCKED",
    "TEXT",
    "THOUGHT",
    "PartKind",
    "anthropic_stop",
    "anthropic_stop_reason",
    "anthropic_usage",
    "candidate_failure",
    "candidate_of",
    "candidate_parts",
    "completion_id",
    "ending_stop_sequence",
    "first_use_of_id",
    "function_args",
    "function_name",
    "longest_stop_sequence",
    "message_id",
    "openai_call_id",
    "openai_finish_reason",
    "openai_usage",
    "other_part_text",
    "part_kind",
    "prompt_block_reason",
    "random_base62",
    "scrub_json",
    "tool_use_id",
    "turn_failure",
    "unwrap_response",
]

PartKind = Literal["thought", "text", "function_call", "other"]
THOUGHT: Final = "thought"
TEXT: Final = "text"
FUNCTION_CALL: Final = "function_call"
OTHER: Final = "other"

# A pseudo finish reason for a prompt blocked before any candidate (promptFeedback.blockReason).
PROMPT_BLOCKED: Final = "PROMPT_BLOCKED"

# Finish reasons that mean "the output was withheld by a filter"
# (docs/reference/stop-reasons.md#finish-reasons: refusal / content_filter).
_FILTERED = frozenset(
    {
        PROMPT_BLOCKED,
        "SAFETY",
        "RECITATION",
        "LANGUAGE",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
        "IMAGE_OTHER",
        "NO_IMAGE",
    }
)
# The finish reasons of a plain end: function calls then make it a tool turn, and a stop
# sequence still at the end of the text makes it a `stop_sequence` stop.
PLAIN_STOPS: Final = frozenset({None, "", "STOP", "FINISH_REASON_UNSPECIFIED"})


# -- reading responses ---------------------------------------------------------------------


def unwrap_response(response: Mapping[str, Any]) -> Mapping[str, Any]:
    """The GenerateContentResponse inside a Code Assist envelope (one level), else itself."""
    if "response" in response and "candidates" not in response:
        inner = response["response"]
        return inner if isinstance(inner, Mapping) else {}
    return response


def candidate_of(response: Mapping[str, Any]) -> dict[str, Any] | None:
    """The first candidate of a response (Code Assist envelope unwrapped), or None."""
    return _first_candidate(unwrap_response(response))


def _first_candidate(response: Mapping[str, Any]) -> dict[str, Any] | None:
    candidates = response.get("candidates")
    if isinstance(candidates, list) and candidates and isinstance(candidates[0], dict):
        return candidates[0]
    return None


def candidate_parts(candidate: Mapping[str, Any]) -> list[Any]:
    """The candidate's `content.parts` (a list, possibly empty)."""
    content = candidate.get("content")
    parts = content.get("parts") if isinstance(content, Mapping) else None
    return parts if isinstance(parts, list) else []


def prompt_block_reason(response: Mapping[str, Any]) -> str | None:
    """`promptFeedback.blockReason` when the prompt was blocked and no candidate exists."""
    response = unwrap_response(response)
    feedback = response.get("promptFeedback")
    if not isinstance(feedback, Mapping) or _first_candidate(response) is not None:
        return None
    reason = feedback.get("blockReason")
    return reason if isinstance(reason, str) and reason else None


def part_kind(part: Any) -> PartKind:
    """Classify a part: a thought, visible text, a function call, or anything else."""
    if not isinstance(part, dict):
        return OTHER
    if "functionCall" in part and isinstance(part["functionCall"], dict):
        return FUNCTION_CALL
    if isinstance(part.get("text"), str):
        return THOUGHT if part.get("thought") is True else TEXT
    return OTHER


def function_name(call: Mapping[str, Any]) -> str:
    """A functionCall's `name` with no lone surrogates ("" when it is missing or not a str)."""
    name = call.get("name")
    return scrub(name) if isinstance(name, str) else ""


def candidate_failure(candidate: Mapping[str, Any]) -> GoogleError | None:
    """The failure a candidate ended on instead of a turn: MALFORMED_FUNCTION_CALL (the model
    began a function call it could not finish). docs/mapping.md: the client gets an
    `api_error` naming it and Gemini's `finishMessage`, never that message as model text
    (a client such as Claude Code would send it back as the model's own words)."""
    if candidate.get("finishReason") != FAILED_TURN:
        return None
    notice = candidate.get("finishMessage")
    detail = scrub(notice) if isinstance(notice, str) else ""
    message = f"Gemini ended its turn with a malformed function call ({FAILED_TURN})"
    return GoogleError(502, FAILED_TURN, message + (f": {detail}" if detail else ""))


def turn_failure(response: Mapping[str, Any]) -> GoogleError | None:
    """`candidate_failure` of a whole (non-stream) response's first candidate, if any."""
    candidate = candidate_of(response)
    return candidate_failure(candidate) if candidate is not None else None


def function_args(call: Mapping[str, Any]) -> dict[str, Any]:
    """A functionCall's `args` as a JSON object with no lone surrogates.

    Missing or null args are `{}`; a non-object value (Gemini sends a Struct, so this is
    defensive) is kept under `"value"` rather than dropped.
    """
    args = call.get("args")
    if args is None:
        return {}
    try:
        orjson.dumps(args)  # succeeds only when every string is valid UTF-8: nothing to scrub
        cleaned = args
    except orjson.JSONEncodeError:
        try:
            cleaned = scrub_json(args)
        except RecursionError:
            return {"error": "arguments from the model are nested too deeply to pass on"}
    return cleaned if isinstance(cleaned, dict) else {"value": cleaned}


def other_part_text(part: Mapping[str, Any]) -> str | None:
    """The text that stands for a part with no client field, or None for an unknown part.

    executableCode → a fenced code block labelled with its language; codeExecutionResult →
    its outcome and output; inlineData / fileData (model-made images, audio...) → a line
    naming the mime type and the size or URI (the bytes have no place in a text reply).
    """
    code = part.get("executableCode")
    if isinstance(code, Mapping):
        language = code.get("language")
        label = "" if language in _UNLABELLED or not isinstance(language, str) else language
        return _fenced(_text_field(code, "code"), label.lower())
    result = part.get("codeExecutionResult")
    if isinstance(result, Mapping):
        outcome = result.get("outcome")
        outcome = scrub(outcome) if isinstance(outcome, str) and outcome else "OUTCOME_UNSPECIFIED"
        output = _text_field(result, "output")
        heading = f"Code execution result: {outcome}"
        return f"{heading}\n{_fenced(output, '')}" if output else heading
    for field in ("inlineData", "fileData"):
        media = part.get(field)
        if isinstance(media, Mapping):
            return _media_line(field, media)
    return None


_UNLABELLED = frozenset({None, "", "LANGUAGE_UNSPECIFIED"})


def _text_field(fields: Mapping[str, Any], key: str) -> str:
    value = fields.get(key)
    return scrub(value) if isinstance(value, str) else ""


def _fenced(text: str, label: str) -> str:
    """`text` in a Markdown code fence longer than any backtick run inside it."""
    longest = max((len(run) for run in _BACKTICK_RUNS.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    newline = "" if text.endswith("\n") or not text else "\n"
    return f"{fence}{label}\n{text}{newline}{fence}"


_BACKTICK_RUNS = re.compile(r"`+")


def _media_line(field: str, media: Mapping[str, Any]) -> str:
    mime_type = _text_field(media, "mimeType") or "application/octet-stream"
    if field == "fileData":
        uri = _text_field(media, "fileUri")
        return (
            f"[model output: {mime_type} file {uri}]"
            if uri
            else f"[model output: {mime_type} file]"
        )
    data = media.get("data")
    size = _base64_size(data) if isinstance(data, str) else 0
    return f"[model output: {mime_type}, {size} bytes, not shown]"


def _base64_size(data: str) -> int:
    """Decoded size of base64 text, without decoding it (whitespace-free, padded or not)."""
    length = len(data.rstrip("="))
    return length * 3 // 4


def scrub_json(value: Any) -> Any:
    """A copy of a decoded JSON value with every string (and key) scrubbed of lone surrogates."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {scrub(key): scrub_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [scrub_json(item) for item in value]
    return value


# -- stop reasons --------------------------------------------------------------------------


def anthropic_stop_reason(finish_reason: str | None, *, has_tool_calls: bool) -> str:
    """Anthropic `stop_reason` for a Gemini finish reason
    (docs/reference/stop-reasons.md#finish-reasons)."""
    if finish_reason in _FILTERED:
        return "refusal"
    if finish_reason == "MAX_TOKENS":
        return "max_tokens"
    if has_tool_calls and finish_reason in PLAIN_STOPS:
        return "tool_use"
    return "end_turn"


def anthropic_stop(
    finish_reason: str | None,
    *,
    has_tool_calls: bool,
    final_text: str | None,
    stop_sequences: Sequence[str],
) -> tuple[str, str | None]:
    """`(stop_reason, stop_sequence)` for a message whose last block is `final_text` text.

    `final_text` is None when the last block is not text (it may be just the text's end).
    Gemini strips a matched stop sequence and reports STOP, so `stop_sequence` is reported
    only when the reply ended plainly and its final text still ends with a requested one.
    """
    stop_reason = anthropic_stop_reason(finish_reason, has_tool_calls=has_tool_calls)
    if stop_reason == "end_turn" and finish_reason in PLAIN_STOPS and final_text is not None:
        sequence = ending_stop_sequence(final_text, stop_sequences)
        if sequence is not None:
            return "stop_sequence", sequence
    return stop_reason, None


def openai_finish_reason(finish_reason: str | None, *, has_tool_calls: bool) -> str:
    """OpenAI `finish_reason` for a Gemini finish reason
    (docs/reference/stop-reasons.md#finish-reasons)."""
    if finish_reason in _FILTERED or finish_reason == "OTHER":
        return "content_filter"
    if finish_reason == "MAX_TOKENS":
        return "length"
    if has_tool_calls and finish_reason in PLAIN_STOPS:
        return "tool_calls"
    return "stop"


def ending_stop_sequence(text: str, stop_sequences: Sequence[str]) -> str | None:
    """The longest requested stop sequence that `text` ends with, else None.

    Gemini strips a matched stop sequence and reports plain STOP, so a hit is usually
    invisible; only a sequence still present at the end of the text is reported.
    """
    found: str | None = None
    for sequence in stop_sequences:
        if sequence and text.endswith(sequence) and (found is None or len(sequence) > len(found)):
            found = sequence
    return found


def longest_stop_sequence(stop_sequences: Sequence[str]) -> int:
    """How many trailing characters of text `ending_stop_sequence` needs to see."""
    return max((len(sequence) for sequence in stop_sequences), default=0)


# -- usage ---------------------------------------------------------------------------------


def _count(usage_metadata: Mapping[str, Any], key: str) -> int:
    value = usage_metadata.get(key)
    return value if type(value) is int and value > 0 else 0


def anthropic_usage(usage_metadata: Mapping[str, Any] | None) -> dict[str, int]:
    """Anthropic `usage` from Gemini `usageMetadata` (running totals when streaming).

    input = prompt − cached (Gemini's prompt count includes cached tokens), cache reads =
    cached, output = candidates + thoughts (Gemini counts thoughts separately).
    """
    if not usage_metadata:
        return {
            "input_tokens": 0,
            "output_tokens": 0,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        }
    cached = _count(usage_metadata, "cachedContentTokenCount")
    return {
        "input_tokens": max(_count(usage_metadata, "promptTokenCount") - cached, 0),
        "output_tokens": _count(usage_metadata, "candidatesTokenCount")
        + _count(usage_metadata, "thoughtsTokenCount"),
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
    }


def openai_usage(usage_metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """OpenAI `usage`: prompt includes cached tokens; completion includes reasoning tokens."""
    metadata = usage_metadata or {}
    prompt = _count(metadata, "promptTokenCount")
    thoughts = _count(metadata, "thoughtsTokenCount")
    completion = _count(metadata, "candidatesTokenCount") + thoughts
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": _count(metadata, "cachedContentTokenCount")},
        "completion_tokens_details": {"reasoning_tokens": thoughts},
    }


# -- ids -----------------------------------------------------------------------------------

_BASE62 = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Byte -> base62 digit. `b % 62` is slightly uneven; these ids need uniqueness, not secrecy.
_TO_BASE62 = bytes(_BASE62[byte % 62] for byte in range(256))


def random_base62(length: int = 24) -> str:
    """`length` random base62 characters."""
    return secrets.token_bytes(length).translate(_TO_BASE62).decode("ascii")


def tool_use_id(gemini_id: object = None) -> str:
    """Anthropic tool_use id: `toolu_g_<id>` for a Gemini-given id, else `toolu_` + 24 base62."""
    return _client_call_id("toolu_", gemini_id)


def openai_call_id(gemini_id: object = None) -> str:
    """OpenAI tool call id: `call_g_<id>` for a Gemini-given id, else `call_` + 24 base62."""
    return _client_call_id("call_", gemini_id)


def first_use_of_id(call: Mapping[str, Any], seen: set[str]) -> str | None:
    """The call's Gemini `id` the first time this reply uses it, else None (mint an id).

    Client ids must be unique within a message (both APIs refuse a history that repeats one),
    so a repeated Gemini id is not kept in a second client id; `seen` collects the ids used.
    """
    gemini_id = call.get("id")
    if not isinstance(gemini_id, str) or not gemini_id or gemini_id in seen:
        return None
    seen.add(gemini_id)
    return gemini_id


def _client_call_id(prefix: str, gemini_id: object) -> str:
    if isinstance(gemini_id, str) and gemini_id:
        return prefix + "g_" + scrub(gemini_id)
    return prefix + random_base62()


def message_id() -> str:
    """A fresh Anthropic message id (`msg_` + 24 base62)."""
    return "msg_" + random_base62()


def completion_id() -> str:
    """A fresh OpenAI completion id (`chatcmpl-` + 24 base62)."""
    return "chatcmpl-" + random_base62()

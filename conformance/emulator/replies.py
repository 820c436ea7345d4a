"""Deterministic model replies: a request and a scenario in, Gemini response chunks out.

Operations:
- `count_tokens(text)` / `count_request_tokens(request)`: the emulator's tokenizer (one token per word
  or punctuation mark; fixed costs for media), used for `countTokens` and for `promptTokenCount`, so
  the two always agree.
- `plan_reply(request, model=..., scenario=...)`: the stream chunks (`GenerateContentResponse` dicts,
  usage as running totals on every chunk) and the equivalent whole (non-stream) response.
- `example_for_schema(schema, rng)`: a value valid against a schema (Gemini `Schema` or JSON Schema,
  local `$ref`s followed): a declared tool's arguments, or a structured answer.
- Structured output: with `responseMimeType: application/json` the answer text is JSON, valid against
  `responseJsonSchema` / `responseSchema` when one is given (a JSON object otherwise); with
  `text/x.enum` it is one of the schema's enum values.

Goals: same request and scenario → same reply, byte for byte; the reply is what Gemini would send for
that script, and the stream concatenates to the non-stream body. No I/O, no clock: the app decides when
bytes go out.

Plan: seed an RNG from the conversation (`contents`, system instruction, tools) and the scenario; pick
one reply shape (blocked prompt, answer to a function response, scripted or schema-derived function
calls, malformed call, structured or free text); build a list of parts with token counts; cut text into chunks of
`chunk_tokens`; stamp running usage on each chunk; merge the chunks for the non-stream form.
"""

from __future__ import annotations

import base64
import hashlib
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from conformance.emulator import json_text
from conformance.emulator.scenarios import Scenario

MEDIA_PART_TOKENS = 258  # what Gemini charges for one image; any media part counts this much

_TOKEN = re.compile(r"\s*(?:\w+|[^\w\s])")
_WORDS = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "lazy",
    "dogs",
    "while",
    "seven",
    "wise",
    "owls",
    "watch",
    "from",
    "tall",
    "oak",
    "trees",
    "under",
    "a",
    "silver",
    "moon",
    "rivers",
    "hum",
    "softly",
    "and",
    "distant",
    "bells",
    "ring",
    "across",
    "green",
    "valleys",
    "where",
    "patient",
    "farmers",
    "gather",
    "golden",
    "wheat",
    "before",
    "autumn",
    "rain",
    "arrives",
    "with",
    "cool",
    "evening",
    "winds",
]


def field(obj: Mapping[str, Any], camel: str, default: Any = None) -> Any:
    """A proto field under its lowerCamelCase or snake_case JSON name (Google accepts both)."""
    value = obj.get(camel)
    if value is None:
        snake = _SNAKE.get(camel)
        if snake is None:
            snake = _SNAKE[camel] = re.sub(r"([A-Z])", r"_\1", camel).lower()
        value = obj.get(snake)
    return default if value is None else value


_SNAKE: dict[str, str] = {}


def count_tokens(text: str) -> int:
    """Tokens in `text`: one per run of word characters and one per other non-space character."""
    return len(_TOKEN.findall(text))


def count_request_tokens(request: Mapping[str, Any]) -> int:
    """Prompt tokens of a generateContent request: contents, system instruction and tools."""
    total = 0
    for content in _as_list(field(request, "contents")):
        total += _content_tokens(content)
    system = field(request, "systemInstruction")
    if isinstance(system, Mapping):
        total += _content_tokens(system)
    tools = field(request, "tools")
    if tools:
        total += count_tokens(json_text.dumps(tools).decode())
    return total


def _content_tokens(content: Any) -> int:
    if not isinstance(content, Mapping):
        return 0
    return sum(_part_tokens(p) for p in _as_list(field(content, "parts")))


def _part_tokens(part: Any) -> int:
    if not isinstance(part, Mapping):
        return 0
    text = field(part, "text")
    if isinstance(text, str):
        return count_tokens(text)
    if field(part, "inlineData") is not None or field(part, "fileData") is not None:
        return MEDIA_PART_TOKENS
    return count_tokens(
        json_text.dumps(
            {k: v for k, v in part.items() if k not in {"thoughtSignature", "thought_signature"}}
        ).decode()
    )


@dataclass(frozen=True)
class Reply:
    """A planned reply: stream chunks in order, and the whole response they add up to."""

    chunks: tuple[dict[str, Any], ...]
    whole: dict[str, Any]


@dataclass
class _Piece:
    """One part of the reply and the output tokens it costs."""

    part: dict[str, Any]
    tokens: int
    thought: bool = False


def request_seed(request: Mapping[str, Any], scenario: Scenario) -> bytes:
    """A digest of what determines the reply: the conversation and the scenario."""
    digest = hashlib.blake2b(digest_size=16)
    for key in ("contents", "systemInstruction", "tools", "toolConfig", "generationConfig"):
        digest.update(json_text.dumps(field(request, key), sort_keys=True))
    digest.update(f"{scenario.name}/{scenario.seed}".encode())
    return digest.digest()


def response_id(seed: bytes) -> str:
    """A Gemini-looking response id (23 url-safe base64 characters) derived from the seed."""
    return base64.urlsafe_b64encode(hashlib.blake2b(seed + b"id", digest_size=18).digest())[
        :23
    ].decode()


def plan_reply(
    request: Mapping[str, Any],
    *,
    model: str,
    scenario: Scenario,
    cached_tokens: int = 0,
    include_response_id: bool = True,
) -> Reply:
    """The reply the scenario scripts for `request` (see the module plan)."""
    seed = request_seed(request, scenario)
    rng = random.Random(seed)
    prompt_tokens = count_request_tokens(request) + cached_tokens
    stamp: dict[str, Any] = {"modelVersion": model}
    if include_response_id:
        stamp["responseId"] = response_id(seed)
    if scenario.block_reason is not None:
        return _blocked_prompt(scenario.block_reason, prompt_tokens, cached_tokens, stamp)

    config = field(request, "generationConfig") or {}
    thinking = field(config, "thinkingConfig") or {}
    budget = field(thinking, "thinkingBudget", -1)
    thought_count = 0 if budget == 0 else scenario.thoughts_tokens
    if isinstance(budget, int) and budget > 0:
        thought_count = min(thought_count, budget)
    # Gemini 3 models sign their function calls even when they show no thoughts.
    signed = thought_count > 0 or model.removeprefix("models/").startswith("gemini-3")
    signature = _signature(seed) if signed else None

    finish_reason = scenario.finish_reason
    answer: list[_Piece] = []
    if finish_reason != "MALFORMED_FUNCTION_CALL":
        answer, finish_reason = _answer(request, scenario, rng, finish_reason)
    if signature and answer:
        answer[0].part["thoughtSignature"] = signature

    thoughts: list[_Piece] = []
    if thought_count and field(thinking, "includeThoughts") is True:
        thoughts = [
            _Piece({"text": text, "thought": True}, tokens, thought=True)
            for text, tokens in _chunk_text(_words(rng, thought_count), scenario, rng)
        ]
    chunks = _stamp_chunks(
        _group(thoughts, answer, scenario, rng),
        finish_reason=finish_reason,
        prompt_tokens=prompt_tokens,
        cached_tokens=cached_tokens,
        hidden_thought_tokens=0 if thoughts else thought_count,
        stamp=stamp,
        omit_finish_reason=scenario.omit_finish_reason,
    )
    return Reply(chunks=tuple(chunks), whole=merge_chunks(chunks))


def _answer(
    request: Mapping[str, Any], scenario: Scenario, rng: random.Random, finish_reason: str
) -> tuple[list[_Piece], str]:
    """The visible answer parts, and the finish reason once `maxOutputTokens` is applied."""
    responses = _last_function_responses(request)
    declared = _declared_functions(request)
    calls: list[dict[str, Any]] = []
    if responses:
        text = " ".join(_quote_response(r) for r in responses)
    else:
        calls = _function_calls(request, scenario, declared, rng)
        text = _words(rng, scenario.text_tokens) if scenario.text is None else scenario.text
        if scenario.lone_surrogate_at is not None:
            cut = min(scenario.lone_surrogate_at, len(text))
            text = text[:cut] + "\ud800" + text[cut:]
    structured = _structured_text(request, scenario, rng)
    if structured is not None:
        text = structured
    if calls:
        return [_Piece({"functionCall": c}, _call_tokens(c)) for c in calls], finish_reason
    if structured is None:
        text = _before_stop_sequence(
            text, field(field(request, "generationConfig", {}), "stopSequences")
        )
    pieces = [_Piece({"text": t}, n) for t, n in _chunk_text(text, scenario, rng)]
    limit = field(field(request, "generationConfig", {}), "maxOutputTokens")
    if isinstance(limit, int) and limit >= 0 and sum(p.tokens for p in pieces) > limit:
        pieces = _truncate(pieces, limit)
        finish_reason = "MAX_TOKENS"
    return pieces or [_Piece({"text": ""}, 0)], finish_reason


def _structured_text(
    request: Mapping[str, Any], scenario: Scenario, rng: random.Random
) -> str | None:
    """The answer a structured-output request asks for (module docstring); None for free text."""
    config = field(request, "generationConfig") or {}
    mime_type = field(config, "responseMimeType")
    schema = field(config, "responseJsonSchema") or field(config, "responseSchema")
    if mime_type == "text/x.enum" and isinstance(schema, Mapping):
        values = _as_list(field(schema, "enum"))
        return str(rng.choice(values)) if values else None
    if mime_type != "application/json":
        return None
    if isinstance(schema, Mapping):
        value = example_for_schema(schema, rng)
    else:
        value = {"answer": _words(rng, scenario.text_tokens)}
    return json_text.dumps(value).decode()


def _before_stop_sequence(text: str, stops: Any) -> str:
    """The text up to the first stop sequence, which is left out (Gemini: "The stop sequence will
    not be included as part of the response"); finishReason stays STOP, as on Gemini."""
    cuts = [text.find(s) for s in _as_list(stops) if isinstance(s, str) and s and s in text]
    return text[: min(cuts)] if cuts else text


def _function_calls(
    request: Mapping[str, Any],
    scenario: Scenario,
    declared: Mapping[str, Mapping[str, Any]],
    rng: random.Random,
) -> list[dict[str, Any]]:
    """The calls to emit when the last turn is user text: scripted, schema-derived, or forced by ANY."""
    mode, allowed = _calling_mode(request)
    if mode == "NONE" or not declared:
        return []
    callable_names = [n for n in declared if allowed is None or n in allowed]
    scripted = [
        {"name": c.name, "args": dict(c.args)}
        for c in scenario.tool_calls
        if c.name in callable_names
    ]
    if scripted:
        return scripted
    count = scenario.call_declared_tools or (1 if mode == "ANY" else 0)
    return [
        {"name": name, "args": _arguments(declared[name], rng)} for name in callable_names[:count]
    ]


def _calling_mode(request: Mapping[str, Any]) -> tuple[str, frozenset[str] | None]:
    tool_config = field(request, "toolConfig") or {}
    calling = field(tool_config, "functionCallingConfig") or {}
    allowed = field(calling, "allowedFunctionNames")
    return str(field(calling, "mode", "AUTO")), frozenset(allowed) if allowed else None


def _declared_functions(request: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    declared: dict[str, Mapping[str, Any]] = {}
    for tool in _as_list(field(request, "tools")):
        if isinstance(tool, Mapping):
            for decl in _as_list(field(tool, "functionDeclarations")):
                if isinstance(decl, Mapping) and isinstance(field(decl, "name"), str):
                    declared.setdefault(decl["name"], decl)
    return declared


def _arguments(declaration: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
    """Schema-valid arguments; a function declared without parameters gets `{}`."""
    schema = field(declaration, "parameters") or field(declaration, "parametersJsonSchema")
    args = example_for_schema(schema, rng) if isinstance(schema, Mapping) else {}
    return args if isinstance(args, dict) else {}


def _last_function_responses(request: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    contents = _as_list(field(request, "contents"))
    if not contents or not isinstance(contents[-1], Mapping):
        return []
    return [
        field(p, "functionResponse")
        for p in _as_list(field(contents[-1], "parts"))
        if isinstance(p, Mapping) and isinstance(field(p, "functionResponse"), Mapping)
    ]


def _quote_response(function_response: Mapping[str, Any]) -> str:
    """`Tool NAME returned: OUTPUT` — so an end-to-end test can see the tool really ran."""
    response = field(function_response, "response")
    output: Any = response
    if isinstance(response, Mapping):
        output = field(response, "output", field(response, "error", response))
    if not isinstance(output, str):
        output = json_text.dumps(output).decode()
    return f"Tool {field(function_response, 'name', '')} returned: {output.strip()}"


def _words(rng: random.Random, count: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(count))


def _chunk_text(text: str, scenario: Scenario, rng: random.Random) -> list[tuple[str, int]]:
    """Cut `text` into (piece, tokens) runs of `chunk_tokens` tokens, keeping every character."""
    spans = [m.end() for m in _TOKEN.finditer(text)]
    pieces: list[tuple[str, int]] = []
    start = index = 0
    while index < len(spans):
        size = max(1, round(scenario.chunk_tokens.sample(rng)))
        end_index = min(len(spans), index + size)
        end = len(text) if end_index == len(spans) else spans[end_index - 1]
        pieces.append((text[start:end], end_index - index))
        start, index = end, end_index
    if not spans and text:
        pieces.append((text, 0))
    return pieces


def _truncate(pieces: list[_Piece], limit: int) -> list[_Piece]:
    kept: list[_Piece] = []
    budget = limit
    for piece in pieces:
        if budget <= 0:
            break
        if piece.tokens > budget:
            text = piece.part["text"]
            cut = [m.end() for m in _TOKEN.finditer(text)][budget - 1]
            piece = _Piece({"text": text[:cut]}, budget)
        kept.append(piece)
        budget -= piece.tokens
    return kept


def _group(
    thoughts: list[_Piece], answer: list[_Piece], scenario: Scenario, rng: random.Random
) -> list[list[_Piece]]:
    """Pieces per chunk: one text run per chunk; all function calls together (parallel calls)."""
    groups = [[p] for p in thoughts]
    calls = [p for p in answer if "functionCall" in p.part]
    groups += [[p] for p in answer if "functionCall" not in p.part]
    if calls:
        groups.append(calls)
    return groups


def _stamp_chunks(
    groups: list[list[_Piece]],
    *,
    finish_reason: str,
    prompt_tokens: int,
    cached_tokens: int,
    hidden_thought_tokens: int,
    stamp: Mapping[str, Any],
    omit_finish_reason: bool = False,
) -> list[dict[str, Any]]:
    """Chunks with running usage; the finish reason rides on the last chunk (unless omitted)."""
    chunks: list[dict[str, Any]] = []
    candidates_tokens = 0
    thought_tokens = hidden_thought_tokens
    content_ends = finish_reason in {"SAFETY", "MALFORMED_FUNCTION_CALL"}
    for group in groups:
        for piece in group:
            if piece.thought:
                thought_tokens += piece.tokens
            else:
                candidates_tokens += piece.tokens
        candidate: dict[str, Any] = {
            "content": {"parts": [p.part for p in group], "role": "model"},
            "index": 0,
        }
        chunks.append(
            _chunk(
                candidate, prompt_tokens, candidates_tokens, thought_tokens, cached_tokens, stamp
            )
        )
    if content_ends or not chunks:
        candidate = {"index": 0}
        if finish_reason == "MALFORMED_FUNCTION_CALL":
            candidate["finishMessage"] = "Malformed function call: the model's call did not parse."
        chunks.append(
            _chunk(
                candidate, prompt_tokens, candidates_tokens, thought_tokens, cached_tokens, stamp
            )
        )
    last = chunks[-1]["candidates"][0]
    if not omit_finish_reason:
        last["finishReason"] = finish_reason
    if finish_reason == "SAFETY":
        last["safetyRatings"] = [
            {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True}
        ]
    return chunks


def _chunk(
    candidate: dict[str, Any],
    prompt_tokens: int,
    candidates_tokens: int,
    thought_tokens: int,
    cached_tokens: int,
    stamp: Mapping[str, Any],
) -> dict[str, Any]:
    usage = _usage(prompt_tokens, cached_tokens)
    usage["candidatesTokenCount"] = candidates_tokens
    usage["totalTokenCount"] = prompt_tokens + candidates_tokens + thought_tokens
    if thought_tokens:
        usage["thoughtsTokenCount"] = thought_tokens
    return {"candidates": [candidate], "usageMetadata": usage, **stamp}


def _usage(prompt_tokens: int, cached_tokens: int) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "promptTokenCount": prompt_tokens,
        "totalTokenCount": prompt_tokens,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt_tokens}],
    }
    if cached_tokens:
        usage["cachedContentTokenCount"] = cached_tokens
    return usage


def _blocked_prompt(
    reason: str, prompt_tokens: int, cached_tokens: int, stamp: Mapping[str, Any]
) -> Reply:
    chunk = {
        "promptFeedback": {
            "blockReason": reason,
            "safetyRatings": [
                {
                    "category": "HARM_CATEGORY_DANGEROUS_CONTENT",
                    "probability": "HIGH",
                    "blocked": True,
                }
            ],
        },
        "usageMetadata": _usage(prompt_tokens, cached_tokens),
        **stamp,
    }
    return Reply(chunks=(chunk,), whole=dict(chunk))


def merge_chunks(chunks: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The non-stream response equivalent to `chunks`: adjacent text of one kind joined."""
    last = chunks[-1]
    if "candidates" not in last:
        return dict(last)
    parts: list[dict[str, Any]] = []
    for chunk in chunks:
        content = chunk["candidates"][0].get("content")
        for part in content["parts"] if content else ():
            previous = parts[-1] if parts else None
            if (
                previous is not None
                and "text" in part
                and "text" in previous
                and previous.get("thought") == part.get("thought")
                and "thoughtSignature" not in part
            ):
                previous["text"] += part["text"]
            else:
                parts.append(dict(part))
    candidate = {k: v for k, v in last["candidates"][0].items() if k != "content"}
    if parts:
        candidate = {"content": {"parts": parts, "role": "model"}, **candidate}
    return {**last, "candidates": [candidate]}


def _call_tokens(call: Mapping[str, Any]) -> int:
    return count_tokens(call["name"]) + count_tokens(json_text.dumps(call["args"]).decode())


def _signature(seed: bytes) -> str:
    return base64.b64encode(hashlib.blake2b(seed + b"signature", digest_size=48).digest()).decode()


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


# --- values valid against a schema ----------------------------------------------------------------

_MAX_DEPTH = 6  # optional properties and extra array items stop here
_HARD_DEPTH = 32  # a schema that requires deeper nesting (a required self-reference) gets null


def example_for_schema(
    schema: Mapping[str, Any], rng: random.Random, depth: int = 0, *, root: Any = None
) -> Any:
    """A value valid against `schema` (Gemini Schema or JSON Schema).

    Local references (`#/$defs/Name`, `#/definitions/Name`) are resolved against `root` (the
    schema itself at the top); `allOf` branches are merged. `pattern` only steers the choice among
    `enum` values; free strings are vocabulary words.
    """
    root = schema if root is None else root
    schema = _resolved(schema, root)
    if depth > _HARD_DEPTH:
        return None
    if "const" in schema:
        return schema["const"]
    enum = field(schema, "enum")
    if isinstance(enum, list) and enum:
        return rng.choice(_matching(enum, schema))
    for key in ("anyOf", "oneOf"):
        branches = [b for b in _as_list(field(schema, key)) if isinstance(b, Mapping)]
        if branches:
            return example_for_schema(branches[0], rng, depth + 1, root=root)
    kind = _schema_type(schema)
    if kind == "object":
        return _example_object(schema, rng, depth, root)
    if kind == "array":
        return _example_array(schema, rng, depth, root)
    if kind == "integer":
        low, high = _bounds(schema, 0, 100)
        return rng.randint(int(-(-low // 1)), int(high // 1))
    if kind == "number":
        low, high = _bounds(schema, 0.0, 100.0)
        return round(rng.uniform(low, high), 3) if high > low else low
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    return _example_string(schema, rng)


def _resolved(schema: Mapping[str, Any], root: Any) -> Mapping[str, Any]:
    """`schema` with a local `$ref` replaced by its target and `allOf` branches merged in."""
    for _ in range(_HARD_DEPTH):  # a chain of references, bounded against cycles
        reference = schema.get("$ref")
        if not isinstance(reference, str) or not reference.startswith("#/"):
            break
        target: Any = root
        for step in reference[2:].split("/"):
            step = step.replace("~1", "/").replace("~0", "~")
            target = target.get(step) if isinstance(target, Mapping) else None
        if not isinstance(target, Mapping):
            break
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    branches = [b for b in _as_list(schema.get("allOf")) if isinstance(b, Mapping)]
    if branches:
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        for branch in branches:
            branch = _resolved(branch, root)
            properties = {**(merged.get("properties") or {}), **(branch.get("properties") or {})}
            required = [*_as_list(merged.get("required")), *_as_list(branch.get("required"))]
            merged = {**branch, **merged}
            if properties:
                merged["properties"] = properties
            if required:
                merged["required"] = required
        schema = merged
    return schema


def _matching(values: list[Any], schema: Mapping[str, Any]) -> list[Any]:
    """The enum values that meet the schema's string constraints (all of them if none does)."""
    pattern = field(schema, "pattern")
    low, high = field(schema, "minLength", 0), field(schema, "maxLength", 1 << 30)

    def fits(value: Any) -> bool:
        if not isinstance(value, str) or not low <= len(value) <= high:
            return False
        try:
            return not isinstance(pattern, str) or re.search(pattern, value) is not None
        except re.error:
            return True

    return [v for v in values if fits(v)] or values


def _schema_type(schema: Mapping[str, Any]) -> str:
    kind = field(schema, "type")
    if isinstance(kind, list):
        kind = next((k for k in kind if str(k).lower() != "null"), "null")
    if isinstance(kind, str):
        return kind.lower()
    if "properties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return "string"


def _example_object(
    schema: Mapping[str, Any], rng: random.Random, depth: int, root: Any
) -> dict[str, Any]:
    properties = field(schema, "properties")
    if not isinstance(properties, Mapping):
        return {}
    required = set(_as_list(field(schema, "required")))
    result: dict[str, Any] = {}
    for name, sub in properties.items():
        if not isinstance(sub, Mapping):
            continue
        if name in required or (depth < _MAX_DEPTH and rng.random() < 0.5):
            result[name] = example_for_schema(sub, rng, depth + 1, root=root)
    return result


def _example_array(
    schema: Mapping[str, Any], rng: random.Random, depth: int, root: Any
) -> list[Any]:
    items = field(schema, "items")
    low = int(field(schema, "minItems", 0))
    high = int(field(schema, "maxItems", max(low, 2)))
    count = low if depth >= _MAX_DEPTH else rng.randint(low, max(low, min(high, low + 2)))
    if not isinstance(items, Mapping):
        return ["item"] * count
    return [example_for_schema(items, rng, depth + 1, root=root) for _ in range(count)]


def _example_string(schema: Mapping[str, Any], rng: random.Random) -> str:
    """A formatted value when the format allows and the length limits agree, else a word."""
    min_length = int(field(schema, "minLength", 0))
    max_length = field(schema, "maxLength")
    limit = int(max_length) if isinstance(max_length, int) else 1 << 30
    formatted = _FORMATTED.get(str(field(schema, "format")))
    if formatted is not None and min_length <= len(formatted) <= limit:
        return formatted
    text = rng.choice(_WORDS)
    text = text + "x" * max(0, min_length - len(text))
    return text[:limit]


_FORMATTED = {
    "date-time": "2025-06-01T12:00:00Z",
    "date": "2025-06-01",
    "time": "12:00:00Z",
    "email": "someone@example.com",
    "uri": "https://example.com/",
    "uuid": "6f1c2a52-3c1d-4f7e-9a3b-2d4e5f607182",
}


def _bounds(schema: Mapping[str, Any], low: float, high: float) -> tuple[float, float]:
    minimum = field(schema, "minimum", field(schema, "exclusiveMinimum"))
    maximum = field(schema, "maximum", field(schema, "exclusiveMaximum"))
    if isinstance(minimum, int | float):
        low = float(minimum) + (
            1 if "exclusiveMinimum" in schema and "minimum" not in schema else 0
        )
        high = max(high, low)
    if isinstance(maximum, int | float):
        high = float(maximum) - (
            1 if "exclusiveMaximum" in schema and "maximum" not in schema else 0
        )
        low = min(low, high)
    return low, high

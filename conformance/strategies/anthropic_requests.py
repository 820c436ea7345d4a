"""Hypothesis building blocks for valid Anthropic Messages requests
(docs/reference/anthropic.md#request-body, #content-blocks).

Strategies
    texts()                  non-empty text (any Unicode that can be sent as UTF-8)
    text_blocks()            `{"type":"text", ...}`, sometimes with `cache_control`
    text_contents()          a message `content`: a string or a list of text blocks
    systems()                `system`: a string or a list of text blocks
    sampling_fields()        max_tokens (always), temperature, top_p, top_k,
                             stop_sequences, metadata, stream (each only sometimes)
    text_requests()          text-only requests: no tools, no media, no thinking blocks
    tool_definitions()       a list of custom tools with unique, Gemini-valid names
    image_blocks()           base64 and URL images
    document_blocks()        PDF (base64, URL), text and content documents
    search_result_blocks()   `search_result` blocks
    thinking_blocks()        `thinking` (with signature) and `redacted_thinking` blocks
    tool_requests()          requests with tools and well-formed tool_use/tool_result turns
                             (parallel calls, is_error, images in results, thinking, ids of
                             both kinds: minted `toolu_...` and Gemini-derived `toolu_g_...`)
    requests()               any of the above request kinds
    damaged_requests()       a valid request with one node replaced by junk or deleted
    hostile_requests()       arbitrary JSON, request-shaped junk, or a damaged request

Every request drawn is one the Anthropic API accepts and that can be converted faithfully:
conversations end with a user message and every tool_use is answered by a tool_result in
the next user message. Independent of `compat` (the oracle must not import the code it
judges).
"""

from __future__ import annotations

import base64
from typing import Any

from hypothesis import strategies as st

from conformance.strategies.json_values import json_scalars, json_values

__all__ = [
    "damaged_requests",
    "document_blocks",
    "hostile_requests",
    "image_blocks",
    "requests",
    "sampling_fields",
    "search_result_blocks",
    "systems",
    "text_blocks",
    "text_contents",
    "text_requests",
    "texts",
    "thinking_blocks",
    "tool_definitions",
    "tool_requests",
]

Json = dict[str, Any]

_MODELS = ("claude-sonnet-4-5-20250929", "claude-opus-4-1-20250805", "claude-3-5-haiku-20241022")
_NAME_START = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_"
_NAME_REST = _NAME_START + "0123456789-"
_BASE62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
_IMAGE_EXTENSIONS = ("jpg", "jpeg", "png", "gif", "webp", "PNG")


def texts(max_size: int = 40) -> st.SearchStrategy[str]:
    """Non-empty text without lone surrogates."""
    return st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=max_size)


def _cache_control() -> st.SearchStrategy[Json]:
    return st.sampled_from(
        [
            {"type": "ephemeral"},
            {"type": "ephemeral", "ttl": "5m"},
            {"type": "ephemeral", "ttl": "1h"},
        ]
    )


@st.composite
def text_blocks(draw: st.DrawFn) -> Json:
    block: Json = {"type": "text", "text": draw(texts())}
    if draw(st.booleans()):
        block["cache_control"] = draw(_cache_control())
    return block


def text_contents() -> st.SearchStrategy[str | list[Json]]:
    return st.one_of(texts(), st.lists(text_blocks(), min_size=1, max_size=3))


def systems() -> st.SearchStrategy[str | list[Json]]:
    return st.one_of(texts(80), st.just(""), st.lists(text_blocks(), min_size=0, max_size=3))


@st.composite
def sampling_fields(draw: st.DrawFn) -> Json:
    fields: Json = {"max_tokens": draw(st.integers(1, 64000))}
    optional: dict[str, st.SearchStrategy[Any]] = {
        "temperature": st.one_of(st.floats(0, 1), st.sampled_from([0, 1])),
        "top_p": st.floats(0, 1),
        "top_k": st.integers(1, 500),
        "stop_sequences": st.lists(texts(10), max_size=5),
        "metadata": st.one_of(
            st.just({}), st.builds(lambda u: {"user_id": u}, st.none() | texts())
        ),
        "stream": st.booleans(),
    }
    for name, strategy in optional.items():
        if draw(st.booleans()):
            fields[name] = draw(strategy)
    return fields


@st.composite
def _text_messages(draw: st.DrawFn) -> list[Json]:
    """Alternating or repeated roles, always ending with a user message."""
    count = draw(st.integers(1, 6))
    roles = [draw(st.sampled_from(["user", "assistant"])) for _ in range(count - 1)] + ["user"]
    return [{"role": role, "content": draw(text_contents())} for role in roles]


@st.composite
def text_requests(draw: st.DrawFn) -> Json:
    """A text-only request: the shape the converter fast path is for."""
    request: Json = {"model": draw(st.sampled_from(_MODELS)), "messages": draw(_text_messages())}
    request.update(draw(sampling_fields()))
    if draw(st.booleans()):
        request["system"] = draw(systems())
    return request


# ---------------------------------------------------------------------------------------
# tools


@st.composite
def _tool_names(draw: st.DrawFn) -> str:
    first = draw(st.sampled_from(_NAME_START))
    rest = draw(st.text(st.sampled_from(_NAME_REST), max_size=20))
    return first + rest


@st.composite
def _property_schemas(draw: st.DrawFn) -> Json:
    schema: Json = draw(
        st.sampled_from(
            [
                {"type": "string"},
                {"type": "integer", "minimum": 0},
                {"type": "number", "exclusiveMinimum": 0},
                {"type": "boolean", "default": False},
                {"type": "string", "enum": ["a", "b"]},
                {"type": "string", "const": "fixed"},
                {"type": "array", "items": {"type": "string"}},
                {"anyOf": [{"type": "string"}, {"type": "null"}]},
                {
                    "type": "object",
                    "propertyNames": {"pattern": "^[a-z]+$"},
                    "additionalProperties": {"type": "string"},
                },
            ]
        )
    )
    if draw(st.booleans()):
        schema = {**schema, "description": draw(texts())}
    return schema


@st.composite
def _input_schemas(draw: st.DrawFn) -> Json:
    names = draw(
        st.lists(st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True), max_size=4, unique=True)
    )
    properties = {name: draw(_property_schemas()) for name in names}
    schema: Json = {"type": "object", "properties": properties}
    if names and draw(st.booleans()):
        schema["required"] = draw(st.lists(st.sampled_from(names), unique=True, min_size=1))
    if draw(st.booleans()):
        schema["additionalProperties"] = False
        schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    return schema


@st.composite
def tool_definitions(draw: st.DrawFn, min_size: int = 1, max_size: int = 5) -> list[Json]:
    names = draw(st.lists(_tool_names(), min_size=min_size, max_size=max_size, unique=True))
    tools = []
    for name in names:
        tool: Json = {"name": name, "input_schema": draw(_input_schemas())}
        if draw(st.booleans()):
            tool["description"] = draw(texts(60))
        if draw(st.booleans()):
            tool["cache_control"] = {"type": "ephemeral"}
        tools.append(tool)
    return tools


# ---------------------------------------------------------------------------------------
# media and thinking


def _base64() -> st.SearchStrategy[str]:
    """Standard base64 with padding (image data and thought signatures are bytes)."""
    return st.binary(min_size=1, max_size=18).map(lambda raw: base64.b64encode(raw).decode("ascii"))


@st.composite
def image_blocks(draw: st.DrawFn) -> Json:
    if draw(st.booleans()):
        data = draw(_base64())
        source: Json = {
            "type": "base64",
            "media_type": draw(st.sampled_from(_IMAGE_TYPES)),
            "data": data,
        }
    else:
        stem = draw(st.text(_BASE62, min_size=1, max_size=8))
        extension = draw(st.sampled_from(_IMAGE_EXTENSIONS))
        query = draw(st.sampled_from(["", "?w=200", "#frag"]))
        source = {"type": "url", "url": f"https://example.com/img/{stem}.{extension}{query}"}
    return {"type": "image", "source": source}


@st.composite
def document_blocks(draw: st.DrawFn) -> Json:
    """PDF (base64 or URL), plain-text and content documents, sometimes titled."""
    kind = draw(st.sampled_from(["base64", "url", "text", "content"]))
    if kind == "base64":
        source: Json = {"type": "base64", "media_type": "application/pdf", "data": draw(_base64())}
    elif kind == "url":
        source = {
            "type": "url",
            "url": f"https://example.com/doc/{draw(st.text(_BASE62, min_size=1, max_size=8))}.pdf",
        }
    elif kind == "text":
        source = {"type": "text", "media_type": "text/plain", "data": draw(texts())}
    else:
        content = draw(
            st.one_of(
                texts(), st.lists(st.one_of(text_blocks(), image_blocks()), min_size=1, max_size=2)
            )
        )
        source = {"type": "content", "content": content}
    block: Json = {"type": "document", "source": source}
    for field in ("title", "context"):
        if draw(st.booleans()):
            block[field] = draw(texts())
    if draw(st.booleans()):
        block["citations"] = {"enabled": draw(st.booleans())}
    return block


@st.composite
def search_result_blocks(draw: st.DrawFn) -> Json:
    return {
        "type": "search_result",
        "source": f"https://example.com/{draw(st.text(_BASE62, min_size=1, max_size=8))}",
        "title": draw(texts()),
        "content": draw(st.lists(text_blocks(), min_size=1, max_size=2)),
    }


@st.composite
def thinking_blocks(draw: st.DrawFn) -> Json:
    if draw(st.integers(0, 3)) == 0:
        return {"type": "redacted_thinking", "data": draw(_base64())}
    thinking = draw(st.one_of(st.just(""), texts()))
    signature = draw(st.one_of(st.just(""), _base64()))
    return {"type": "thinking", "thinking": thinking, "signature": signature}


# ---------------------------------------------------------------------------------------
# conversations with tools


def _tool_use_ids() -> st.SearchStrategy[str]:
    minted = st.text(_BASE62, min_size=24, max_size=24).map(lambda s: "toolu_" + s)
    from_gemini = st.text(_BASE62, min_size=1, max_size=12).map(lambda s: "toolu_g_" + s)
    return st.one_of(minted, from_gemini)


@st.composite
def _arguments(draw: st.DrawFn) -> Json:
    keys = draw(st.lists(st.from_regex(r"[a-z]{1,6}", fullmatch=True), max_size=3, unique=True))
    values = st.one_of(st.integers(-1000, 1000), texts(12), st.booleans(), st.none())
    return {key: draw(values) for key in keys}


@st.composite
def _tool_result(draw: st.DrawFn, tool_use_id: str) -> Json:
    block: Json = {"type": "tool_result", "tool_use_id": tool_use_id}
    shape = draw(st.integers(0, 3))
    if shape == 1:
        block["content"] = draw(st.text(st.characters(exclude_categories=("Cs",)), max_size=30))
    elif shape == 2:
        block["content"] = draw(st.lists(text_blocks(), max_size=2))
    elif shape == 3:
        block["content"] = [draw(text_blocks()), draw(image_blocks())]
    if draw(st.booleans()):
        block["is_error"] = draw(st.booleans())
    return block


@st.composite
def _tool_round(draw: st.DrawFn, names: list[str], used_ids: set[str]) -> list[Json]:
    """An assistant message with 1-3 tool calls and the user message answering them."""
    assistant: list[Json] = []
    if draw(st.booleans()):
        assistant.append(draw(thinking_blocks()))
    if draw(st.booleans()):
        assistant.append(draw(text_blocks()))
    ids = draw(
        st.lists(
            _tool_use_ids().filter(lambda i: i not in used_ids), min_size=1, max_size=3, unique=True
        )
    )
    used_ids.update(ids)
    for tool_use_id in ids:
        assistant.append(
            {
                "type": "tool_use",
                "id": tool_use_id,
                "name": draw(st.sampled_from(names)),
                "input": draw(_arguments()),
            }
        )
    answers = [draw(_tool_result(tool_use_id)) for tool_use_id in draw(st.permutations(ids))]
    if draw(st.booleans()):
        answers.append(draw(text_blocks()))
    return [{"role": "assistant", "content": assistant}, {"role": "user", "content": answers}]


@st.composite
def tool_requests(draw: st.DrawFn) -> Json:
    """A request with tools and 0-3 rounds of tool_use/tool_result, ending with a user turn."""
    tools = draw(tool_definitions())
    names = [tool["name"] for tool in tools]
    first: list[Json] = [draw(text_blocks())]
    first += draw(
        st.lists(st.one_of(image_blocks(), document_blocks(), search_result_blocks()), max_size=2)
    )
    messages: list[Json] = [{"role": "user", "content": first}]
    used_ids: set[str] = set()
    for _ in range(draw(st.integers(0, 3))):
        messages.extend(draw(_tool_round(names, used_ids)))
    if draw(st.booleans()):
        messages.append({"role": "assistant", "content": draw(text_contents())})
        messages.append({"role": "user", "content": draw(text_contents())})
    request: Json = {"model": draw(st.sampled_from(_MODELS)), "messages": messages, "tools": tools}
    request.update(draw(sampling_fields()))
    choice = draw(st.integers(0, 4))
    if choice == 1:
        request["tool_choice"] = {"type": "auto", "disable_parallel_tool_use": draw(st.booleans())}
    elif choice == 2:
        request["tool_choice"] = {"type": "any"}
    elif choice == 3:
        request["tool_choice"] = {"type": "tool", "name": draw(st.sampled_from(names))}
    elif choice == 4:
        request["tool_choice"] = {"type": "none"}
    if draw(st.booleans()):
        budget = draw(st.integers(1024, 32000))
        request["thinking"] = {"type": "enabled", "budget_tokens": budget}
    if draw(st.booleans()):
        request["system"] = draw(systems())
    return request


def requests() -> st.SearchStrategy[Json]:
    """Any valid request: text-only or with tools."""
    return st.one_of(text_requests(), tool_requests())


# ---------------------------------------------------------------------------------------
# invalid input: what a converter or a proxy must refuse cleanly

_JSON_VALUES = json_values(
    scalars=json_scalars(
        integers=st.integers(-(2**70), 2**70),
        floats=st.floats(allow_nan=False),  # infinities too: a Python caller's dict may hold them
        text=st.text(max_size=6),
    ),
    keys=st.text(max_size=6),
    max_leaves=8,
    max_size=3,
)
_BLOCK_TYPES = st.sampled_from(
    [
        "text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking",
        "search_result", "server_tool_use", "container_upload", "video",
    ]
)  # fmt: skip
_SOURCES = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["base64", "url", "text", "content", "file"]) | _JSON_VALUES,
        "media_type": st.sampled_from(["image/png", "application/pdf", "text/plain"])
        | _JSON_VALUES,
        "data": st.text(max_size=4) | _JSON_VALUES,
        "url": st.sampled_from(["https://x/a.png", "https://x/a", "https://x/a.pdf"])
        | _JSON_VALUES,
        "content": st.text(max_size=4) | _JSON_VALUES,
    },
)
_IDS = st.sampled_from(["toolu_1", "toolu_2", "toolu_g_x"]) | _JSON_VALUES


def _blocks(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"type": _BLOCK_TYPES | _JSON_VALUES},
        optional={
            "text": st.text(max_size=6) | _JSON_VALUES,
            "source": _SOURCES | _JSON_VALUES,
            "id": _IDS,
            "tool_use_id": _IDS,
            "name": st.sampled_from(["Bash", "Read"]) | _JSON_VALUES,
            "input": st.dictionaries(st.text(max_size=3), _JSON_VALUES, max_size=2) | _JSON_VALUES,
            "content": st.text(max_size=6) | st.lists(inner, max_size=2) | _JSON_VALUES,
            "is_error": st.booleans() | _JSON_VALUES,
            "thinking": st.text(max_size=6) | _JSON_VALUES,
            "signature": st.text(max_size=6) | _JSON_VALUES,
            "data": st.text(max_size=6) | _JSON_VALUES,
            "title": st.text(max_size=6) | _JSON_VALUES,
        },
    )


_BLOCKS = st.recursive(_blocks(st.just({"type": "text", "text": "x"})), _blocks, max_leaves=4)
_MESSAGES = st.fixed_dictionaries(
    {
        "role": st.sampled_from(["user", "user", "assistant", "assistant", "system"]),
        "content": st.text(max_size=6) | st.lists(_BLOCKS, max_size=4),
    }
)
# The envelope is mostly valid so that the junk reaches the messages; `damaged_requests`
# and plain JSON values cover a broken envelope.
_JUNK_REQUESTS = st.fixed_dictionaries(
    {
        "model": st.just("claude-sonnet-4-5"),
        "max_tokens": st.integers(1, 100),
        "messages": st.lists(_MESSAGES | _JSON_VALUES, min_size=1, max_size=5),
    },
    optional={
        "system": st.text(max_size=6) | st.lists(_BLOCKS, max_size=2) | _JSON_VALUES,
        "tools": st.lists(
            st.fixed_dictionaries({}, optional={"name": st.text(max_size=6), "input_schema": _JSON_VALUES, "type": _JSON_VALUES})
            | _JSON_VALUES,
            max_size=3,
        )
        | _JSON_VALUES,
        "tool_choice": st.fixed_dictionaries({}, optional={"type": st.sampled_from(["auto", "any", "tool", "none"]), "name": _JSON_VALUES})
        | _JSON_VALUES,
        "thinking": st.fixed_dictionaries({}, optional={"type": st.sampled_from(["enabled", "disabled", "adaptive"]), "budget_tokens": _JSON_VALUES})
        | _JSON_VALUES,
        "temperature": _JSON_VALUES,
        "stop_sequences": _JSON_VALUES,
        "metadata": _JSON_VALUES,
        "stream": _JSON_VALUES,
    },
)  # fmt: skip


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


@st.composite
def damaged_requests(draw: st.DrawFn) -> Any:
    """A valid request with one node replaced by arbitrary JSON, or deleted."""
    request = draw(requests())
    path = draw(st.sampled_from(_paths(request)[1:]))
    parent = request
    for key in path[:-1]:
        parent = parent[key]
    if draw(st.booleans()):
        parent[path[-1]] = draw(_JSON_VALUES)
    elif isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent.pop(path[-1])
    return request


def hostile_requests() -> st.SearchStrategy[Any]:
    """Arbitrary JSON, request-shaped junk, or a valid request damaged in one place."""
    return st.one_of(_JUNK_REQUESTS, damaged_requests(), _JSON_VALUES)

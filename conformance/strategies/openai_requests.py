"""Hypothesis strategies for the OpenAI side of a gateway: Chat Completions requests.

Building blocks
    plain_chat_requests()        text-only chats with sampling parameters (some out of range)
    valid_openai_requests()      Chat Completions requests a correct gateway must accept:
                                 text/image/audio/file parts, parallel tool calls answered by
                                 tool messages in any order, tools, tool_choice, parameters
    openai_requests()            the above, mutated (one value replaced by garbage or one key
                                 removed), or a dict of the known keys holding arbitrary JSON

What Gemini sends back (parts, streams, splits, odd responses) is drawn from
`gemini_responses`, the one set of building blocks both dialects' tests share.
Written from docs/reference/gemini.md and docs/reference/openai.md alone: this module does not
import `compat`.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from conformance.strategies.json_values import json_scalars, json_values

JSON = Any

# Garbage for mutated requests: any JSON value, integers far beyond int32 included.
_any_json = json_values(
    scalars=json_scalars(integers=st.integers(-(2**40), 2**40), text=st.text(max_size=12)),
    max_leaves=10,
)
plain_text = st.text(min_size=1, max_size=20)
function_names = st.sampled_from(
    ["get_weather", "search", "read_file", "_private.tool", "ns:run-1"]
)
tool_call_ids = st.one_of(
    st.from_regex(r"call_[A-Za-z0-9]{8}", fullmatch=True),
    st.from_regex(r"call_g_[A-Za-z0-9]{6}", fullmatch=True),
    st.from_regex(r"toolu_[A-Za-z0-9]{6}", fullmatch=True),
)
BASE64_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="

# -- valid requests ----------------------------------------------------------------------

user_parts = st.one_of(
    st.builds(lambda text: {"type": "text", "text": text}, plain_text),
    st.just({"type": "image_url", "image_url": {"url": f"data:image/png;base64,{BASE64_PNG}"}}),
    st.sampled_from(
        [
            {
                "type": "image_url",
                "image_url": {"url": "https://example.com/cat.jpg", "detail": "low"},
            },
            {"type": "image_url", "image_url": {"url": "https://example.com/render?id=3"}},
            {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
            {
                "type": "file",
                "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"},
            },
            {"type": "file", "file": {"file_data": "JVBERi0=", "filename": "report.pdf"}},
        ]
    ),
)
user_messages = st.builds(
    lambda content, name: {"role": "user", "content": content, **name},
    st.one_of(plain_text, st.lists(user_parts, min_size=1, max_size=3)),
    st.sampled_from([{}, {"name": "alice"}]),
)
system_messages = st.builds(
    lambda role, content: {"role": role, "content": content},
    st.sampled_from(["system", "developer"]),
    st.one_of(
        plain_text,
        st.lists(st.builds(lambda t: {"type": "text", "text": t}, plain_text), max_size=2),
    ),
)
tool_arguments = st.dictionaries(
    st.text(min_size=1, max_size=6), st.one_of(st.integers(), plain_text, st.booleans()), max_size=3
)


@st.composite
def tool_exchanges(draw: st.DrawFn) -> list[JSON]:
    """An assistant message with 1-3 tool calls, then one tool message per call, any order."""
    ids = draw(st.lists(tool_call_ids, min_size=1, max_size=3, unique=True))
    calls = [
        {
            "id": call_id,
            "type": "function",
            "function": {
                "name": draw(function_names),
                "arguments": ""
                if draw(st.integers(0, 9)) == 0
                else json.dumps(draw(tool_arguments)),
            },
        }
        for call_id in ids
    ]
    content = draw(st.one_of(st.none(), plain_text))
    answers = [
        {
            "role": "tool",
            "tool_call_id": call_id,
            "content": draw(
                st.one_of(st.text(max_size=10), st.just([{"type": "text", "text": "ok"}]))
            ),
        }
        for call_id in draw(st.permutations(ids))
    ]
    return [{"role": "assistant", "content": content, "tool_calls": calls}, *answers]


@st.composite
def conversations(draw: st.DrawFn) -> list[JSON]:
    """System messages, then user turns, plain assistant replies and tool exchanges."""
    messages: list[JSON] = draw(st.lists(system_messages, max_size=2))
    messages.append(draw(user_messages))
    for _ in range(draw(st.integers(0, 3))):
        if draw(st.booleans()):
            messages.extend(draw(tool_exchanges()))
        else:
            messages.append({"role": "assistant", "content": draw(plain_text)})
            messages.append(draw(user_messages))
    return messages


tool_schemas = st.one_of(
    st.just({"type": "object", "properties": {}}),
    st.just(
        {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City"},
                "unit": {"type": ["string", "null"], "enum": ["c", "f", None]},
                "days": {"type": "integer", "minimum": 1, "exclusiveMaximum": 15},
            },
            "required": ["city"],
            "additionalProperties": False,
            "$schema": "http://json-schema.org/draft-07/schema#",
        }
    ),
)
tools = st.lists(
    st.builds(
        lambda name, schema, description: {
            "type": "function",
            "function": {"name": name, "parameters": schema, **description},
        },
        function_names,
        tool_schemas,
        st.sampled_from([{}, {"description": "A tool."}, {"strict": True}]),
    ),
    min_size=1,
    max_size=4,
    unique_by=lambda tool: tool["function"]["name"],
)


@st.composite
def valid_openai_requests(draw: st.DrawFn) -> JSON:
    """A Chat Completions request the OpenAI API (and a faithful gateway) accepts."""
    request: JSON = {"model": "gpt-4o", "messages": draw(conversations())}
    if draw(st.booleans()):
        request["tools"] = draw(tools)
        names = [tool["function"]["name"] for tool in request["tools"]]
        request["tool_choice"] = draw(
            st.sampled_from(
                ["auto", "none", "required", {"type": "function", "function": {"name": names[0]}}]
            )
        )
        request["parallel_tool_calls"] = draw(st.booleans())
    optional = {
        "max_completion_tokens": st.integers(1, 65536),
        "max_tokens": st.integers(1, 8192),
        "temperature": st.floats(0, 2),
        "top_p": st.floats(0, 1),
        "n": st.just(1),
        "seed": st.integers(-(2**31), 2**31 - 1),
        "presence_penalty": st.floats(-2, 2),
        "frequency_penalty": st.floats(-2, 2),
        "stop": st.one_of(plain_text, st.lists(plain_text, min_size=1, max_size=4)),
        "stream": st.booleans(),
        "stream_options": st.just({"include_usage": True}),
        "user": plain_text,
        "metadata": st.just({"k": "v"}),
        "store": st.booleans(),
        "reasoning_effort": st.sampled_from(["none", "minimal", "low", "medium", "high"]),
        "response_format": st.sampled_from(
            [
                {"type": "text"},
                {"type": "json_object"},
                {
                    "type": "json_schema",
                    "json_schema": {
                        "name": "answer",
                        "strict": True,
                        "schema": {
                            "type": "object",
                            "properties": {"answer": {"type": "string"}},
                            "required": ["answer"],
                            "additionalProperties": False,
                        },
                    },
                },
            ]
        ),
    }
    for key in draw(st.lists(st.sampled_from(sorted(optional)), unique=True, max_size=6)):
        request[key] = draw(optional[key])
    return request


@st.composite
def plain_chat_requests(draw: st.DrawFn) -> JSON:
    """Text-only chats (string contents, no tools): the shape a gateway's fast path serves."""
    messages: list[JSON] = [
        {"role": role, "content": draw(st.text(max_size=8))}
        for role in draw(
            st.lists(st.sampled_from(["system", "developer", "user", "assistant"]), max_size=6)
        )
    ]
    messages.append({"role": "user", "content": draw(plain_text)})
    request: JSON = {"model": "gpt-4o", "messages": messages}
    optional = {
        "max_tokens": st.integers(-1, 8192),
        "temperature": st.one_of(st.floats(0, 2), _any_json),
        "top_p": st.floats(0, 1),
        "stop": st.one_of(plain_text, st.lists(st.text(max_size=4), max_size=6)),
        "n": st.integers(0, 2),
        "stream": st.booleans(),
        "seed": st.integers(),
    }
    for key in draw(st.lists(st.sampled_from(sorted(optional)), unique=True, max_size=4)):
        request[key] = draw(optional[key])
    return request


# -- hostile requests --------------------------------------------------------------------

KNOWN_KEYS = [
    "model", "messages", "tools", "tool_choice", "functions", "function_call", "stop", "n",
    "max_tokens", "max_completion_tokens", "temperature", "top_p", "seed", "presence_penalty",
    "frequency_penalty", "response_format", "reasoning_effort", "stream_options", "logprobs",
    "logit_bias", "parallel_tool_calls", "modalities", "audio",
]  # fmt: skip


@st.composite
def _mutated(draw: st.DrawFn, value: JSON) -> JSON:
    """`value` (a deep copy) with one nested value replaced by garbage or one key removed."""
    value = json.loads(json.dumps(value))
    node = value
    for _ in range(draw(st.integers(0, 6))):
        children = (
            list(node.items())
            if isinstance(node, dict)
            else list(enumerate(node))
            if isinstance(node, list)
            else []
        )
        containers = [(key, child) for key, child in children if isinstance(child, dict | list)]
        if not containers:
            break
        _, node = draw(st.sampled_from(containers))
    if isinstance(node, dict) and node:
        key = draw(st.sampled_from(sorted(node)))
        if draw(st.booleans()):
            del node[key]
        else:
            node[key] = draw(_any_json)
    elif isinstance(node, list) and node:
        node[draw(st.integers(0, len(node) - 1))] = draw(_any_json)
    return value


def openai_requests() -> st.SearchStrategy[JSON]:
    """Arbitrary JSON-ish request bodies: valid, slightly broken, or nonsense."""
    return st.one_of(
        valid_openai_requests(),
        valid_openai_requests().flatmap(_mutated),
        plain_chat_requests(),
        plain_chat_requests().flatmap(_mutated),
        st.dictionaries(st.sampled_from(KNOWN_KEYS), _any_json, max_size=6),
        _any_json,
    )

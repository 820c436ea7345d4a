"""Hypothesis strategies for the OpenAI side of a gateway.

Building blocks
    json_values                  arbitrary JSON values (bounded size)
    plain_chat_requests()        text-only chats with sampling parameters (some out of range)
    valid_openai_requests()      Chat Completions requests a correct gateway must accept:
                                 text/image/audio/file parts, parallel tool calls answered by
                                 tool messages in any order, tools, tool_choice, parameters
    openai_requests()            the above, mutated (one value replaced by garbage or one key
                                 removed), or a dict of the known keys holding arbitrary JSON
    gemini_streams()             upstream GenerateContentResponse chunk sequences that end
                                 with a finishReason (or a blocked prompt)
    odd_gemini_responses()       response-shaped dicts with arbitrary JSON in their fields
    encode_gemini_stream(chunks, framing) -> bytes, FRAMINGS
    byte_splits(data)            cut points to feed `data` in pieces

Written from docs/reference/gemini.md and docs/reference/openai.md alone: this module does not
import `compat`.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

JSON = Any

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)

# Text with the characters that break naive encoders (astral, RTL, NUL, lone surrogates) and
# pieces of the stop sequences the stream tests request.
hostile_text = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(["\ud800", "\udfff", "\U0001f600", "\x00", "\u202e", '"', "\\"]),
        st.sampled_from(["E", "N", "D", "x", "y", "a", "\n"]),  # pieces of stop sequences
    ),
    max_size=20,
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
        "temperature": st.one_of(st.floats(0, 2), json_values),
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
            node[key] = draw(json_values)
    elif isinstance(node, list) and node:
        node[draw(st.integers(0, len(node) - 1))] = draw(json_values)
    return value


def openai_requests() -> st.SearchStrategy[JSON]:
    """Arbitrary JSON-ish request bodies: valid, slightly broken, or nonsense."""
    return st.one_of(
        valid_openai_requests(),
        valid_openai_requests().flatmap(_mutated),
        plain_chat_requests(),
        plain_chat_requests().flatmap(_mutated),
        st.dictionaries(st.sampled_from(KNOWN_KEYS), json_values, max_size=6),
        json_values,
    )


# -- Gemini upstream streams -------------------------------------------------------------

FINISH_REASONS = [
    "STOP", "MAX_TOKENS", "SAFETY", "RECITATION", "OTHER", "MALFORMED_FUNCTION_CALL",
    "FINISH_REASON_UNSPECIFIED", "TOO_MANY_TOOL_CALLS", "SOME_FUTURE_REASON",
]  # fmt: skip
usage_metadata = st.builds(
    lambda prompt, candidates, thoughts, cached: {
        "promptTokenCount": prompt,
        "candidatesTokenCount": candidates,
        "totalTokenCount": prompt + candidates + thoughts,
        **({"thoughtsTokenCount": thoughts} if thoughts else {}),
        **({"cachedContentTokenCount": cached} if cached else {}),
    },
    st.integers(0, 5000),
    st.integers(0, 5000),
    st.integers(0, 500),
    st.integers(0, 100),
)
gemini_parts = st.one_of(
    st.builds(lambda text: {"text": text}, hostile_text),
    st.builds(lambda text: {"text": text}, st.text(alphabet="ENDxya \n", max_size=6)),
    st.builds(lambda text: {"text": text, "thought": True}, hostile_text),
    st.builds(
        lambda text, signature: {"text": text, "thought": True, "thoughtSignature": signature},
        hostile_text,
        st.just("c2lnbmF0dXJl"),
    ),
    st.just({"text": "", "thoughtSignature": "c2ln"}),
    st.builds(
        lambda name, args, call_id, signature: {
            "functionCall": {"name": name, "args": args, **call_id},
            **signature,
        },
        function_names,
        st.dictionaries(hostile_text, st.one_of(json_scalars, hostile_text), max_size=3),
        st.sampled_from([{}, {}, {"id": "abc123"}, {"id": "x-\U0001f600"}]),
        st.sampled_from([{}, {"thoughtSignature": "Q2lnbmF0dXJlMQ=="}]),
    ),
    st.just({"inlineData": {"mimeType": "image/png", "data": BASE64_PNG}}),
    st.builds(
        lambda text, signature: {"text": text, "thoughtSignature": signature},
        hostile_text,
        st.sampled_from(["c2lnMQ==", "c2lnMg=="]),
    ),
    st.builds(
        lambda code: {"executableCode": {"language": "PYTHON", "code": code}},
        st.one_of(hostile_text, st.just("x = '```'")),
    ),
    st.builds(
        lambda outcome, output: {"codeExecutionResult": {"outcome": outcome, "output": output}},
        st.sampled_from(["OUTCOME_OK", "OUTCOME_FAILED"]),
        hostile_text,
    ),
    st.just({"fileData": {"mimeType": "image/png", "fileUri": "gs://bucket/out.png"}}),
    st.just({"inlineData": {"mimeType": "image/png", "data": BASE64_PNG}, "thought": True}),
)


@st.composite
def gemini_streams(draw: st.DrawFn) -> list[JSON]:
    """GenerateContentResponse chunks of one complete upstream stream
    (docs/reference/gemini.md#streaming)."""
    if draw(st.integers(0, 9)) == 0:
        return [
            {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": draw(usage_metadata)}
        ]
    chunks: list[JSON] = []
    for _ in range(draw(st.integers(1, 5))):
        candidate: JSON = {"index": 0}
        if draw(st.integers(0, 5)):
            candidate["content"] = {
                "role": "model",
                "parts": draw(st.lists(gemini_parts, max_size=3)),
            }
        chunk: JSON = {
            "candidates": [candidate],
            "modelVersion": "gemini-2.5-flash",
            "responseId": "r1",
        }
        if draw(st.booleans()):
            chunk["usageMetadata"] = draw(usage_metadata)
        chunks.append(chunk)
    chunks[-1]["candidates"][0]["finishReason"] = draw(st.sampled_from(FINISH_REASONS))
    if draw(st.integers(0, 4)) == 0:
        chunks.append({"usageMetadata": draw(usage_metadata)})
    return chunks


def odd_gemini_responses() -> st.SearchStrategy[JSON]:
    """GenerateContentResponse-shaped dicts with arbitrary JSON where fields should be."""
    part = st.one_of(gemini_parts, json_values, st.builds(lambda v: {"text": v}, json_values),
                     st.builds(lambda v: {"functionCall": v}, json_values))  # fmt: skip
    candidate = st.fixed_dictionaries(
        {},
        optional={
            "content": st.one_of(
                json_values,
                st.builds(
                    lambda parts: {"parts": parts},
                    st.one_of(st.lists(part, max_size=4), json_values),
                ),
            ),
            "finishReason": st.one_of(st.sampled_from(FINISH_REASONS), json_values),
        },
    )
    return st.fixed_dictionaries(
        {},
        optional={
            "candidates": st.one_of(
                st.lists(st.one_of(candidate, json_values), max_size=2), json_values
            ),
            "promptFeedback": st.one_of(st.just({"blockReason": "SAFETY"}), json_values),
            "usageMetadata": st.one_of(usage_metadata, json_values),
            "response": json_values,
        },
    )


FRAMINGS = ("sse", "sse_crlf", "code_assist_sse", "json_array")


def encode_gemini_stream(chunks: list[JSON], framing: str) -> bytes:
    """The upstream body for `chunks` (ASCII-escaped JSON, so lone surrogates stay escapes)."""
    if framing == "json_array":
        return ("[" + ",\r\n".join(json.dumps(chunk) for chunk in chunks) + "]").encode()
    if framing == "code_assist_sse":
        chunks = [{"response": chunk, "traceId": "t1"} for chunk in chunks]
    end = "\r\n\r\n" if framing == "sse_crlf" else "\n\n"
    return "".join(f"data: {json.dumps(chunk)}{end}" for chunk in chunks).encode()


def byte_splits(data: bytes) -> st.SearchStrategy[list[bytes]]:
    """`data` cut at 0-8 arbitrary points (possibly inside UTF-8 sequences and CRLFs)."""
    return st.lists(st.integers(0, len(data)), max_size=8).map(
        lambda cuts: [
            data[start:end]
            for start, end in zip([0, *sorted(cuts)], [*sorted(cuts), len(data)], strict=True)
        ]
    )

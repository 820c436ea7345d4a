"""Hypothesis building blocks for Gemini generateContent requests Google accepts
(docs/reference/gemini.md).

Strategies
    gemini_models()          model ids, Gemini 2.5 and Gemini 3 (which needs thought signatures)
    function_names()         names matching `[A-Za-z_][A-Za-z0-9_.:-]*`, at most 128 characters
    schemas()                Gemini Schema objects: only the accepted keys, one `type`, STRING
                             formats only `enum`/`date-time`, `enum` only on STRING
                             (docs/reference/gemini.md#schema)
    function_declarations()  `{name, description, parameters}` lists with unique names
    generation_configs()     in-range sampling fields, at most 5 stop sequences, thinking config
    conversations(model)     `contents` that alternate user/model, end on a user turn, answer N
                             function calls with one turn of N function responses, and sign the
                             first call of each model turn for Gemini 3; user turns sometimes
                             carry images or files, call turns thought summaries, call ids and
                             the trailing empty-text signature part
    generate_content_requests()   `(model, body)`: a whole request, keys sometimes in snake_case
    code_assist_requests()        `(model, envelope)`: the same wrapped as v1internal
                                  (docs/reference/code-assist.md#request-envelope)

Every body drawn is one the Gemini API accepts; the emulator's validator must return None for
it. Independent of `compat`.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

__all__ = [
    "code_assist_requests",
    "conversations",
    "function_declarations",
    "function_names",
    "gemini_models",
    "generate_content_requests",
    "generation_configs",
    "schemas",
]

Json = dict[str, Any]

_MODELS = ("gemini-2.5-pro", "gemini-2.5-flash", "gemini-3-pro-preview", "gemini-3.1-pro-preview")
_NAME_START = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_"
_NAME_REST = _NAME_START + "0123456789.:-"
_KEY_CHARS = "abcdefghijklmnopqrstuvwxyz_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"
_SIGNATURE_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_SENTINEL = "skip_thought_signature_validator"

# Request-level and Part keys that have a snake_case spelling the proto JSON parser also takes.
_SNAKE = {
    "systemInstruction": "system_instruction",
    "generationConfig": "generation_config",
    "toolConfig": "tool_config",
    "safetySettings": "safety_settings",
    "functionCall": "function_call",
    "functionResponse": "function_response",
    "thoughtSignature": "thought_signature",
    "maxOutputTokens": "max_output_tokens",
    "topP": "top_p",
    "topK": "top_k",
    "stopSequences": "stop_sequences",
    "thinkingConfig": "thinking_config",
    "functionDeclarations": "function_declarations",
}


def gemini_models() -> st.SearchStrategy[str]:
    """Model ids, sometimes with the `models/` prefix."""
    return st.tuples(st.sampled_from(_MODELS), st.booleans()).map(
        lambda pair: f"models/{pair[0]}" if pair[1] else pair[0]
    )


def function_names() -> st.SearchStrategy[str]:
    """Valid function declaration names (docs/reference/gemini.md#tools-and-tool-config)."""
    return st.tuples(st.sampled_from(_NAME_START), st.text(alphabet=_NAME_REST, max_size=30)).map(
        "".join
    )


def _property_names() -> st.SearchStrategy[str]:
    # Claude Code uses names such as `-A`, `old_string`; Google accepts them.
    return st.text(alphabet=_KEY_CHARS, min_size=1, max_size=12)


def _texts() -> st.SearchStrategy[str]:
    return st.text(max_size=40)


def _leaf_schemas() -> st.SearchStrategy[Json]:
    string = st.fixed_dictionaries(
        {"type": st.sampled_from(["STRING", "string"])},
        optional={
            "format": st.sampled_from(["enum", "date-time"]),
            "enum": st.lists(st.text(max_size=8), min_size=1, max_size=4),
            "description": _texts(),
            "nullable": st.booleans(),
            "pattern": st.just("^[a-z]+$"),
            "minLength": st.integers(0, 5),
            "maxLength": st.integers(5, 50),
            "default": st.text(max_size=5),
        },
    )
    number = st.fixed_dictionaries(
        {"type": st.sampled_from(["NUMBER", "INTEGER", "integer", "number"])},
        optional={
            "format": st.sampled_from(["float", "double", "int32", "int64"]),
            "minimum": st.integers(-10, 0),
            "maximum": st.integers(1, 100),
            "description": _texts(),
        },
    )
    boolean = st.fixed_dictionaries(
        {"type": st.sampled_from(["BOOLEAN", "boolean"])}, optional={"example": st.booleans()}
    )
    return st.one_of(string, number, boolean)


def _object_schema(children: st.SearchStrategy[Json]) -> st.SearchStrategy[Json]:
    def build(properties: dict[str, Json], required_flags: list[bool], title: str | None) -> Json:
        schema: Json = {"type": "OBJECT", "properties": properties}
        required = [name for name, flag in zip(properties, required_flags, strict=False) if flag]
        if required:
            schema["required"] = required
            schema["propertyOrdering"] = list(properties)
        if title is not None:
            schema["title"] = title
        return schema

    return st.builds(
        build,
        st.dictionaries(_property_names(), children, min_size=1, max_size=4),
        st.lists(st.booleans(), max_size=4),
        st.none() | st.text(max_size=8),
    )


def schemas() -> st.SearchStrategy[Json]:
    """Valid Gemini Schema objects, nested through properties, items and anyOf."""
    return st.recursive(
        _leaf_schemas(),
        lambda children: st.one_of(
            _object_schema(children),
            st.fixed_dictionaries(
                # `items` must carry a `type`: an anyOf-only items schema is refused.
                {"type": st.just("ARRAY"), "items": children.filter(lambda c: "type" in c)},
                optional={"minItems": st.integers(0, 2), "maxItems": st.integers(3, 9)},
            ),
            st.builds(
                lambda options: {"anyOf": options}, st.lists(children, min_size=1, max_size=3)
            ),
        ),
        max_leaves=5,
    )


def function_declarations() -> st.SearchStrategy[list[Json]]:
    """1-3 declarations with unique names and object parameters."""
    declaration = st.fixed_dictionaries(
        {"description": _texts()},
        optional={"parameters": _object_schema(schemas())},
    )
    return st.lists(
        st.tuples(function_names(), declaration), min_size=1, max_size=3, unique_by=lambda p: p[0]
    ).map(lambda pairs: [{"name": name, **body} for name, body in pairs])


def generation_configs() -> st.SearchStrategy[Json]:
    """In-range generation configs (docs/reference/gemini.md#generation-config)."""
    thinking = st.fixed_dictionaries(
        {},
        optional={
            "includeThoughts": st.booleans(),
            "thinkingBudget": st.one_of(st.just(-1), st.integers(128, 24576)),
        },
    )
    return st.fixed_dictionaries(
        {},
        optional={
            "maxOutputTokens": st.integers(1, 65536),
            "temperature": st.floats(0, 2),
            "topP": st.floats(0, 1),
            "topK": st.integers(1, 100),
            "candidateCount": st.just(1),
            "stopSequences": st.lists(st.text(min_size=1, max_size=5), max_size=5),
            "seed": st.integers(0, 2**31 - 1),
            "responseMimeType": st.sampled_from(["text/plain", "application/json"]),
            "thinkingConfig": thinking,
        },
    )


def _media_parts() -> st.SearchStrategy[Json]:
    inline = st.builds(
        lambda data: {"inlineData": {"mimeType": "image/png", "data": data}},
        st.sampled_from(["iVBORw0KGgo=", "AAAA", "R0lGODlhAQABAAAAACw="]),
    )
    remote = st.just(
        {"fileData": {"mimeType": "application/pdf", "fileUri": "https://example.com/a.pdf"}}
    )
    return inline | remote


def _user_parts() -> st.SearchStrategy[list[Json]]:
    """Text, sometimes with an image or a file."""
    return st.builds(
        lambda text, media: text + media, _text_parts(), st.lists(_media_parts(), max_size=2)
    )


def _text_parts() -> st.SearchStrategy[list[Json]]:
    return st.lists(
        st.text(min_size=1, max_size=40).map(lambda t: {"text": t}), min_size=1, max_size=3
    )


def _args() -> st.SearchStrategy[Json]:
    values = st.one_of(st.integers(), st.text(max_size=10), st.booleans(), st.none())
    return st.dictionaries(st.text(max_size=8), values, max_size=3)


def _call_round(names: list[str], signed: bool) -> st.SearchStrategy[list[Json]]:
    """A model turn with N function calls and the user turn holding the N responses."""

    def build(
        chosen: list[str],
        args: list[Json],
        signature: str,
        outputs: list[str],
        extras: tuple[str | None, bool, bool],
    ) -> list[Json]:
        thought, with_ids, trailing_signature = extras
        calls: list[Json] = [
            {"functionCall": {"name": n, "args": a}} for n, a in zip(chosen, args, strict=False)
        ]
        responses = [
            {"functionResponse": {"name": n, "response": {"output": o}}}
            for n, o in zip(chosen, outputs, strict=False)
        ]
        if with_ids:
            for index, (call, response) in enumerate(zip(calls, responses, strict=True)):
                call["functionCall"]["id"] = response["functionResponse"]["id"] = f"call_{index}"
        if signed:
            calls[0]["thoughtSignature"] = signature
        model_parts = calls
        # summarized thinking before the calls, and the empty-text part Gemini may end a turn with
        # (docs/reference/gemini.md#thought-signatures)
        if thought is not None:
            model_parts = [{"text": thought, "thought": True}, *calls]
        if trailing_signature:
            model_parts = [*model_parts, {"text": "", "thoughtSignature": "c2ln"}]
        return [{"role": "model", "parts": model_parts}, {"role": "user", "parts": responses}]

    return st.integers(1, 3).flatmap(
        lambda count: st.builds(
            build,
            st.lists(st.sampled_from(names), min_size=count, max_size=count),
            st.lists(_args(), min_size=count, max_size=count),
            st.one_of(
                st.just(_SENTINEL), st.text(_SIGNATURE_CHARS, min_size=4, max_size=40).map(_pad)
            ),
            st.lists(st.text(max_size=20), min_size=count, max_size=count),
            st.tuples(st.none() | st.text(min_size=1, max_size=20), st.booleans(), st.booleans()),
        )
    )


def _pad(base64_text: str) -> str:
    return base64_text[: len(base64_text) // 4 * 4] or "AAAA"


def _text_round() -> st.SearchStrategy[list[Json]]:
    return st.builds(
        lambda model_parts, user_parts: [
            {"role": "model", "parts": model_parts},
            {"role": "user", "parts": user_parts},
        ],
        _text_parts(),
        _user_parts(),
    )


def conversations(model: str, names: list[str]) -> st.SearchStrategy[list[Json]]:
    """Valid `contents`: a user turn, then rounds of (model text | model calls) + user answer."""
    signed = model.removeprefix("models/").startswith("gemini-3")
    round_ = _text_round() | _call_round(names, signed) if names else _text_round()
    first = _user_parts().map(lambda parts: [{"role": "user", "parts": parts}])
    return st.builds(
        lambda head, rounds: head + [turn for pair in rounds for turn in pair],
        first,
        st.lists(round_, max_size=3),
    )


def _snake_case(value: Any) -> Any:
    """Respell request, content, part and config keys in snake_case (not user-named keys)."""
    if isinstance(value, list):
        return [_snake_case(item) for item in value]
    if not isinstance(value, dict):
        return value
    return {
        _SNAKE.get(key, key): (
            item if key in ("args", "response", "parameters") else _snake_case(item)
        )
        for key, item in value.items()
    }


def generate_content_requests() -> st.SearchStrategy[tuple[str, Json]]:
    """`(model, body)` pairs of valid generateContent requests."""

    @st.composite
    def build(draw: st.DrawFn) -> tuple[str, Json]:
        model = draw(gemini_models())
        declarations = draw(st.none() | function_declarations())
        names = [d["name"] for d in declarations] if declarations else []
        body: Json = {"contents": draw(conversations(model, names))}
        if declarations:
            body["tools"] = [{"functionDeclarations": declarations}]
            if draw(st.booleans()):
                body["toolConfig"] = {
                    "functionCallingConfig": {
                        "mode": draw(st.sampled_from(["AUTO", "ANY", "NONE"]))
                    }
                }
        if draw(st.booleans()):
            body["systemInstruction"] = {"parts": draw(_text_parts())}
        if draw(st.booleans()):
            body["generationConfig"] = draw(generation_configs())
        if draw(st.booleans()):
            body["safetySettings"] = [
                {"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}
            ]
        if draw(st.booleans()):
            body = _snake_case(body)
        return model, body

    return build()


def code_assist_requests() -> st.SearchStrategy[tuple[str, Json]]:
    """`(model, envelope)` pairs: a valid request wrapped as Code Assist sends it
    (docs/reference/code-assist.md#request-envelope)."""

    def wrap(case: tuple[str, Json], project: str, prompt_id: str) -> tuple[str, Json]:
        model, request = case
        bare = model.removeprefix("models/")
        envelope: Json = {
            "model": bare,
            "project": project,
            "user_prompt_id": prompt_id,
            "request": {**request, "session_id": prompt_id},
        }
        return bare, envelope

    return st.builds(
        wrap,
        generate_content_requests(),
        st.text("abcdefghijklmnopqrstuvwxyz-0123456789", min_size=6, max_size=20),
        st.uuids().map(str),
    )

"""Request bodies the case files name rather than spell out: media fixtures and hostile bodies.

Operations:
    expanded(document) -> document    "$png", "$gif", "$webp", "$pdf" strings replaced by the
                                      base64 of a real (tiny) file of that type; "$png_url" by a
                                      data: URI of the PNG; "$text:N" by N words of text
    generate(name, model) -> bytes    a named body (GENERATORS): deep nesting, oversized bodies,
                                      invalid UTF-8, ...
    js_json(value) -> bytes           JSON as JavaScript's JSON.stringify writes it: compact,
                                      non-ASCII as UTF-8, a lone surrogate as a `\\udXXX` escape
                                      (what Claude Code sends, docs/reference/json.md)
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from typing import Any

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
GIF = "R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"
WEBP = "UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA=="
_PDF_TEXT = (
    "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    "2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    "3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    "trailer<</Root 1 0 R>>\n%%EOF\n"
)
PDF = base64.b64encode(_PDF_TEXT.encode()).decode()
FIXTURES = {
    "$png": PNG,
    "$gif": GIF,
    "$webp": WEBP,
    "$pdf": PDF,
    "$png_url": f"data:image/png;base64,{PNG}",
}
_WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog"]
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_TEXT = re.compile(r"\$text:(\d{1,7})")


def expanded(document: Any) -> Any:
    """`document` with fixture placeholders replaced (see the module docstring)."""
    if isinstance(document, str):
        if document in FIXTURES:
            return FIXTURES[document]
        match = _TEXT.fullmatch(document)
        if match:
            count = int(match.group(1))
            return " ".join(_WORDS[i % len(_WORDS)] for i in range(count))
        return document
    if isinstance(document, list):
        return [expanded(item) for item in document]
    if isinstance(document, dict):
        return {key: expanded(value) for key, value in document.items()}
    return document


def js_json(value: Any, *, allow_nan: bool = False) -> bytes:
    """Compact JSON, UTF-8, lone surrogates escaped (JSON.stringify's well-formed output);
    with `allow_nan`, NaN and Infinity as the non-JSON literals (hostile input)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=allow_nan)
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text).encode("utf-8")


def _message(model: str, content: Any) -> dict[str, Any]:
    return {"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": content}]}


def _deep_nesting(model: str) -> bytes:
    depth = 10_000
    inner = "[" * depth + "]" * depth
    return f'{{"model":"{model}","max_tokens":64,"metadata":{inner},"messages":[]}}'.encode()


def _over_32_mib(model: str) -> bytes:
    return js_json(_message(model, "x" * (33 * 1024 * 1024)))


def _large_text(model: str) -> bytes:
    """About 1 MB of text: large, but far below any body limit."""
    return js_json(_message(model, " ".join(_WORDS * 25_000)))


def _invalid_utf8(model: str) -> bytes:
    return js_json(_message(model, "before AFTER")).replace(b"AFTER", b"\xff\xfe\xed\xa0\x80")


def _truncated(model: str) -> bytes:
    whole = js_json(_message(model, "hello there"))
    return whole[: len(whole) // 2]


def _nan_literal(model: str) -> bytes:
    return f'{{"model":"{model}","max_tokens":64,"temperature":NaN,"messages":[{{"role":"user","content":"hi"}}]}}'.encode()


def _duplicate_keys(model: str) -> bytes:
    return (
        f'{{"model":"{model}","max_tokens":64,"messages":[],'
        f'"messages":[{{"role":"user","content":"the second messages key"}}]}}'
    ).encode()


def _array_body(model: str) -> bytes:
    return js_json([_message(model, "hi")])


def _empty(model: str) -> bytes:
    return b""


def _huge_number(model: str) -> bytes:
    return (
        f'{{"model":"{model}","max_tokens":1{"0" * 400},"messages":'
        f'[{{"role":"user","content":"hi"}}]}}'
    ).encode()


def _many_tools(model: str) -> bytes:
    tools = [
        {
            "name": f"tool_{index:02d}",
            "description": f"Tool number {index}",
            "input_schema": {
                "type": "object",
                "properties": {"arg": {"type": "string"}, "count": {"type": "integer"}},
                "required": ["arg"],
            },
        }
        for index in range(40)
    ]
    document = _message(model, "Use the tools.")
    return js_json({**document, "tools": tools})


GENERATORS: dict[str, Callable[[str], bytes]] = {
    "many_tools": _many_tools,
    "deep_nesting": _deep_nesting,
    "over_32_mib": _over_32_mib,
    "large_text": _large_text,
    "invalid_utf8": _invalid_utf8,
    "truncated": _truncated,
    "nan_literal": _nan_literal,
    "duplicate_keys": _duplicate_keys,
    "array_body": _array_body,
    "empty": _empty,
    "huge_number": _huge_number,
}


def generate(name: str, *, model: str) -> bytes:
    """The body generator `name` makes for `model` (KeyError names the unknown generator)."""
    try:
        return GENERATORS[name](model)
    except KeyError:
        raise KeyError(f"no body generator {name!r}; known: {', '.join(GENERATORS)}") from None

"""Nothing lost, nothing invented: the content of a client request against the Gemini request a
proxy made of it.

Operations:
    anthropic_content(request) -> Content     what an Anthropic Messages request carries
    openai_content(request) -> Content        what an OpenAI Chat request carries
    gemini_content(request) -> Content        what a Gemini generateContent request carries
                                              (the inner `request` on Code Assist)
    content_problems(client, upstream) -> [str]   "lost: ..." / "invented: ..." lines
    describe(content) -> [str]                one line per item, for a report's diff

The rules, written from docs/reference/anthropic.md#content-blocks, gemini.md#turn-rules, openai.md#request (never from compat):
- every non-blank client text reaches the upstream in a turn of the same side: system text in the
  system instruction or a user turn, user text in a user turn, assistant text in a model turn;
  compared after whitespace runs are collapsed and lone surrogates repaired to U+FFFD (JSON), and by
  containment, so a proxy may merge adjacent texts;
- every tool call (name, arguments) reaches the upstream as a `functionCall` with that name and
  those arguments; every tool result reaches it as a `functionResponse` named after the call it
  answers, holding the result's text; every image or document (base64) as `inlineData` with the
  same media type and bytes;
- the upstream holds nothing else: each text part is found in what the client sent (its texts,
  documents' text, titles and context, thinking, tool results) or holds one of those (a proxy may
  label a document's title, never add text of its own: a stock system prompt, a fake "Continue"),
  each call, response and media part matches one of the client's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.checks.text import canonical, repaired

SYSTEM, USER, MODEL = "system", "user", "model"


@dataclass
class Content:
    """A conversation reduced to what both protocols can carry."""

    texts: list[tuple[str, str]] = field(default_factory=list)  # (side, text)
    calls: list[tuple[str, str]] = field(default_factory=list)  # (name, canonical JSON args)
    results: list[tuple[str, str]] = field(default_factory=list)  # (name, text it holds)
    media: list[tuple[str, str]] = field(default_factory=list)  # (media type, sha of bytes)
    corpus: list[str] = field(default_factory=list)  # other client text a proxy may pass on


def anthropic_content(request: Mapping[str, Any]) -> Content:
    content = Content()
    system = request.get("system")
    for text in _anthropic_texts(system):
        content.texts.append((SYSTEM, text))
    names: dict[str, str] = {}
    for message in _list(request.get("messages")):
        if not isinstance(message, Mapping):
            continue
        side = MODEL if message.get("role") == "assistant" else USER
        for block in _blocks(message.get("content")):
            _anthropic_block(block, side, names, content)
    return content


def _anthropic_block(
    block: Mapping[str, Any], side: str, names: dict[str, str], content: Content
) -> None:
    kind = block.get("type")
    if kind == "text":
        content.texts.append((side, str(block.get("text", ""))))
    elif kind in {"image", "document"}:
        source = block.get("source") or {}
        if source.get("type") == "base64":
            content.media.append(_media(source.get("media_type"), source.get("data")))
        elif source.get("type") == "text":
            content.texts.append((side, str(source.get("data", ""))))
        elif source.get("type") == "content":
            for inner in _blocks(source.get("content")):
                _anthropic_block(inner, side, names, content)
        elif source.get("type") == "url":
            content.corpus.append(str(source.get("url", "")))
        for key in ("title", "context"):
            if isinstance(block.get(key), str):
                content.corpus.append(block[key])
    elif kind == "tool_use":
        names[str(block.get("id"))] = str(block.get("name"))
        content.calls.append((str(block.get("name")), canonical(block.get("input"))))
    elif kind == "tool_result":
        name = names.get(str(block.get("tool_use_id")), "?")
        inner = block.get("content")
        texts = list(_anthropic_texts(inner))
        content.results.append((name, " ".join(texts)))
        for item in _blocks(inner):
            source = item.get("source") or {}
            if item.get("type") in {"image", "document"} and source.get("type") == "base64":
                content.media.append(_media(source.get("media_type"), source.get("data")))
    elif kind == "search_result":
        for text in _anthropic_texts(block.get("content")):
            content.texts.append((side, text))
        content.corpus += [str(block.get(key, "")) for key in ("title", "source")]
    elif kind == "thinking":
        content.corpus.append(str(block.get("thinking", "")))


def _anthropic_texts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
        return
    for block in _blocks(value):
        if block.get("type") == "text":
            yield str(block.get("text", ""))


def openai_content(request: Mapping[str, Any]) -> Content:
    content = Content()
    names: dict[str, str] = {}
    for message in _list(request.get("messages")):
        if not isinstance(message, Mapping):
            continue
        role = message.get("role")
        body = message.get("content")
        if role in {"system", "developer"}:
            content.texts.extend((SYSTEM, t) for t in _openai_texts(body))
        elif role == "user":
            content.texts.extend((USER, t) for t in _openai_texts(body))
            content.media.extend(_openai_media(part) for part in _list(body) if _openai_media(part))
        elif role == "assistant":
            content.texts.extend((MODEL, t) for t in _openai_texts(body))
            for call in _list(message.get("tool_calls")):
                function = call.get("function") or {}
                names[str(call.get("id"))] = str(function.get("name"))
                content.calls.append((str(function.get("name")), _arguments(function)))
        elif role == "tool":
            name = names.get(str(message.get("tool_call_id")), "?")
            content.results.append((name, " ".join(_openai_texts(body))))
    return content


def _openai_media(part: Any) -> tuple[str, str] | None:
    """An image (data: URI), audio or file part's (media type, digest); None for other parts
    (http(s) image URLs are fetched by the proxy or refused: their bytes are not the client's)."""
    if not isinstance(part, Mapping):
        return None
    audio = part.get("input_audio")
    if isinstance(audio, Mapping):
        return _media(f"audio/{audio.get('format')}", audio.get("data"))
    url = (
        (part.get("image_url") or {}).get("url")
        if isinstance(part.get("image_url"), Mapping)
        else None
    )
    file = part.get("file")
    if isinstance(file, Mapping) and isinstance(file.get("file_data"), str):
        url = file["file_data"]
        if not url.startswith("data:"):
            kind = _FILE_TYPES.get(str(file.get("filename", "")).rpartition(".")[2].lower())
            return _media(kind or "application/octet-stream", url)
    if isinstance(url, str) and url.startswith("data:") and ";base64," in url:
        media_type, _, data = url[5:].partition(";base64,")
        return _media(media_type, data)
    return None


_FILE_TYPES = {"pdf": "application/pdf", "txt": "text/plain", "png": "image/png"}


def _openai_texts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
        return
    for part in _list(value):
        if isinstance(part, Mapping) and part.get("type") == "text":
            yield str(part.get("text", ""))


def gemini_content(request: Mapping[str, Any]) -> Content:
    content = Content()
    system = _get(request, "systemInstruction")
    if isinstance(system, Mapping):
        for part in _list(_get(system, "parts")):
            if isinstance(part, Mapping) and isinstance(_get(part, "text"), str):
                content.texts.append((SYSTEM, part["text"]))
    for turn in _list(_get(request, "contents")):
        if not isinstance(turn, Mapping):
            continue
        side = MODEL if _get(turn, "role") == "model" else USER
        for part in _list(_get(turn, "parts")):
            if isinstance(part, Mapping):
                _gemini_part(part, side, content)
    return content


def _gemini_part(part: Mapping[str, Any], side: str, content: Content) -> None:
    text = _get(part, "text")
    if isinstance(text, str):
        if _get(part, "thought") is not True:
            content.texts.append((side, text))
        return
    inline = _get(part, "inlineData")
    if isinstance(inline, Mapping):
        content.media.append(_media(_get(inline, "mimeType"), _get(inline, "data")))
    call = _get(part, "functionCall")
    if isinstance(call, Mapping):
        content.calls.append((str(_get(call, "name")), canonical(_get(call, "args") or {})))
    response = _get(part, "functionResponse")
    if isinstance(response, Mapping):
        texts = list(_strings(_get(response, "response")))
        content.results.append((str(_get(response, "name")), " ".join(texts)))
        for inner in _list(_get(response, "parts")):
            data = _get(inner, "inlineData") if isinstance(inner, Mapping) else None
            if isinstance(data, Mapping):
                content.media.append(_media(_get(data, "mimeType"), _get(data, "data")))


def content_problems(client: Content, upstream: Content) -> list[str]:
    """What the upstream lacks of the client's content, and what it holds that the client never
    sent (empty when the proxy passed the content on faithfully)."""
    problems: list[str] = []
    sent = {
        side: _norm(" \n ".join(t for s, t in upstream.texts if s == side))
        for side in (SYSTEM, USER, MODEL)
    }
    sent[SYSTEM] += " \n " + sent[USER]  # a system prompt may travel as the first user turn
    for side, text in client.texts:
        if _norm(text) and _norm(text) not in sent[side]:
            problems.append(f"lost: {side} text {_short(text)}")
    problems += _multiset_problems("tool call", client.calls, upstream.calls)
    problems += _result_problems(client.results, upstream.results)
    problems += _multiset_problems("media", client.media, upstream.media)
    sent_by_client = [t for _, t in client.texts] + [t for _, t in client.results] + client.corpus
    corpus = _norm(" \n ".join(sent_by_client))
    # A proxy may label what it passes on ("Document title: X"): text holding a client string
    # (of 3 characters or more; a title or context of any length) is not made up.
    pieces = [_norm(t) for t in sent_by_client if len(_norm(t)) >= 3]
    pieces += [_norm(t) for t in client.corpus if _norm(t)]
    for side, text in upstream.texts:
        shown = _norm(text)
        if shown and shown not in corpus and not any(piece in shown for piece in pieces):
            problems.append(f"invented: {side} text {_short(text)}")
    return problems


def _multiset_problems(
    what: str, client: list[tuple[str, str]], upstream: list[tuple[str, str]]
) -> list[str]:
    expected, found = Counter(client), Counter(upstream)
    lost = [f"lost: {what} {k[0]} {_short(k[1])}" for k in (expected - found).elements()]
    invented = [f"invented: {what} {k[0]} {_short(k[1])}" for k in (found - expected).elements()]
    return lost + invented


def _result_problems(client: list[tuple[str, str]], upstream: list[tuple[str, str]]) -> list[str]:
    problems: list[str] = []
    unmatched = list(upstream)
    # the longest texts first: an empty result matches any response, so it must choose last
    for name, text in sorted(client, key=lambda result: -len(_norm(result[1]))):
        match = next((r for r in unmatched if r[0] == name and _norm(text) in _norm(r[1])), None)
        if match is None:
            problems.append(f"lost: tool result for {name} {_short(text)}")
        else:
            unmatched.remove(match)
    problems += [f"invented: tool result for {name} {_short(text)}" for name, text in unmatched]
    return problems


def describe(content: Content) -> list[str]:
    """One line per item, sorted within kinds, for a side-by-side diff in a report."""
    lines = [f"{side} text: {_norm(text)}" for side, text in content.texts if _norm(text)]
    lines += sorted(f"tool call: {name} {args}" for name, args in content.calls)
    lines += sorted(f"tool result: {name} {_norm(text)}" for name, text in content.results)
    lines += sorted(f"media: {kind} {digest}" for kind, digest in content.media)
    return lines


# --- helpers ---------------------------------------------------------------------------------------


def _get(obj: Any, camel: str) -> Any:
    """A proto field under its lowerCamelCase or snake_case JSON name (Google accepts both)."""
    if not isinstance(obj, Mapping):
        return None
    if camel in obj:
        return obj[camel]
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)
    return obj.get(snake)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _blocks(value: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(value, str):
        yield {"type": "text", "text": value}
        return
    for block in _list(value):
        if isinstance(block, Mapping):
            yield block


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _arguments(function: Mapping[str, Any]) -> str:
    try:
        return canonical(json.loads(str(function.get("arguments") or "{}")))
    except ValueError:
        return canonical(function.get("arguments"))


def _media(media_type: Any, data: Any) -> tuple[str, str]:
    try:
        raw = base64.b64decode(str(data or ""), validate=False)
    except (binascii.Error, ValueError):
        raw = str(data).encode()
    return str(media_type).lower(), hashlib.sha256(raw).hexdigest()[:16]


def _norm(text: str) -> str:
    return " ".join(repaired(text).split())


def _short(text: str, limit: int = 60) -> str:
    text = _norm(text)
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")

"""The one JSON encoder and decoder for every boundary (client, Gemini, SSE).

Operations
    dumps(obj, *, indent=False) -> bytes   strict, always valid UTF-8
    dumps_decoded(obj) -> bytes            private to compat: `dumps` without the NaN search,
                                           only for values built from decoded JSON
    loads(data) -> object                  bytes or str; tolerant of lone-surrogate escapes
    scrub(text) -> str                     lone surrogates -> U+FFFD, valid pairs joined
    JSONError                              the only exception either operation raises

Goals
    Output is always valid UTF-8 that strict decoders (jiter, the SDKs' SSE readers) accept;
    NaN and Infinity are refused, never silently written as `null` (orjson's habit);
    one exception type with a message that says what went wrong and where.

Plan
    The fast path is orjson as is. Only when orjson refuses, or its output holds a `null` token
    (the token orjson writes for NaN), does a Python walk run: it repairs lone surrogates
    (JS clients such as Claude Code send them as `\\udXXX` escapes; Python strs may hold
    them), and locates non-finite floats, non-str keys and unsupported types for the error.
    Documents orjson cannot handle after repair (ints beyond 64 bits, nesting deeper than
    orjson's limit) fall back to the stdlib codec with the same strictness. Every walk here is
    iterative, so no depth raises RecursionError: the stdlib's own recursion is caught, and a
    document too deep to decode is refused naming the first container past compat's
    MAX_NESTING (compat._nesting), the limit the converters hold requests to.
    The translators encode every event with `dumps_decoded`: their output holds only values
    decoded from upstream JSON plus compat's own ints, strs, bools and None, and decoded JSON
    cannot hold a non-finite float (orjson.loads refuses NaN, Infinity and numbers that
    overflow a double such as 1e999 or a 400-digit integer; `loads`' stdlib fallback refuses
    them too; tests/compat/test_json.py checks both). So the null-token check, which OpenAI
    chunks (`"finish_reason":null`) would trigger on every chunk, is skipped there.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

from compat._nesting import TOO_DEEP, clipped_path, nesting_path_in_text

__all__ = ["JSONError", "dumps", "dumps_decoded", "loads", "scrub"]


class JSONError(ValueError):
    """A value that cannot be encoded as JSON, or bytes that are not valid JSON.

    `path` locates the offending value (`messages[2].content`) when it is known.
    """

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message if path is None else f"{message} (at {path or '<root>'})")
        self.message = message
        self.path = path


def scrub(text: str) -> str:
    """Return `text` with lone surrogates replaced by U+FFFD and surrogate pairs joined."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


# ---------------------------------------------------------------------------------------
# Encoding


def dumps(obj: object, *, indent: bool = False) -> bytes:
    """Encode `obj` as compact (or 2-space indented) UTF-8 JSON.

    Lone surrogates in strings and keys become U+FFFD. Raises JSONError for NaN/Infinity,
    non-str dict keys, unsupported types and nesting too deep to encode.
    """
    option = orjson.OPT_INDENT_2 if indent else 0
    try:
        encoded = orjson.dumps(obj, option=option)
    except orjson.JSONEncodeError:
        return _dumps_repaired(obj, indent=indent)
    if _has_null_token(encoded) and _holds_non_finite(obj):
        # orjson writes NaN and +-Infinity as null, so only a null token calls for a walk.
        segments = _non_finite_path(obj)
        raise JSONError("NaN and Infinity are not valid JSON", _format_path(segments or []))
    return encoded


def dumps_decoded(obj: object) -> bytes:
    """Compact `dumps` for a value built only from decoded JSON and compat's own scalars.

    Such a value holds no NaN/Infinity (see the module plan), so orjson's output is taken
    as is; lone surrogates are still repaired and the other refusals still raise JSONError.
    Never use it for values from elsewhere: a NaN would silently become `null`.
    """
    try:
        return orjson.dumps(obj)
    except orjson.JSONEncodeError:
        return _dumps_repaired(obj, indent=False)


def _has_null_token(encoded: bytes) -> bool:
    """Whether orjson's output may hold a `null` value, not just the word inside a string.

    One pass of `find`: a value follows `:`, `,`, `[`, or a space/newline when indented,
    whereas the word in a string follows a quote or a letter.
    """
    at = encoded.find(b"null")
    while at != -1:
        if at == 0 or encoded[at - 1] in _BEFORE_VALUE:
            return True
        at = encoded.find(b"null", at + 4)
    return False


_BEFORE_VALUE = frozenset(b":,[ \n")


_LEAVES = frozenset({str, int, bool, type(None)})


def _holds_non_finite(root: object) -> bool:
    """Whether a NaN/Infinity float sits anywhere in `root` (iterative, strings skipped fast)."""
    if isinstance(root, float):
        return not math.isfinite(root)
    if not isinstance(root, dict | list | tuple):
        return False
    pending: list[Any] = [root]
    while pending:
        node = pending.pop()
        for value in node.values() if isinstance(node, dict) else node:
            if type(value) in _LEAVES:
                continue
            if isinstance(value, float):
                if not math.isfinite(value):
                    return True
            elif isinstance(value, dict | list | tuple):
                pending.append(value)
    return False


def _dumps_repaired(obj: object, *, indent: bool) -> bytes:
    """Slow path: validate and scrub a copy, then encode it (orjson, else the stdlib)."""
    repaired = _repaired_copy(obj)
    try:
        return orjson.dumps(repaired, option=orjson.OPT_INDENT_2 if indent else 0)
    except orjson.JSONEncodeError as exc:
        orjson_reason = str(exc)
    if "64-bit" not in orjson_reason and "Recursion" not in orjson_reason:
        raise JSONError(f"cannot encode: {orjson_reason}")
    # Big ints and deep nesting: the stdlib handles both; the copy is already validated.
    try:
        text = json.dumps(
            repaired,
            ensure_ascii=False,
            allow_nan=False,
            indent=2 if indent else None,
            separators=(",", ": ") if indent else (",", ":"),
        )
    except RecursionError:
        raise JSONError("nesting too deep to encode") from None
    except (TypeError, ValueError) as exc:
        raise JSONError(f"cannot encode: {exc}") from None
    return text.encode("utf-8")


# A place in a document, linked to its parent's, so a path is only spelled out for an error.
_Place = tuple[Any, str | int] | None  # (parent place, key or index), None for the root


def _repaired_copy(root: Any) -> Any:
    """Copy of `root` with strings scrubbed; raises JSONError on what JSON cannot hold.

    Iterative (any depth): a container is copied empty, and filled when its entry of
    (source, copy, place) comes off the stack.
    """
    pending: list[tuple[Any, Any, _Place]] = []
    copy = _repaired_item(root, None, pending)
    while pending:
        source, target, place = pending.pop()
        if isinstance(source, dict):
            for key, value in source.items():
                if not isinstance(key, str):
                    raise JSONError(f"dict key {key!r} is not a str", _spelled(place))
                target[scrub(key)] = _repaired_item(value, (place, key), pending)
        else:
            for index, value in enumerate(source):
                target[index] = _repaired_item(value, (place, index), pending)
    return copy


def _repaired_item(value: Any, place: _Place, pending: list[tuple[Any, Any, _Place]]) -> Any:
    """`value` scrubbed, or an empty copy of a container queued on `pending` to be filled."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        copy: Any = {}
    elif isinstance(value, list | tuple):
        copy = [None] * len(value)
    elif isinstance(value, float) and not math.isfinite(value):
        raise JSONError("NaN and Infinity are not valid JSON", _spelled(place))
    elif value is None or isinstance(value, bool | int | float):
        return value
    else:
        raise JSONError(f"type {type(value).__name__} is not JSON serializable", _spelled(place))
    pending.append((value, copy, place))
    return copy


def _segments(place: _Place) -> list[str | int]:
    """The keys and indexes from the root to `place`, innermost first."""
    segments: list[str | int] = []
    while place is not None:
        place, step = place
        segments.append(step)
    return segments


def _spelled(place: _Place) -> str:
    return _format_path(_segments(place))


def _non_finite_path(root: object) -> list[str | int] | None:
    """Path (keys and indexes, innermost first) of the first NaN/Infinity, or None.

    Depth first in document order, iterative: the stack holds (value, place).
    """
    pending: list[tuple[object, _Place]] = [(root, None)]
    while pending:
        value, place = pending.pop()
        if isinstance(value, float):
            if not math.isfinite(value):
                return _segments(place)
        elif isinstance(value, dict):
            pending.extend((item, (place, str(key))) for key, item in reversed(value.items()))
        elif isinstance(value, list | tuple):
            pending.extend((value[i], (place, i)) for i in reversed(range(len(value))))
    return None


def _format_path(innermost_first: list[str | int]) -> str:
    path = ""
    for segment in reversed(innermost_first):
        if isinstance(segment, int):
            path += f"[{segment}]"
        else:
            path += f".{segment}" if path else segment
    return path


# ---------------------------------------------------------------------------------------
# Decoding

# A `\uD800`-`\uDFFF` escape: the only valid JSON orjson refuses (it rejects lone ones).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")


def loads(data: bytes | bytearray | memoryview | str) -> object:
    """Decode one JSON document; lone surrogate escapes become U+FFFD.

    Raises JSONError (never anything else) for invalid UTF-8, malformed JSON, NaN/Infinity
    literals or out-of-range numbers, and nesting too deep to decode (past orjson's 1024
    levels: its `path` then names the first container past compat's MAX_NESTING). An integer beyond 64
    bits decodes as the nearest float (orjson's rule; Gemini holds every number of `args` /
    `response` as a double anyway), never as NaN or Infinity.
    """
    if not isinstance(data, bytes | bytearray | memoryview | str):
        raise JSONError(f"cannot decode JSON from {type(data).__name__}")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        orjson_reason = str(exc)
    text = _decoded_text(data)
    if orjson_reason.startswith("depth limit exceeded"):  # orjson's limit: 1024 levels
        raise _too_deep(text)
    if isinstance(data, str):
        if scrub(text) == text and not _SURROGATE_ESCAPE.search(text.encode("utf-8")):
            raise JSONError(f"invalid JSON: {orjson_reason}")
    elif not _SURROGATE_ESCAPE.search(bytes(data)):
        raise JSONError(f"invalid JSON: {orjson_reason}")
    return _scrubbed_in_place(_stdlib_loads(text))


def _decoded_text(data: bytes | bytearray | memoryview | str) -> str:
    if isinstance(data, str):
        return data
    try:
        return bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JSONError(f"invalid UTF-8 at byte {exc.start}") from None


def _refuse_constant(name: str) -> object:
    raise JSONError(f"{name} is not valid JSON")


def _finite_float(literal: str) -> float:
    number = float(literal)
    if not math.isfinite(number):
        raise JSONError(f"number {literal[:40]} is out of range")
    return number


def _stdlib_loads(text: str) -> object:
    """The stdlib decoder, as strict as orjson, for documents holding surrogate escapes."""
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise JSONError(f"invalid JSON: {exc}") from None
    except RecursionError:
        raise _too_deep(text) from None
    except ValueError as exc:  # e.g. an integer literal longer than int_max_str_digits
        if isinstance(exc, JSONError):
            raise
        raise JSONError(f"invalid JSON: {exc}") from None


def _too_deep(text: str) -> JSONError:
    """The error for a document nested too deep to decode, at the first container past the
    request limit (which is below every decoder's own; no path when it is not found soon)."""
    path = nesting_path_in_text(text)
    return JSONError(TOO_DEEP, None if path is None else clipped_path(path))


def _scrubbed_in_place(document: object) -> object:
    """Scrub every string of a freshly decoded document (iterative: no depth limit)."""
    if isinstance(document, str):
        return scrub(document)
    pending: list[object] = [document]
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            for index, item in enumerate(node):
                if isinstance(item, str):
                    node[index] = scrub(item)
                elif isinstance(item, list | dict):
                    pending.append(item)
        elif isinstance(node, dict):
            items = list(node.items())
            node.clear()
            for key, item in items:
                node[scrub(key)] = scrub(item) if isinstance(item, str) else item
                if isinstance(item, list | dict):
                    pending.append(item)
    return document

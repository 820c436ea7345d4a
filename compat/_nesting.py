"""How deep client JSON may nest: one limit, checked before anything walks a request.

Operations
    MAX_NESTING                          the deepest nesting a request may have (128 levels)
    check_nesting(document)              raise RequestError naming the limit and the field, for
                                         a decoded request nested deeper than the limit
    TOO_DEEP, too_deep(path), clipped_path(path)   that error's message, the error, its field
    fits(value, levels) -> bool          whether `value` nests at most `levels` deep
    nesting_path_in_text(text) -> path or None
                                         the same field found in JSON text no decoder takes
                                         (orjson stops at 1024 levels), without decoding it

Goals
    A request nested deeper than the limit is the client's fault (a 400 naming the limit and
    the path to the first value past it), never a RecursionError deep inside a converter, the
    encoder or `dropped_fields`. Both checks are iterative, so any depth is safe to check.

Plan
    Levels count containers: `{}` is one level, `{"a": []}` two. The decoded check walks the
    containers level by level (one list comprehension per level: a few hundred shallow
    containers cost little) and searches for the path only once a level is too deep. The text
    check tokenizes strings and structural characters with one regular expression and keeps
    the path of the open containers; it gives up (None: the caller names the limit without a
    field) after a token budget, so a huge flat prefix cannot make it slow.
"""

from __future__ import annotations

import json
import re
from typing import Any

from compat._errors import RequestError

__all__ = [
    "MAX_NESTING",
    "TOO_DEEP",
    "check_nesting",
    "clipped_path",
    "fits",
    "nesting_path_in_text",
    "too_deep",
]

# Why 128: real requests nest far less (an agent's tool inputs and schemas a few dozen levels
# at most), and Gemini itself refuses past 100 nested protobuf messages (each JSON level of
# `args` or of a schema costs two: a Value and its Struct or ListValue), so about 50 JSON levels
# reach it. And Python's stack survives it everywhere: the walks that still recurse over a
# checked request (conversion, `dropped_fields`) take a few frames per level, far below the
# default recursion limit of 1000 whatever frames a server (Quart, hypercorn, granian) or a
# test runner already holds. serde_json's default recursion limit is 128 too.
MAX_NESTING = 128

TOO_DEEP = f"nested deeper than {MAX_NESTING} levels, the depth limit of a request"
_CONTAINERS = (dict, list)  # a tuple: `dict | list` would build a union on every test
_SHOWN_SEGMENTS = 8  # a path of 129 segments is clipped in the message: the field is in front
_TOKEN_BUDGET = 20_000  # tens of milliseconds of Python at most
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\],:]', re.DOTALL)


def check_nesting(value: object, path: tuple[str | int, ...] = (), depth: int = 1) -> None:
    """Raise RequestError when containers nest deeper than MAX_NESTING in `value`, which sits
    at `path` of a request, itself at level `depth` when it is a container."""
    levels = MAX_NESTING - depth + 1
    if not fits(value, levels):
        raise too_deep([*path, *_path_to(value, levels)])


def fits(value: object, levels: int) -> bool:
    """Whether the containers of `value` nest at most `levels` deep (a scalar: 0 levels).

    Level by level, one comprehension per level: the common case (a few hundred shallow
    containers) stays cheap, and the walk stops at the first level past `levels`.
    """
    level = [value] if isinstance(value, dict | list) else []
    for _ in range(levels):
        if not level:
            return True
        level = [
            inner
            for node in level
            for inner in (node.values() if isinstance(node, dict) else node)
            if isinstance(inner, _CONTAINERS)
        ]
    return not level


def _path_to(value: object, levels: int) -> list[str | int]:
    """Keys and indexes from `value` down to a container `levels` containers below it."""
    pending: list[tuple[Any, int, Any]] = [(value, 0, None)]  # (container, its level, place)
    while pending:
        node, level, place = pending.pop()
        if level == levels:
            steps: list[str | int] = []
            while place is not None:
                place, step = place
                steps.append(step)
            return steps[::-1]
        items = list(node.items() if isinstance(node, dict) else enumerate(node))
        pending.extend(  # reversed: the first in document order comes off the stack first
            (inner, level + 1, (place, key))
            for key, inner in reversed(items)
            if isinstance(inner, dict | list)
        )
    return []


def too_deep(path: list[str | int]) -> RequestError:
    """The RequestError for a value nested past the limit at `path`."""
    return RequestError(clipped_path(path), TOO_DEEP)


def nesting_path_in_text(text: str) -> list[str | int] | None:
    """Path to the first container nested deeper than MAX_NESTING in JSON `text`, or None
    (nothing that deep, or not found within the token budget)."""
    path: list[str | int] = []
    frames: list[list[bool]] = []  # per open container: [is an object, its key is on path]
    expecting_key = False
    for count, match in enumerate(_TOKEN.finditer(text)):
        if count > _TOKEN_BUDGET:
            return None
        token = match.group()
        if token in "{[":
            if len(frames) >= MAX_NESTING:
                return path
            frames.append([token == "{", token == "["])
            if token == "[":
                path.append(0)
            expecting_key = token == "{"
        elif token in "}]":
            if frames and frames.pop()[1]:
                path.pop()
            expecting_key = False
        elif token == "," and frames:
            frame = frames[-1]
            if not frame[0]:
                path[-1] = int(path[-1]) + 1
                continue
            if frame[1]:
                path.pop()
                frame[1] = False
            expecting_key = True
        elif expecting_key and token.startswith('"'):
            path.append(_key(token))
            frames[-1][1] = True
            expecting_key = False
    return None


def _key(token: str) -> str:
    try:
        return str(json.loads(token))
    except ValueError:
        return token[1:-1]


def _path_of(entry: Any) -> list[str | int]:
    path: list[str | int] = []
    while entry is not None and entry[3] is not None:
        path.append(entry[3])
        entry = entry[2]
    return path[::-1]


def clipped_path(path: list[str | int]) -> str:
    text = ""
    for step in path[:_SHOWN_SEGMENTS]:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    if len(path) > _SHOWN_SEGMENTS:
        text += f"…({len(path) - _SHOWN_SEGMENTS} more levels)"
    return text

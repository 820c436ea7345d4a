"""Strategies for JSON nested deeper than any real request: what a hostile client sends to
find a recursive walk.

Building blocks
    nesting_depths()          1 to 10**5 containers, weighted to the edges that matter: a
                              gateway's own limit (compat's is 128), orjson's encoder (254)
                              and decoder (1024), Python's recursion limit (1000)
    Nesting(depth, shape, leaf)
        .text()               JSON text of exactly `depth` nested containers (objects, arrays,
                              arrays with a sibling before the deep one) around a leaf, some
                              leaves a lone-surrogate escape, which sends a decoder to its slow
                              path; built without recursion, so any depth is cheap
        .value()              the same as a Python value, also built without recursion
    nested_json(depth, shape=("object",), leaf="1") -> str   Nesting(...).text()
    deep_values()             Nestings of a depth from nesting_depths()
    in_request(body, path, text) -> str
                              JSON text of `body` with the value at `path` replaced by `text`
    ANTHROPIC, OPENAI, ANTHROPIC_PLACES, OPENAI_PLACES
                              a valid request per dialect, and its free-form places
    deep_requests()           DeepRequest(openai, place, nesting): one of them with a deep
                              value at one of its places; .depth, .field, .text()

The depth of a request holding a value of depth d at a path of n steps is n + d (the root is
level 1). Written without `compat`: the limits are facts about parsers, not imports.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

__all__ = [
    "ANTHROPIC",
    "ANTHROPIC_PLACES",
    "OPENAI",
    "OPENAI_PLACES",
    "DeepRequest",
    "Nesting",
    "deep_requests",
    "deep_values",
    "in_request",
    "nested_json",
    "nesting_depths",
]

EDGES = (1, 2, 127, 128, 129, 254, 255, 256, 999, 1000, 1001, 1023, 1024, 1025, 100_000)
_OPENERS = {"object": ('{"a":', "}"), "array": ("[", "]"), "second": ("[0,", "]")}
_LEAVES = ("1", "null", '"leaf"', '"\\ud800"', "[]", "{}")
_PLACEHOLDER = "compatkit-nested-value-placeholder"


def nesting_depths() -> st.SearchStrategy[int]:
    """How many containers deep: small, near the limits, or anything up to 10**5."""
    return st.one_of(
        st.sampled_from(EDGES),
        st.integers(1, 300),
        st.integers(1, 100_000),
    )


@dataclass(frozen=True)
class Nesting:
    """`depth` containers nested in `shape`'s kinds, cycled, around `leaf` (JSON text; a leaf
    `[]` or `{}` is one of the `depth` containers)."""

    depth: int
    shape: tuple[str, ...] = ("object",)
    leaf: str = "1"

    def _kinds(self) -> list[str]:
        wrappers = self.depth - 1 if self.leaf in ("[]", "{}") else self.depth
        return [self.shape[index % len(self.shape)] for index in range(wrappers)]

    def text(self) -> str:
        kinds = self._kinds()
        return (
            "".join(_OPENERS[kind][0] for kind in kinds)
            + self.leaf
            + "".join(_OPENERS[kind][1] for kind in reversed(kinds))
        )

    def value(self) -> Any:
        value: Any = json.loads(self.leaf)
        for kind in reversed(self._kinds()):
            value = {"a": value} if kind == "object" else [value] if kind == "array" else [0, value]
        return value


def nested_json(depth: int, shape: tuple[str, ...] = ("object",), leaf: str = "1") -> str:
    """JSON text of `depth` nested containers (see Nesting)."""
    return Nesting(depth, shape, leaf).text()


@st.composite
def deep_values(draw: st.DrawFn) -> Nesting:
    """A value nested a depth from nesting_depths() deep, in one to three kinds of container."""
    depth = draw(nesting_depths())
    shape = tuple(draw(st.lists(st.sampled_from(sorted(_OPENERS)), min_size=1, max_size=3)))
    return Nesting(depth, shape, draw(st.sampled_from(_LEAVES)))


# Valid requests of each dialect, and the places where a client puts JSON of its own choosing.
ANTHROPIC: dict[str, Any] = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 64,
    "system": "be brief",
    "metadata": {"user_id": "u1"},
    "tools": [
        {
            "name": "lookup",
            "input_schema": {"type": "object", "properties": {"p": {"type": "string"}}},
        }
    ],
    "messages": [
        {"role": "user", "content": "look it up"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {}}],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "found"}],
        },
    ],
}
OPENAI: dict[str, Any] = {
    "model": "gpt-4o",
    "metadata": {"k": "v"},
    "tools": [
        {
            "type": "function",
            "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}},
        }
    ],
    "response_format": {"type": "json_schema", "json_schema": {"name": "out", "schema": {}}},
    "messages": [{"role": "user", "content": "look it up"}],
}
# Where a client may put JSON of its own choosing, per dialect.
ANTHROPIC_PLACES: list[tuple[str | int, ...]] = [
    ("messages", 1, "content", 0, "input"),
    ("messages", 2, "content", 0, "content"),
    ("messages", 0, "content"),
    ("tools", 0, "input_schema", "properties", "p"),
    ("tools", 0, "input_schema", "properties", "p", "default"),
    ("metadata",),
    ("system",),
    ("context_management",),
]
OPENAI_PLACES: list[tuple[str | int, ...]] = [
    ("messages", 0, "content"),
    ("tools", 0, "function", "parameters", "properties"),
    ("response_format", "json_schema", "schema"),
    ("metadata",),
    ("stop",),
    ("unknown_field",),
]


@dataclass(frozen=True)
class DeepRequest:
    """A valid request of one dialect with a deep value at one of its free-form places."""

    openai: bool
    place: tuple[str | int, ...]
    nesting: Nesting

    @property
    def depth(self) -> int:
        """The request's own depth: the place's steps plus the value's containers."""
        return len(self.place) + self.nesting.depth

    @property
    def field(self) -> str:
        """The place as a JSON path (`messages[1].content[0].input`)."""
        text = ""
        for step in self.place:
            text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
        return text

    def text(self) -> str:
        return in_request(OPENAI if self.openai else ANTHROPIC, self.place, self.nesting.text())


@st.composite
def deep_requests(draw: st.DrawFn) -> DeepRequest:
    """A request of either dialect holding a deep_values() value at one of its places."""
    openai = draw(st.booleans())
    place = draw(st.sampled_from(OPENAI_PLACES if openai else ANTHROPIC_PLACES))
    return DeepRequest(openai, place, draw(deep_values()))


def in_request(body: dict[str, Any], path: tuple[str | int, ...], text: str) -> str:
    """The JSON text of `body` with `text` as the value at `path` (which must exist or be a
    new key of an existing object)."""
    copy = json.loads(json.dumps(body))
    parent = copy
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = _PLACEHOLDER
    return json.dumps(copy).replace(json.dumps(_PLACEHOLDER), text, 1)

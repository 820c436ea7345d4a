"""Strategies for text that breaks naive JSON encoders.

    lone_surrogates()        one unpaired UTF-16 surrogate code point (U+D800..U+DFFF)
    split_surrogate_pairs()  a valid high+low pair held as two code points ('\\ud83d\\ude00')
    astral_chars()           one character beyond the BMP (emoji, CJK extension, ...)
    control_chars()          C0/C1 controls, DEL, U+2028/U+2029, BOM, U+FFFD itself, bidi
                             overrides
    hostile_text()           ordinary text interleaved with all of the above
    hostile_json()           JSON-shaped values (lists, str-keyed dicts) whose strings and
                             keys are hostile_text()
    surrogate_escape_json()  JSON text as a JS client writes it: lone surrogates as `\\udXXX`

Lone surrogates reach a Python proxy from JS clients (Claude Code's JSON.stringify keeps
them as escapes) and from text cut in the middle of a pair (docs/reference/json.md#lone-surrogates).
"""

from __future__ import annotations

import json

from hypothesis import strategies as st

from conformance.strategies.json_values import INT64, json_scalars, json_values

__all__ = [
    "astral_chars",
    "control_chars",
    "hostile_json",
    "hostile_text",
    "lone_surrogates",
    "split_surrogate_pairs",
    "surrogate_escape_json",
]


def lone_surrogates() -> st.SearchStrategy[str]:
    """One surrogate code point on its own, high (D800-DBFF) or low (DC00-DFFF)."""
    return st.integers(0xD800, 0xDFFF).map(chr)


def split_surrogate_pairs() -> st.SearchStrategy[str]:
    """A valid surrogate pair stored as two code points (joins into one astral char)."""
    return st.tuples(st.integers(0xD800, 0xDBFF), st.integers(0xDC00, 0xDFFF)).map(
        lambda pair: chr(pair[0]) + chr(pair[1])
    )


def astral_chars() -> st.SearchStrategy[str]:
    """A character outside the Basic Multilingual Plane."""
    return st.one_of(
        st.sampled_from(["😀", "🦀", "𝄞", "𠀋", "👩‍💻"]),
        st.integers(0x10000, 0x10FFFF).map(chr),
    )


def control_chars() -> st.SearchStrategy[str]:
    """Characters JSON must escape, that confuse line-based framing, or reorder display."""
    return st.one_of(
        st.integers(0x00, 0x1F).map(chr),
        st.sampled_from(["\x7f", "\x85", "\u2028", "\u2029", "\ufeff", "\ufffd", '"', "\\"]),
        st.sampled_from(["\u202e", "\u200f"]),  # right-to-left override and mark
        st.integers(0x80, 0x9F).map(chr),
    )


def hostile_text(max_size: int = 24) -> st.SearchStrategy[str]:
    """Text mixing ordinary characters with surrogates, pairs, astral chars and controls."""
    piece = st.one_of(
        st.text(max_size=4),
        lone_surrogates(),
        split_surrogate_pairs(),
        astral_chars(),
        control_chars(),
    )
    return st.lists(piece, max_size=max_size).map("".join)


def hostile_json(max_leaves: int = 20) -> st.SearchStrategy[object]:
    """JSON-shaped values whose strings (and dict keys) are hostile_text()."""
    return json_values(
        scalars=json_scalars(text=hostile_text(), integers=INT64),
        keys=hostile_text(max_size=6),
        max_leaves=max_leaves,
        max_size=5,
    )


def surrogate_escape_json() -> st.SearchStrategy[bytes]:
    """UTF-8 JSON text with lone surrogates written as `\\udXXX` escapes (JS style)."""
    return hostile_json().map(lambda value: json.dumps(value, ensure_ascii=True).encode("ascii"))

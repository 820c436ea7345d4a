"""The one builder of JSON-shaped values; every other strategy picks its scalars and keys.

Building blocks
    json_scalars(text=, integers=, floats=)
                                     null, booleans, integers, floats, text
    INT64                            the integers a 64-bit JSON peer holds
    json_values(scalars=, keys=, max_leaves=, max_size=)
                                     lists and string-keyed objects nested over `scalars`

Other modules compose these rather than writing their own `st.recursive`: hostile text in
strings and keys (`unicode.hostile_json`), Gemini field names as keys
(`gemini_responses.hostile_chunks`), schema keywords (`schemas.schema_like_values`).
Independent of compat.
"""

from __future__ import annotations

from hypothesis import strategies as st

__all__ = ["INT64", "json_scalars", "json_values"]

# The integers a JSON peer written in Go, Java or protobuf can hold (JSON itself has no limit).
INT64 = st.integers(-(2**63), 2**63 - 1)


def json_scalars(
    *,
    text: st.SearchStrategy[str] | None = None,
    integers: st.SearchStrategy[int] | None = None,
    floats: st.SearchStrategy[float] | None = None,
) -> st.SearchStrategy[object]:
    """null, booleans, `integers` (default: any size), `floats` (default: finite) and `text`
    (default: short unicode text)."""
    return st.one_of(
        st.none(),
        st.booleans(),
        integers if integers is not None else st.integers(),
        floats if floats is not None else st.floats(allow_nan=False, allow_infinity=False),
        text if text is not None else st.text(max_size=10),
    )


def json_values(
    *,
    scalars: st.SearchStrategy[object] | None = None,
    keys: st.SearchStrategy[str] | None = None,
    max_leaves: int = 12,
    max_size: int = 4,
) -> st.SearchStrategy[object]:
    """Any JSON value: `scalars`, and lists and objects (keys from `keys`) nesting them."""
    leaves = scalars if scalars is not None else json_scalars()
    names = keys if keys is not None else st.text(max_size=8)
    return st.recursive(
        leaves,
        lambda children: (
            st.lists(children, max_size=max_size)
            | st.dictionaries(names, children, max_size=max_size)
        ),
        max_leaves=max_leaves,
    )

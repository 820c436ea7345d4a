"""toml_document: every JSON-like table reads back with tomllib as itself."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loadtests._bench._toml import toml_document

_SCALARS = (
    st.text()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(), _VALUES, max_size=6))
def test_every_table_reads_back_as_itself(table: dict[str, Any]) -> None:
    assert tomllib.loads(toml_document(table)) == table


def test_the_emulator_and_proxy_shapes_read_back() -> None:
    table = {"scenarios": {"storm": {"faults": [{"kind": "rate_limit", "probability": 0.3}]}},
             "max_records": 10, "server": {"proxy_keys": ["k"]}}  # fmt: skip
    assert tomllib.loads(toml_document(table)) == table


def test_null_and_odd_values_are_refused() -> None:
    with pytest.raises(ValueError, match="no null"):
        toml_document({"a": None})
    with pytest.raises(TypeError):
        toml_document({"a": object()})
    with pytest.raises(ValueError):
        toml_document({"a": float("nan")})

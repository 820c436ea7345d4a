"""Writing the TOML the run hands to `compatkit emulate` and `compatkit serve`.

Operations
    toml_document(table) -> str     one `"key" = value` line per top-level key, tables inline

JSON's strings, numbers, booleans and arrays are valid TOML values (JSON escapes are a subset
of TOML basic-string escapes, once non-ASCII stays raw and DEL is escaped; `allow_nan=False`
keeps NaN and infinities out), and a table
becomes an inline table, so `tomllib.loads(toml_document(t)) == t` for every JSON-like table
without None (TOML has no null: a None is refused). Written here instead of adding a TOML
writer to every engineer's environment for this one use; the property test reads every
document back with tomllib.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["toml_document"]


def toml_document(table: Mapping[str, Any]) -> str:
    return "".join(f"{_string(str(key))} = {_value(value)}\n" for key, value in table.items())


def _string(text: str) -> str:
    """A TOML basic string: JSON's escapes, characters beyond ASCII as themselves (JSON's
    surrogate-pair escapes are not TOML), and DEL escaped (TOML forbids it raw)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _value(value: Any) -> str:
    if isinstance(value, Mapping):
        items = ", ".join(f"{_string(str(k))} = {_value(v)}" for k, v in value.items())
        return "{" + items + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    if value is None:
        raise ValueError("TOML has no null")
    if isinstance(value, str):
        return _string(value)
    if not isinstance(value, int | float | bool):
        raise TypeError(f"not a TOML value: {value!r}")
    return json.dumps(value, allow_nan=False)

"""`dumps`: JSON bytes for anything a request may carry.

orjson first (fast); the standard library for what orjson refuses but a request can legally hold,
namely integers beyond 64 bits (the proto JSON parser accepts them, and validation.py decodes them
with the standard library). Compact separators either way, so the output is stable.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(value: Any, *, sort_keys: bool = False) -> bytes:
    """Compact UTF-8 JSON; keys sorted when asked (for digests)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS if sort_keys else 0)
    except TypeError:
        text = json.dumps(value, sort_keys=sort_keys, separators=(",", ":"), ensure_ascii=False)
        return text.encode("utf-8", "surrogatepass")

"""`dumps`: valid UTF-8 JSON bytes for anything a request or an answer may carry.

orjson first (fast); the standard library for what orjson refuses but a value can legally hold:
integers beyond 64 bits (the proto JSON parser accepts them, and validation.py decodes them with the
standard library) and lone surrogates (replaced by U+FFFD, so the output is always valid UTF-8; a
request's are already repaired when decoded, this covers anything else). Compact separators either
way, so the output is stable.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def dumps(value: Any, *, sort_keys: bool = False, escape_surrogates: bool = False) -> bytes:
    """Compact UTF-8 JSON; keys sorted when asked (for digests). A lone surrogate becomes U+FFFD,
    or with `escape_surrogates` a `\\udXXX` escape (still valid UTF-8: what a JavaScript or Java
    encoder writes, and what a scripted reply uses to send one to the proxy)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS if sort_keys else 0)
    except TypeError:  # orjson.JSONEncodeError: a big integer or a lone surrogate
        text = json.dumps(value, sort_keys=sort_keys, separators=(",", ":"), ensure_ascii=False)
        if escape_surrogates:
            return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text).encode("utf-8")
        return _LONE_SURROGATE.sub("\ufffd", text).encode("utf-8")

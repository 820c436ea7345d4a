"""Unicode rules shared by the checkers (docs/reference/json.md).

no_lone_surrogates(value)   raise a Violation if any string or key in `value` holds one
repaired(value)             `value` with every lone surrogate replaced by U+FFFD: what a
                            proxy following the JSON reference's advice sends on
"""

from __future__ import annotations

import json
import re
from typing import Any

from conformance.checks.violation import Violation

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def no_lone_surrogates(value: Any) -> None:
    """Strings a strict UTF-8 encoder accepts, all the way down (JSON)."""
    if isinstance(value, str):
        if _LONE_SURROGATE.search(value):
            raise Violation(f"lone surrogate in {value!r} (JSON)")
    elif isinstance(value, dict):
        for key, item in value.items():
            no_lone_surrogates(key)
            no_lone_surrogates(item)
    elif isinstance(value, list):
        for item in value:
            no_lone_surrogates(item)


def repaired(value: Any) -> Any:
    """`value` with lone surrogates (in strings and keys) replaced by U+FFFD."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [repaired(item) for item in value]
    if isinstance(value, dict):
        return {repaired(k): repaired(v) for k, v in value.items()}
    return value


def canonical(value: Any) -> str:
    """JSON with sorted keys and repaired strings: equal values give equal text."""
    return json.dumps(repaired(value), sort_keys=True, ensure_ascii=False)

"""Reading a request that passed the parse pass: either JSON spelling of a field, lists normalised.

Operations: `get(obj, camel, snake)` returns a field by its lowerCamelCase or snake_case key (the
proto JSON parser accepts both); `as_list(value)` turns a repeated field into a list the way the
parser reads it (absent -> [], a single value -> [value], `null` elements dropped); `dicts(value)`
keeps only the object elements.
"""

from __future__ import annotations

from typing import Any


def get(obj: dict[str, Any], camel: str, snake: str = "") -> Any:
    """The value of a field under either spelling; `None` when absent or null."""
    value = obj.get(camel)
    if value is None and snake:
        return obj.get(snake)
    return value


def as_list(value: Any) -> list[Any]:
    """A repeated field's elements, `null` elements dropped."""
    if value is None:
        return []
    if type(value) is list:
        return [item for item in value if item is not None]
    return [value]


def dicts(value: Any) -> list[tuple[int, dict[str, Any]]]:
    """The (index, element) pairs of a repeated message field whose elements are objects."""
    if value is None:
        return []
    if type(value) is not list:
        return [(0, value)] if type(value) is dict else []
    return [(index, item) for index, item in enumerate(value) if type(item) is dict]

"""Typed access to client JSON for request conversion: every wrong type is a RequestError.

Operations
    json_type(value) -> str                       "object", "array", "string", ... for messages
    child(path, key) / item(path, index) -> str   JSON paths in the Anthropic error form
    expect_dict / expect_list / expect_str / expect_int / expect_number / expect_bool
    required(obj, key, path) -> value             the field, or "field required"

Goal: converters read client JSON in one line per field and never leak KeyError or
TypeError. Paths are built only on the error branch, so the happy path pays nothing.
"""

from __future__ import annotations

from typing import Any

from compat._errors import RequestError

__all__ = [
    "child",
    "expect_bool",
    "expect_dict",
    "expect_int",
    "expect_list",
    "expect_number",
    "expect_str",
    "item",
    "json_type",
    "required",
]

_JSON_TYPES: dict[type, str] = {
    dict: "object",
    list: "array",
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


def json_type(value: object) -> str:
    """The JSON name of `value`'s type (Python's name for non-JSON values)."""
    return _JSON_TYPES.get(type(value), type(value).__name__)


def child(path: str, key: str) -> str:
    """The path of field `key` inside the value at `path` (`""` is the request itself)."""
    return f"{path}.{key}" if path else key


def item(path: str, index: int) -> str:
    """The path of element `index` of the array at `path`."""
    return f"{path}[{index}]"


def _wrong_type(value: object, expected: str, path: str) -> RequestError:
    return RequestError(path, f"expected {expected}, got {json_type(value)}")


def required(obj: dict[str, Any], key: str, path: str) -> Any:
    """`obj[key]`; a missing key is a RequestError at the field's path."""
    try:
        return obj[key]
    except KeyError:
        raise RequestError(child(path, key), "field required") from None


def expect_dict(value: object, path: str) -> dict[str, Any]:
    if type(value) is not dict:
        raise _wrong_type(value, "an object", path)
    return value


def expect_list(value: object, path: str) -> list[Any]:
    if type(value) is not list:
        raise _wrong_type(value, "an array", path)
    return value


def expect_str(value: object, path: str) -> str:
    if type(value) is not str:
        raise _wrong_type(value, "a string", path)
    return value


def expect_int(value: object, path: str) -> int:
    if type(value) is not int:  # bool is not an int here, unlike isinstance
        raise _wrong_type(value, "an integer", path)
    return value


def expect_number(value: object, path: str) -> int | float:
    if type(value) is not int and type(value) is not float:
        raise _wrong_type(value, "a number", path)
    return value


def expect_bool(value: object, path: str) -> bool:
    if type(value) is not bool:
        raise _wrong_type(value, "a boolean", path)
    return value

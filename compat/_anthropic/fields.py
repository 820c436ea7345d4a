"""Typed access to client JSON for request conversion: every wrong type is a RequestError.

Operations
    json_type(value) -> str                       "object", "array", "string", ... for messages
    child(path, key) / item(path, index) -> str   JSON paths in the Anthropic error form
    expect_dict / expect_list / expect_str / expect_int / expect_number / expect_bool
    required(obj, key, path) -> value             the field, or "field required"
    str_field / dict_field / list_field / int_field(obj, key, path)
                                                  a required field of that type

Goal: converters read client JSON in one line per field and never leak KeyError or
TypeError. Paths are built only on the error branch, so the happy path pays nothing.
"""

from __future__ import annotations

from typing import Any

from compat._errors import RequestError

__all__ = [
    "child",
    "dict_field",
    "expect_bool",
    "expect_dict",
    "expect_int",
    "expect_list",
    "expect_number",
    "expect_str",
    "int_field",
    "item",
    "json_type",
    "list_field",
    "required",
    "str_field",
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


_MISSING = object()


def str_field(obj: dict[str, Any], key: str, path: str) -> str:
    """The required string field `key` of the object at `path`."""
    value = obj.get(key, _MISSING)
    if type(value) is str:
        return value
    raise _field_error(value, "a string", path, key)


def dict_field(obj: dict[str, Any], key: str, path: str) -> dict[str, Any]:
    """The required object field `key` of the object at `path`."""
    value = obj.get(key, _MISSING)
    if type(value) is dict:
        return value
    raise _field_error(value, "an object", path, key)


def list_field(obj: dict[str, Any], key: str, path: str) -> list[Any]:
    """The required array field `key` of the object at `path`."""
    value = obj.get(key, _MISSING)
    if type(value) is list:
        return value
    raise _field_error(value, "an array", path, key)


def int_field(obj: dict[str, Any], key: str, path: str) -> int:
    """The required integer field `key` of the object at `path` (booleans refused)."""
    value = obj.get(key, _MISSING)
    if type(value) is int:
        return value
    raise _field_error(value, "an integer", path, key)


def _field_error(value: object, expected: str, path: str, key: str) -> RequestError:
    if value is _MISSING:
        return RequestError(child(path, key), "field required")
    return _wrong_type(value, expected, child(path, key))

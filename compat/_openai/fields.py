"""Typed reads of fields from an untrusted OpenAI request.

Operations: `require_dict`, `require_list`, `require_str`, and the `optional_*` readers
that look a key up in an object and check its type and range.

Goal: request conversion raises only `RequestError(path, message)` on arbitrary JSON-ish
input, never KeyError or TypeError. Plan: every read of client data goes through one of
these helpers, which name the offending path in the OpenAI API's own dotted/bracket form.
"""

from __future__ import annotations

from typing import Any

from compat._errors import RequestError

JSONObject = dict[str, Any]


def describe(value: object) -> str:
    """The JSON type name of `value`, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def require_dict(value: object, path: str) -> JSONObject:
    if not isinstance(value, dict):
        raise RequestError(path, f"expected an object, got {describe(value)}")
    return value


def require_list(value: object, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise RequestError(path, f"expected an array, got {describe(value)}")
    return value


def require_str(value: object, path: str) -> str:
    if not isinstance(value, str):
        raise RequestError(path, f"expected a string, got {describe(value)}")
    return value


def optional_str(obj: JSONObject, key: str, path: str) -> str | None:
    value = obj.get(key)
    return None if value is None else require_str(value, f"{path}{key}")


def optional_bool(obj: JSONObject, key: str, path: str) -> bool | None:
    value = obj.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise RequestError(f"{path}{key}", f"expected a boolean, got {describe(value)}")


def optional_int(
    obj: JSONObject,
    key: str,
    path: str,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise RequestError(f"{path}{key}", f"expected an integer, got {describe(value)}")
    if minimum is not None and value < minimum:
        raise RequestError(f"{path}{key}", f"must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise RequestError(f"{path}{key}", f"must be at most {maximum}, got {value}")
    return value


def optional_number(
    obj: JSONObject, key: str, path: str, *, minimum: float, maximum: float
) -> float | int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RequestError(f"{path}{key}", f"expected a number, got {describe(value)}")
    if not minimum <= value <= maximum:
        raise RequestError(f"{path}{key}", f"must be between {minimum} and {maximum}, got {value}")
    return value

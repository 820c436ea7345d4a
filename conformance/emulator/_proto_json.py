"""The proto JSON parse pass: what Google's JSON-to-proto parser refuses before any validation.

Operation: `parse_violations(body, root)` walks a decoded JSON body against the field tables of
`_proto_fields` once, in document order, and returns one `FieldViolation` per problem:
- a key that is not a field: `Invalid JSON payload received. Unknown name "k" at 'path': Cannot find
  field.` (children of an unknown key are not inspected, as in protobuf's `ProtoWriter`);
- a list for a field that is not repeated: `... Proto field is not repeating, cannot start list.`;
- a second member of a oneof: `Invalid value at 'path' (oneof), oneof field 'data' is already set.
  Cannot set 'k'`;
- a value of the wrong JSON type: `Invalid value at 'path' (TYPE_INT32), "abc"`;
- a body that is not an object: `Invalid JSON payload received. Unknown name "": Root element must be
  a message.`
Paths use proto snake_case names, `[i]` for list elements and `[i].value` for map entries
(docs/reference/gemini.md#schema).

Goal: the wording of protobuf's ProtoWriter (the open-source sibling of Google's ESF parser) and of
the errors quoted in docs/reference/gemini.md#schema. Behaviour kept from that parser: `null` means
"not set"; a single value is accepted for a repeated field; enum names match case-insensitively;
numbers may arrive as strings. The reference quotes no "Invalid value" line; Gemini's own, quoted
in public code, match this module for enums (`... (type.googleapis.com/google.ai.
generativelanguage.v1beta.ThinkingConfig.ThinkingLevel), "BOGUS"`) and for a scalar where a
message belongs (`...properties[3].value' (type.googleapis.com/...v1beta.Schema), "string"`);
the scalar-type lines (`(TYPE_INT32)`) follow Google's other APIs (FCM) and are not verified.
Plan: plain recursive functions over dicts; nesting deeper than `MAX_DEPTH` messages stops the walk
with one violation, so hostile input never exhausts the stack.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from conformance.emulator._proto_fields import MESSAGES, Field, Kind, Message
from conformance.emulator.google_errors import FieldViolation

MAX_DEPTH = 100  # protobuf's JSON parser default recursion limit
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]*={0,2}")
_INT32_RANGE = (-(2**31), 2**31 - 1)
_INT64_RANGE = (-(2**63), 2**63 - 1)
_FLOAT_WORDS = frozenset({"NaN", "Infinity", "-Infinity"})


def parse_violations(body: object, root: str, location: str = "") -> list[FieldViolation]:
    """Every parse-level problem of `body` read as the message `root`, in document order.

    `location` places a sub-message (e.g. one Schema) at its path inside a request.
    """
    out: list[FieldViolation] = []
    message = MESSAGES[root]
    if type(body) is dict:
        _walk_message(body, message, location, 0, out)
    elif location:
        out.append(_invalid_value(location, message.type_url, _show(body)))
    else:
        out.append(_unknown_name("", "", "Root element must be a message."))
    return out


def _unknown_name_line(key: str, location: str, reason: str) -> str:
    """The parser's line for a key it cannot place."""
    if location:
        return f"Invalid JSON payload received. Unknown name \"{key}\" at '{location}': {reason}"
    return f'Invalid JSON payload received. Unknown name "{key}": {reason}'


def _unknown_name(key: str, location: str, reason: str) -> FieldViolation:
    return FieldViolation(location, _unknown_name_line(key, location, reason))


def _invalid_value(location: str, type_name: str, shown: str) -> FieldViolation:
    return FieldViolation(location, f"Invalid value at '{location}' ({type_name}), {shown}")


def _show(value: object) -> str:
    """A value as the parser echoes it: strings quoted, containers as compact JSON."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except RecursionError:  # a hostile, deeply nested value: name its shape only
        return "[...]" if type(value) is list else "{...}"
    except (TypeError, ValueError):  # not JSON at all (a caller passed a Python object)
        return repr(value)


def _walk_message(
    value: dict[Any, Any], message: Message, location: str, depth: int, out: list[FieldViolation]
) -> None:
    fields = message.fields
    taken_oneofs: dict[str, str] = {}
    for key, item in value.items():
        field = fields.get(key)
        if field is None:
            out.append(_unknown_name(str(key), location, "Cannot find field."))
            continue
        if item is None:
            continue
        if field.oneof:
            if field.oneof in taken_oneofs:
                shown = f"oneof field '{field.oneof}' is already set. Cannot set '{key}'"
                out.append(_invalid_value(location, "oneof", shown))
                continue
            taken_oneofs[field.oneof] = key
        item_type = type(item)
        if item_type is field.plain or field.kind is Kind.VALUE:
            continue
        if item_type is str and field.enum is not None and item in field.enum.spellings:
            continue
        field_location = f"{location}.{field.name}" if location else field.name
        if item_type is not list:
            _walk_value(item, field, field_location, depth, out)
        elif not field.repeated:
            reason = "Proto field is not repeating, cannot start list."
            out.append(_unknown_name(key, location, reason))
        else:
            plain = field.plain
            for index, element in enumerate(item):
                if element is not None and type(element) is not plain:
                    _walk_value(element, field, f"{field_location}[{index}]", depth, out)


def _walk_value(
    item: object, field: Field, location: str, depth: int, out: list[FieldViolation]
) -> None:
    kind = field.kind
    if kind is Kind.MESSAGE:
        message = MESSAGES[field.message]
        if type(item) is not dict:
            out.append(_invalid_value(location, message.type_url, _show(item)))
        elif depth >= MAX_DEPTH:
            out.append(_too_deep(field.name, location))
        else:
            _walk_message(item, message, location, depth + 1, out)
    elif kind is Kind.MAP:
        _walk_map(item, field, location, depth, out)
    elif kind is Kind.VALUE:
        return
    elif kind is Kind.STRUCT or kind is Kind.OPAQUE:
        if type(item) is not dict:
            type_name = (
                "type.googleapis.com/google.protobuf.Struct"
                if kind is Kind.STRUCT
                else "TYPE_MESSAGE"
            )
            out.append(_invalid_value(location, type_name, _show(item)))
    elif not _scalar_ok(item, field):
        type_name = field.enum.type_url if field.enum is not None else kind.value
        out.append(_invalid_value(location, type_name, _show(item)))


def _walk_map(
    item: object, field: Field, location: str, depth: int, out: list[FieldViolation]
) -> None:
    if type(item) is not dict:
        shown = f"Cannot bind a non-object to map for field '{field.name}'."
        out.append(_invalid_value(location, "Map", shown))
        return
    if depth >= MAX_DEPTH:
        out.append(_too_deep(field.name, location))
        return
    message = MESSAGES[field.message]
    for index, entry in enumerate(item.values()):
        entry_location = f"{location}[{index}].value"
        if entry is None:
            continue
        if type(entry) is dict:
            _walk_message(entry, message, entry_location, depth + 1, out)
        elif type(entry) is list:
            reason = "Proto field is not repeating, cannot start list."
            out.append(_unknown_name("value", f"{location}[{index}]", reason))
        else:
            out.append(_invalid_value(entry_location, message.type_url, _show(entry)))


def _too_deep(name: str, location: str) -> FieldViolation:
    # Wording of protobuf's JsonStreamParser; not verified against Google.
    line = f"Invalid JSON payload received. Message too deep. Max recursion depth reached for key '{name}'"
    return FieldViolation(location, line)


def _scalar_ok(item: object, field: Field) -> bool:
    kind = field.kind
    item_type = type(item)
    if kind is Kind.STRING:
        return item_type is str
    if kind is Kind.BOOL:
        return item_type is bool or item in ("true", "false")
    if kind is Kind.INT32 or kind is Kind.INT64:
        low, high = _INT32_RANGE if kind is Kind.INT32 else _INT64_RANGE
        number = _as_integer(item)
        return number is not None and low <= number <= high
    if kind is Kind.FLOAT or kind is Kind.DOUBLE:
        return _is_number(item)
    if kind is Kind.BYTES:
        return item_type is str and _is_base64(item)  # type: ignore[arg-type]
    if kind is Kind.ENUM:
        assert field.enum is not None
        if item_type is str:
            return item.upper() in field.enum.names  # type: ignore[attr-defined]
        return item_type is int
    return False


def _as_integer(item: object) -> int | None:
    if type(item) is int:
        return item
    if type(item) is float:
        return int(item) if math.isfinite(item) and item.is_integer() else None
    if type(item) is str:
        try:
            return int(item)
        except ValueError:
            try:
                number = float(item)
            except ValueError:
                return None
            return int(number) if math.isfinite(number) and number.is_integer() else None
    return None


def _is_number(item: object) -> bool:
    if type(item) is int or type(item) is float:
        return True
    if type(item) is str:
        if item in _FLOAT_WORDS:
            return True
        try:
            return math.isfinite(float(item))
        except ValueError:
            return False
    return False


def _is_base64(text: str) -> bool:
    if _BASE64.fullmatch(text) is None:
        return False
    return len(text.rstrip("=")) % 4 != 1

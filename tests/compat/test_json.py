"""compat._json: the one JSON codec (docs/reference/json.md)."""

from __future__ import annotations

import contextlib
import json
import math

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from compat._json import JSONError, dumps, dumps_decoded, loads, scrub
from conformance.strategies.json_values import json_values
from conformance.strategies.unicode import (
    astral_chars,
    hostile_json,
    hostile_text,
    lone_surrogates,
    split_surrogate_pairs,
    surrogate_escape_json,
)


def _reference_scrub(value: object) -> object:
    """The deep scrub of docs/reference/json.md#what-the-codec-must-do, written independently of
    compat."""
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, list):
        return [_reference_scrub(item) for item in value]
    if isinstance(value, dict):
        return {_reference_scrub(k): _reference_scrub(v) for k, v in value.items()}
    return value


# --- scrub -----------------------------------------------------------------------------


def test_scrub_replaces_a_lone_surrogate_with_the_replacement_character() -> None:
    assert scrub("a\ud800b") == "a\ufffdb"
    assert scrub("\udc00") == "\ufffd"


def test_scrub_joins_a_split_surrogate_pair_into_one_character() -> None:
    assert scrub("\ud83d\ude00") == "😀"


def test_scrub_returns_valid_text_unchanged() -> None:
    text = "plain, 😀, \x00, \u2028"
    assert scrub(text) is text


# --- dumps -----------------------------------------------------------------------------


def test_dumps_is_compact_utf8_without_ascii_escapes() -> None:
    assert dumps({"a": [1, "é"], "b": None}) == '{"a":[1,"é"],"b":null}'.encode()


def test_dumps_indent_uses_two_spaces() -> None:
    assert dumps({"a": 1}, indent=True) == b'{\n  "a": 1\n}'


def test_dumps_repairs_lone_surrogates_in_values_and_keys() -> None:
    encoded = dumps({"k\udc00": ["x\ud800", "\ud83d\ude00"]})
    assert json.loads(encoded.decode("utf-8")) == {"k\ufffd": ["x\ufffd", "😀"]}


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_dumps_refuses_non_finite_floats_and_names_where(bad: float) -> None:
    with pytest.raises(JSONError, match="NaN and Infinity") as caught:
        dumps({"messages": [{"score": 1.0}, {"score": bad}]})
    assert caught.value.path == "messages[1].score"


def test_dumps_refuses_non_finite_floats_also_on_the_repair_path() -> None:
    with pytest.raises(JSONError, match="NaN"):
        dumps({"text": "\ud800", "score": math.nan})


def test_dumps_refuses_a_non_str_dict_key_with_json_error() -> None:
    with pytest.raises(JSONError, match="key 1 is not a str"):
        dumps({"a": {1: "x"}})


def test_dumps_refuses_unsupported_types_with_json_error_not_type_error() -> None:
    with pytest.raises(JSONError, match="bytes") as caught:
        dumps({"data": [b"raw"]})
    assert caught.value.path == "data[0]"


def test_dumps_encodes_integers_beyond_64_bits_exactly() -> None:
    assert dumps({"n": 2**70}) == b'{"n":1180591620717411303424}'


def test_dumps_handles_nesting_deeper_than_orjson_allows() -> None:
    deep: object = "x"
    for _ in range(300):
        deep = [deep]
    assert dumps(deep) == b"[" * 300 + b'"x"' + b"]" * 300


def test_json_error_is_a_value_error() -> None:
    assert issubclass(JSONError, ValueError)


# --- loads -----------------------------------------------------------------------------


def test_loads_decodes_bytes_and_str() -> None:
    assert loads(b'{"a":[1,2.5,"x"]}') == {"a": [1, 2.5, "x"]}
    assert loads('{"a":null}') == {"a": None}


def test_loads_repairs_lone_surrogate_escapes_as_js_clients_send_them() -> None:
    assert loads(b'{"t":"a\\ud800b","\\udc00":1}') == {"t": "a\ufffdb", "\ufffd": 1}


def test_loads_keeps_escaped_surrogate_pairs() -> None:
    assert loads(b'"\\ud83d\\ude00 \\ud83d"') == "😀 \ufffd"


def test_loads_repairs_raw_surrogates_in_a_str_document() -> None:
    assert loads('["\ud800"]') == ["\ufffd"]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\xff\xfe", "invalid UTF-8 at byte 0"),
        (b'"\\ud800\xff"', "invalid UTF-8"),
        (b"[1,", "invalid JSON"),
        (b"NaN", "invalid JSON"),
        (b'["\\ud800", NaN]', "NaN is not valid JSON"),
        (b'["\\ud800", 1e999]', "out of range"),
        (b"1e999", "invalid JSON"),
        (b"", "invalid JSON"),
        (b"[" * 100_000, "nested deeper than 128 levels"),  # past the limit before its end
        (b'["\\ud800",' + b"[" * 5000 + b"]" * 5001, "nested deeper than 128 levels"),
    ],
)
def test_loads_raises_json_error_for_bad_documents(data: bytes, reason: str) -> None:
    with pytest.raises(JSONError, match=reason):
        loads(data)


def test_loads_refuses_non_text_input_with_json_error() -> None:
    with pytest.raises(JSONError, match="int"):
        loads(3)  # type: ignore[arg-type]


# --- properties ------------------------------------------------------------------------


@given(hostile_json())
def test_dumps_never_raises_on_text_and_emits_valid_utf8(value: object) -> None:
    encoded = dumps(value)
    decoded = json.loads(encoded.decode("utf-8"))  # strict UTF-8, like the SDKs
    assert decoded == _reference_scrub(value)


@given(hostile_json())
def test_loads_of_dumps_is_the_scrubbed_value(value: object) -> None:
    assert loads(dumps(value)) == _reference_scrub(value)


@given(hostile_text())
def test_dumps_changes_nothing_but_lone_surrogates(text: str) -> None:
    decoded = orjson.loads(dumps(text))
    assert decoded == scrub(text)
    assert len(decoded) <= len(text)
    assert not any(0xD800 <= ord(char) <= 0xDFFF for char in decoded)


def _paired_or_replaced(text: str) -> str:
    """Code-point walk: a high surrogate followed by a low one is a pair; others -> U+FFFD."""
    out, index = [], 0
    while index < len(text):
        code = ord(text[index])
        following = ord(text[index + 1]) if index + 1 < len(text) else 0
        if 0xD800 <= code <= 0xDBFF and 0xDC00 <= following <= 0xDFFF:
            out.append(chr(0x10000 + ((code - 0xD800) << 10) + (following - 0xDC00)))
            index += 2
            continue
        out.append("\ufffd" if 0xD800 <= code <= 0xDFFF else text[index])
        index += 1
    return "".join(out)


@given(st.lists(st.one_of(lone_surrogates(), split_surrogate_pairs(), astral_chars())).map("".join))
def test_scrub_joins_pairs_and_replaces_only_lone_surrogates(text: str) -> None:
    assert scrub(text) == _paired_or_replaced(text)


@given(surrogate_escape_json())
def test_loads_accepts_js_style_escapes_and_repairs_them(data: bytes) -> None:
    assert loads(data) == _reference_scrub(json.loads(data))


@given(st.binary(max_size=64) | st.text(max_size=64).map(str.encode))
def test_loads_raises_only_json_error_on_arbitrary_bytes(data: bytes) -> None:
    with contextlib.suppress(JSONError):
        loads(data)


@given(st.text(alphabet='[]{}",:0123456789.eE+-tfnul \\ud8', max_size=40))
def test_loads_raises_only_json_error_on_json_like_text(text: str) -> None:
    with contextlib.suppress(JSONError):
        loads(text.encode())


def _holds_non_finite(value: object) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_holds_non_finite(item) for item in value.values())
    if isinstance(value, list):
        return any(_holds_non_finite(item) for item in value)
    return False


_values_with_floats = json_values(
    scalars=st.one_of(st.none(), st.floats(), st.sampled_from(["null", ":null", "[null", "a"])),
    keys=st.sampled_from(["null", "k", ""]),
)


@given(_values_with_floats, st.booleans())
def test_dumps_refuses_exactly_the_values_holding_nan_or_infinity(
    value: object, indent: bool
) -> None:
    if _holds_non_finite(value):
        with pytest.raises(JSONError, match="NaN and Infinity"):
            dumps(value, indent=indent)
    else:
        assert json.loads(dumps(value, indent=indent)) == value


# --- dumps_decoded: the translators' encoder ---------------------------------------------

_NON_FINITE_DOCUMENTS = [
    b"NaN",
    b"[Infinity]",
    b'{"a": -Infinity}',
    b"1e999",
    b"[-1e999]",
    b"1" + b"0" * 400,
    b"-1" + b"0" * 400 + b".5",
    # with a lone surrogate escape, so that `loads` takes its stdlib fallback
    b'["\\ud800", NaN]',
    b'["\\ud800", 1e999]',
    b'["\\ud800", Infinity]',
]


@pytest.mark.parametrize("document", _NON_FINITE_DOCUMENTS)
def test_decoded_json_never_holds_nan_or_infinity(document: bytes) -> None:
    """The premise of dumps_decoded: no decoder we use yields a non-finite float."""
    with pytest.raises(JSONError):
        loads(document)
    if b"\\ud800" not in document:
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(document)


def test_integers_beyond_64_bits_decode_as_the_nearest_finite_float() -> None:
    for number in (2**64, -(2**63) - 1, 10**300):
        assert loads(str(number).encode()) == float(number)
        assert math.isfinite(orjson.loads(str(number).encode()))


def test_dumps_decoded_repairs_lone_surrogates_like_dumps() -> None:
    value = {"a\ud800": ["\udfff", "ok"]}
    assert dumps_decoded(value) == dumps(value) == '{"a\ufffd":["\ufffd","ok"]}'.encode()


@given(hostile_json())
def test_dumps_decoded_equals_dumps_on_any_decoded_value(value: object) -> None:
    decoded = loads(json.dumps(value))  # ASCII escapes: lone surrogates arrive as escapes
    assert dumps_decoded(decoded) == dumps(decoded)

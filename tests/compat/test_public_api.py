"""compat's front door: the public names are exactly the documented ones.

The set below is the documentation of record for `compat.__all__`: docs/design.md#front-doors
(to_gemini_request, to_anthropic_message, StreamTranslator, clean_schema, dumps and the OpenAI
counterparts) plus what `compat/__init__.py` documents. Adding, removing or renaming a public
name means changing this test, on purpose.
"""

from __future__ import annotations

import compat

FRONT_DOOR = {
    # requests
    "to_gemini_request",
    "openai_to_gemini_request",
    "ConversionOptions",
    "RequestError",
    "dropped_fields",
    # responses (non-stream)
    "to_anthropic_message",
    "to_openai_completion",
    # streams
    "StreamTranslator",
    "OpenAIStreamTranslator",
    "encode_sse_event",
    "PING_EVENT",
    # upstream errors
    "parse_google_error",
    "GoogleError",
    "anthropic_error_for",
    "openai_error_for",
    "anthropic_error_event",  # the stream's `error` event for an upstream error
    # client errors: compat maps them into each envelope, the proxy renders
    "error_body",
    "turn_failure",  # a reply whose turn failed (MALFORMED_FUNCTION_CALL): an error, not text
    # schemas and JSON
    "clean_schema",
    "dumps",
    "loads",
    "JSONError",
}


def test_the_public_names_are_exactly_the_documented_front_door() -> None:
    assert set(compat.__all__) == FRONT_DOOR
    assert len(compat.__all__) == len(FRONT_DOOR), "a name is listed twice in compat.__all__"


def test_every_public_name_is_importable_from_compat_itself() -> None:
    assert [name for name in FRONT_DOOR if not hasattr(compat, name)] == []


def test_every_public_name_is_documented_in_the_package_docstring() -> None:
    assert compat.__doc__ is not None
    assert [name for name in FRONT_DOOR if name not in compat.__doc__] == []


def test_nothing_else_public_is_bound_on_the_package() -> None:
    """Private modules live in `_`-prefixed subpackages; only the front door has public names."""
    public = {name for name in vars(compat) if not name.startswith("_")}
    assert public == FRONT_DOOR

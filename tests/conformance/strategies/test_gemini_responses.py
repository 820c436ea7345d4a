"""conformance.strategies.gemini_responses: the building blocks draw what Google sends.

The vocabularies cover every value google-genai knows (so a property can reach each one) plus
one Google may add; the stream bodies carry exactly their logical chunks; splits lose nothing.
"""

from __future__ import annotations

import json
import re
from typing import Any

from google.genai import types
from hypothesis import given
from hypothesis import strategies as st

from conformance.strategies.gemini_responses import (
    BLOCK_REASONS,
    FINISH_REASONS,
    GeminiStream,
    byte_splits,
    complete_streams,
    gemini_streams,
    merged_response,
)


def test_finish_reasons_are_every_one_google_genai_knows_and_one_it_does_not() -> None:
    known = {reason.value for reason in types.FinishReason}
    assert known <= set(FINISH_REASONS)
    assert len(set(FINISH_REASONS) - known) == 1
    assert len(FINISH_REASONS) == len(set(FINISH_REASONS))


def test_block_reasons_are_every_one_google_genai_knows_and_one_it_does_not() -> None:
    known = {reason.value for reason in types.BlockedReason}
    assert known <= set(BLOCK_REASONS)
    assert len(set(BLOCK_REASONS) - known) == 1


def wire_chunks(stream: GeminiStream) -> list[Any]:
    """The body read back with the standard library, Code Assist envelopes removed."""
    if stream.framing == "array":
        items = json.loads(stream.body)
    else:
        events = re.split(re.escape(stream.framing.encode() * 2), stream.body)
        items = [json.loads(event.removeprefix(b"data: ")) for event in events if event]
    return [item["response"] if "traceId" in item else item for item in items]


@given(gemini_streams())
def test_a_stream_body_carries_exactly_its_chunks(stream: GeminiStream) -> None:
    assert wire_chunks(stream) == json.loads(json.dumps(stream.chunks))


@given(gemini_streams(), st.data())
def test_byte_splits_lose_and_reorder_nothing(stream: GeminiStream, data: st.DataObject) -> None:
    pieces = data.draw(byte_splits(stream.body))
    assert b"".join(pieces) == stream.body
    assert 1 <= len(pieces) <= 12


@given(complete_streams())
def test_the_merged_response_has_the_streams_finish_and_its_last_usage(
    chunks: list[dict[str, Any]],
) -> None:
    merged = merged_response(chunks)
    usages = [chunk["usageMetadata"] for chunk in chunks if "usageMetadata" in chunk]
    assert merged.get("usageMetadata") == (usages[-1] if usages else None)
    if "promptFeedback" in chunks[0]:
        assert merged == chunks[0]
    else:
        assert merged["candidates"][0]["finishReason"] in FINISH_REASONS

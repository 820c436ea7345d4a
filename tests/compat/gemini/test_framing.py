"""compat._gemini.framing.GeminiChunkDecoder: upstream stream bytes → GenerateContentResponse."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from compat._gemini.framing import MALFORMED_CHUNK, GeminiChunkDecoder

CHUNK_1 = {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hé"}]}}]}
CHUNK_2 = {
    "candidates": [{"content": {"parts": [{"text": "llo 😀"}]}, "finishReason": "STOP"}],
    "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2},
}


def sse(*chunks: object, newline: str = "\r\n") -> bytes:
    return b"".join(
        b"data: " + json.dumps(c, ensure_ascii=False).encode() + (newline * 2).encode()
        for c in chunks
    )


def decode_all(*pieces: bytes) -> list[dict[str, Any]]:
    decoder = GeminiChunkDecoder()
    out: list[dict[str, Any]] = []
    for piece in pieces:
        out += decoder.feed(piece)
    return out + decoder.close()


def byte_by_byte(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def test_sse_with_crlf_framing_yields_each_chunk() -> None:
    assert decode_all(sse(CHUNK_1, CHUNK_2)) == [CHUNK_1, CHUNK_2]


def test_sse_with_lf_and_cr_framing_yields_each_chunk() -> None:
    assert decode_all(sse(CHUNK_1, CHUNK_2, newline="\n")) == [CHUNK_1, CHUNK_2]
    assert decode_all(sse(CHUNK_1, CHUNK_2, newline="\r")) == [CHUNK_1, CHUNK_2]


def test_a_split_inside_crlf_or_a_utf8_character_changes_nothing() -> None:
    for newline in ("\r\n", "\n", "\r"):
        data = sse(CHUNK_1, CHUNK_2, newline=newline)
        assert decode_all(*byte_by_byte(data)) == [CHUNK_1, CHUNK_2]


def test_a_chunk_is_returned_by_the_feed_that_completes_it() -> None:
    decoder = GeminiChunkDecoder()
    data = sse(CHUNK_1)
    assert decoder.feed(data[:-2]) == []
    assert decoder.feed(data[-2:]) == [CHUNK_1]


def test_data_lines_of_one_event_are_joined_with_newline() -> None:
    data = b'data: {"candidates":\ndata: []}\n\n'
    assert decode_all(data) == [{"candidates": []}]


def test_other_fields_comments_and_done_are_ignored() -> None:
    data = b": keepalive\nevent: chunk\nid: 7\nretry: 10\ndata: {}\n\ndata: [DONE]\n\n"
    assert decode_all(data) == [{}]


def test_code_assist_envelope_is_unwrapped_per_chunk() -> None:
    wrapped = {"response": CHUNK_1, "traceId": "abc"}
    assert decode_all(sse(wrapped, CHUNK_2)) == [CHUNK_1, CHUNK_2]


def test_code_assist_envelope_without_response_means_no_candidates() -> None:
    assert decode_all(sse({"traceId": "abc", "response": None})) == [{}]


def test_json_array_framing_is_supported() -> None:
    body = b"[" + json.dumps(CHUNK_1).encode() + b",\r\n" + json.dumps(CHUNK_2).encode() + b"]"
    assert decode_all(body) == [CHUNK_1, CHUNK_2]
    assert decode_all(*byte_by_byte(body)) == [CHUNK_1, CHUNK_2]


def test_json_scanner_is_not_fooled_by_brackets_and_escapes_inside_strings() -> None:
    tricky = {"candidates": [{"content": {"parts": [{"text": 'a}]"\\{[\\"'}]}}]}
    body = json.dumps([tricky, tricky]).encode()
    assert decode_all(*byte_by_byte(body)) == [tricky, tricky]


def test_error_objects_pass_through_in_every_framing() -> None:
    error = {"error": {"code": 429, "message": "slow down", "status": "RESOURCE_EXHAUSTED"}}
    assert decode_all(sse(CHUNK_1, error)) == [CHUNK_1, error]
    assert decode_all(json.dumps([error]).encode()) == [error]
    assert decode_all(json.dumps(error, indent=2).encode()) == [error]


def test_a_json_error_body_after_sse_events_is_decoded() -> None:
    error = {"error": {"code": 503, "message": "unavailable"}}
    body = sse(CHUNK_1) + json.dumps([error], indent=2).encode()
    assert decode_all(body) == [CHUNK_1, error]


def test_a_malformed_sse_chunk_is_reported_not_skipped() -> None:
    out = decode_all(b"data: {not json\n\n" + sse(CHUNK_1))
    assert out[0]["error"]["status"] == MALFORMED_CHUNK
    assert "not json" in out[0]["error"]["message"]
    assert out[1:] == [CHUNK_1]


def test_a_non_object_chunk_is_reported() -> None:
    (out,) = decode_all(b"data: 42\n\n")
    assert out["error"]["status"] == MALFORMED_CHUNK


def test_a_non_json_body_is_reported_once() -> None:
    out = decode_all(b"[{}, oops]", b"more")
    assert out[0] == {}
    assert [o["error"]["status"] for o in out[1:]] == [MALFORMED_CHUNK]


def test_last_event_without_blank_line_is_still_decoded_at_close() -> None:
    assert decode_all(b'data: {"a": 1}') == [{"a": 1}]


def test_a_body_cut_inside_a_chunk_is_reported_at_close() -> None:
    (sse_out,) = decode_all(b'data: {"candidates": [')
    (json_out,) = decode_all(b'[{"candidates": [')
    assert sse_out["error"]["status"] == MALFORMED_CHUNK
    assert json_out["error"]["status"] == MALFORMED_CHUNK
    assert "ended" in json_out["error"]["message"]


def test_lone_surrogate_escapes_are_repaired_not_rejected() -> None:
    (out,) = decode_all(b'data: {"text": "a\\ud800b \\ud83d\\ude00"}\n\n')
    assert out == {"text": "a\ufffdb 😀"}


def test_leading_bom_and_blank_lines_are_skipped() -> None:
    assert decode_all(b"\xef\xbb", b"\xbf\r\n" + sse(CHUNK_1)) == [CHUNK_1]
    assert decode_all(b"\xef\xbb\xbf  \n[", b"{}]") == [{}]


def test_feed_after_close_is_ignored() -> None:
    decoder = GeminiChunkDecoder()
    decoder.close()
    assert decoder.feed(sse(CHUNK_1)) == []


def test_a_long_line_fed_in_small_pieces_is_scanned_once() -> None:
    # Linear-time guard expressed as a count, not a timing: the buffer never holds
    # consumed bytes, and the search offset moves forward with each feed.
    decoder = GeminiChunkDecoder()
    decoder.feed(b"data: ")
    for _ in range(1000):
        decoder.feed(b"x" * 10)
        assert decoder._scan_from == len(decoder._buffer)
    assert decoder.feed(b"\n\n")[0]["error"]["status"] == MALFORMED_CHUNK
    assert len(decoder._buffer) == 0


@given(
    chunks=st.lists(
        st.dictionaries(
            st.text(max_size=5), st.text(max_size=10) | st.integers(), max_size=3
        ).filter(lambda d: "error" not in d and "response" not in d),
        max_size=5,
    ),
    framing=st.sampled_from(["\r\n", "\n", "\r", "array"]),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=12),
)
def test_any_split_of_any_framing_decodes_the_same_chunks(
    chunks: list[dict[str, Any]], framing: str, cuts: list[int]
) -> None:
    if framing == "array":
        data = json.dumps(chunks, indent=1, ensure_ascii=False).encode()
    else:
        data = sse(*chunks, newline=framing)
    positions = sorted({c % (len(data) + 1) for c in cuts})
    pieces = [data[a:b] for a, b in zip([0, *positions], [*positions, len(data)], strict=True)]
    assert decode_all(*pieces) == [_as_decoded(chunk) for chunk in chunks]


def _as_decoded(chunk: dict[str, Any]) -> dict[str, Any]:
    """Integers beyond 64 bits decode as the nearest double (see compat._json.loads)."""
    return {
        key: float(value) if isinstance(value, int) and not -(2**63) <= value < 2**64 else value
        for key, value in chunk.items()
    }

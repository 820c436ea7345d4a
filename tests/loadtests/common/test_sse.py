"""SSEDecoder: events survive any split and any line end, as the Anthropic SDK's decoder reads them."""

from __future__ import annotations

from anthropic._streaming import SSEDecoder as SDKDecoder
from hypothesis import given
from hypothesis import strategies as st

from conformance.strategies.gemini_responses import byte_splits
from loadtests._common import SSEDecoder, SSEEvent

_LINE_ENDS = st.sampled_from(["\n", "\r\n", "\r"])
_FIELD_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"], exclude_characters="\r\n"),
    max_size=12,
)


@st.composite
def event_streams(draw: st.DrawFn, *, fields: bool = True) -> tuple[bytes, list[SSEEvent]]:
    """SSE bytes with comments, multi-line data, blank runs (and `id` / `retry` fields with
    `fields`); the events a conforming decoder dispatches."""
    end = draw(_LINE_ENDS)
    body, events = "", []
    for _ in range(draw(st.integers(0, 6))):
        name = draw(st.none() | st.from_regex(r"[a-z_]{1,12}", fullmatch=True))
        data = draw(st.lists(_FIELD_TEXT, min_size=1, max_size=3))
        ignored = [": comment", "id: 7", "retry: 100"] if fields else [": comment"]
        lines = draw(st.permutations(ignored))[: draw(st.integers(0, len(ignored)))]
        if name is not None:
            lines.append(f"event: {name}")
        lines += [f"data: {item}" for item in data]
        body += "".join(line + end for line in lines) + end * draw(st.integers(1, 3))
        events.append(SSEEvent(name or "message", "\n".join(data).encode()))
    return body.encode(), events


def _decode(pieces: list[bytes]) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events = [event for piece in pieces for event in decoder.feed(piece)]
    return events + decoder.close()


@given(st.data(), event_streams())
def test_events_are_the_same_for_any_split(
    data: st.DataObject, stream: tuple[bytes, list[SSEEvent]]
) -> None:
    body, expected = stream
    pieces = data.draw(byte_splits(body))
    assert _decode(pieces) == expected


@given(event_streams(fields=False))
def test_the_events_match_the_anthropic_sdk_decoder(stream: tuple[bytes, list[SSEEvent]]) -> None:
    """A differential test (the SDK also dispatches a data-less event after an `id` line, a
    departure from the WHATWG rules, so those fields are left out here)."""
    body, _ = stream
    sdk = [
        SSEEvent(e.event or "message", e.data.encode())
        for e in SDKDecoder().iter_bytes(iter([body]))
    ]
    assert _decode([body]) == sdk


def test_a_crlf_split_between_reads_is_one_line_end() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"event: a\r\ndata: 1\r\n\r") == []
    assert decoder.feed(b"\n") == [SSEEvent("a", b"1")]
    assert decoder.feed(b"data: 2\r\n\r\n") == [SSEEvent("message", b"2")]


def test_a_final_cr_ends_its_line_when_the_body_ends() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\r\r") == []  # the last CR may be half of a CRLF
    assert decoder.close() == [SSEEvent("message", b"x")]


def test_an_event_cut_by_the_end_of_the_body_is_discarded() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: whole\n\nevent: cut\ndata: half") == [SSEEvent("message", b"whole")]
    assert decoder.close() == []


def test_a_leading_bom_is_ignored_even_split() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"\xef\xbb") == []
    assert decoder.feed(b"\xbfdata: 1\n\n") == [SSEEvent("message", b"1")]


def test_an_event_without_data_is_not_dispatched_and_its_name_does_not_leak() -> None:
    assert _decode([b"event: lonely\n\ndata: 1\n\n"]) == [SSEEvent("message", b"1")]


def test_a_field_without_a_colon_and_a_value_without_a_space() -> None:
    assert _decode([b"data\ndata:x\n\n"]) == [SSEEvent("message", b"\nx")]


def test_a_long_line_fed_byte_by_byte_is_searched_once() -> None:
    decoder = SSEDecoder()
    body = b"data: " + b"a" * 20_000 + b"\n\n"
    events = [event for i in range(len(body)) for event in decoder.feed(body[i : i + 1])]
    assert events == [SSEEvent("message", b"a" * 20_000)]

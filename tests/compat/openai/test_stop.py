"""Specification of client-side stop sequences (compat._openai.stop.StopMatcher)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from compat._openai.stop import StopMatcher

pieces_of_text = st.lists(st.text(alphabet="abcE\U0001f600", max_size=6), max_size=6)
stop_lists = st.lists(st.text(alphabet="abcE\U0001f600", max_size=3), max_size=4)


def cut_at_first_stop(text: str, stop: list[str]) -> tuple[str, bool]:
    """The reference: text up to the earliest occurrence of any non-empty stop sequence."""
    hits = [text.find(sequence) for sequence in stop if sequence and sequence in text]
    return (text[: min(hits)], True) if hits else (text, False)


@given(pieces_of_text, stop_lists)
def test_fed_pieces_come_out_cut_at_the_first_stop_sequence_however_they_are_split(
    pieces: list[str], stop: list[str]
) -> None:
    matcher = StopMatcher(stop)
    emitted = "".join(matcher.feed(piece) for piece in pieces)
    if not matcher.matched:
        emitted += matcher.flush()
    assert (emitted, matcher.matched) == cut_at_first_stop("".join(pieces), stop)


@given(pieces_of_text, stop_lists)
def test_held_back_text_is_always_a_proper_prefix_of_a_stop_sequence(
    pieces: list[str], stop: list[str]
) -> None:
    matcher = StopMatcher(stop)
    for piece in pieces:
        matcher.feed(piece)
        held = matcher.flush()
        assert held == "" or any(s.startswith(held) and s != held for s in stop)
        matcher.feed(held)  # give it back: flush must not lose text


def test_without_stop_sequences_text_passes_straight_through() -> None:
    matcher = StopMatcher(["", ""])
    assert matcher.feed("abc") == "abc" and matcher.flush() == ""


def test_nothing_is_emitted_after_a_match() -> None:
    matcher = StopMatcher(["b"])
    assert matcher.feed("abc") == "a"
    assert matcher.feed("more") == "" and matcher.flush() == ""

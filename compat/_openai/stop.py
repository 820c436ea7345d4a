"""Client-side enforcement of OpenAI `stop` sequences on streamed text.

Operations: `StopMatcher(stop)`, `.feed(text) -> str` (the text that is safe to emit now),
`.flush() -> str` (the text held back), `.matched`.

Why: OpenAI promises "the returned text will not contain the stop sequence". Gemini
normally stops before a requested sequence and leaves it out, so this is a safety net for
the cases where the sequence still shows up in the text. Plan: text is emitted at once
except the longest tail that could still be the start of a stop sequence; that tail waits
for the next text (or `flush`). Held text is at most the longest stop sequence minus one
character, so each `feed` costs O(len(text) + longest sequence).
"""

from __future__ import annotations

from collections.abc import Sequence


class StopMatcher:
    """Cuts text at the first occurrence of any stop sequence, across feed boundaries."""

    __slots__ = ("_held", "_stops", "matched")

    def __init__(self, stop: Sequence[str]) -> None:
        self._stops = tuple(sequence for sequence in stop if sequence)
        self._held = ""
        self.matched = False

    def feed(self, text: str) -> str:
        """The part of `held + text` that can be emitted; after a match, nothing more."""
        if self.matched:
            return ""
        if not self._stops:
            return text
        buffer = self._held + text
        cut = min((at for at in map(buffer.find, self._stops) if at >= 0), default=-1)
        if cut >= 0:
            self.matched = True
            self._held = ""
            return buffer[:cut]
        keep = self._open_tail_length(buffer)
        self._held = buffer[len(buffer) - keep :]
        return buffer[: len(buffer) - keep]

    def flush(self) -> str:
        """The held-back tail, which no further text can turn into a stop sequence now."""
        held, self._held = self._held, ""
        return held

    def _open_tail_length(self, buffer: str) -> int:
        longest = min(len(buffer), max(len(sequence) for sequence in self._stops) - 1)
        for length in range(longest, 0, -1):
            tail = buffer[-length:]
            if any(sequence.startswith(tail) for sequence in self._stops):
                return length
        return 0

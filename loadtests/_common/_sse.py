"""Server-sent events: bytes in, split anywhere, events out.

Operations
    decoder = SSEDecoder()
    decoder.feed(data) -> list[SSEEvent]    bytes as they arrive, cut at any offset
    decoder.close() -> list[SSEEvent]       the body ended (a trailing lone CR ends its line)
    SSEEvent(name, data)                    `event:` (default "message") and the `data:` lines
                                            joined with "\\n", as bytes

Goals
    The WHATWG event-stream rules a measuring client needs: CRLF, LF or CR line ends (a CR
    at the end of a read may be half of a CRLF, so it waits for the next byte), a BOM at the
    start ignored, comments (`:`) and `id` / `retry` fields ignored, an event dispatched at a
    blank line only when it has data, and an event not ended by a blank line when the body ends
    is discarded (the spec's rule: a cut stream never yields a half event). Linear for any
    split: bytes already searched for a line end are never searched again (h11's receive
    buffer discipline). No I/O, no clock, no asyncio: the caller stamps the time of each read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["SSEDecoder", "SSEEvent"]

_LINE_END = re.compile(rb"\r\n|\r|\n")
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched event: its type and its data (the `data:` lines joined with LF)."""

    name: str
    data: bytes


class SSEDecoder:
    """An incremental event-stream decoder (one per response)."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._searched = 0  # bytes of the buffer known to hold no line end
        self._started = False
        self._name = ""
        self._data: list[bytes] = []

    def feed(self, data: bytes) -> list[SSEEvent]:
        """The events completed by `data`."""
        self._buffer += data
        if not self._started:
            if len(self._buffer) < len(_BOM) and _BOM.startswith(bytes(self._buffer)):
                return []
            self._started = True
            if self._buffer.startswith(_BOM):
                del self._buffer[: len(_BOM)]
        return self._lines(final=False)

    def close(self) -> list[SSEEvent]:
        """The events the end of the body completes (a line ended by a final CR)."""
        events = self._lines(final=True)
        self._buffer.clear()
        self._name, self._data = "", []
        return events

    def _lines(self, *, final: bool) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        buffer = self._buffer
        start = 0
        search = self._searched
        while True:
            match = _LINE_END.search(buffer, search)
            if match is None:
                search = len(buffer)
                break
            if match.end() == len(buffer) and buffer[-1] == 0x0D and not final:
                search = match.start()  # may be the first half of a CRLF
                break
            self._line(bytes(buffer[start : match.start()]), events)
            start = search = match.end()
        del buffer[:start]
        self._searched = search - start
        return events

    def _line(self, line: bytes, events: list[SSEEvent]) -> None:
        if not line:
            if self._data:
                events.append(SSEEvent(self._name or "message", b"\n".join(self._data)))
            self._name, self._data = "", []
            return
        if line[0] == 0x3A:  # ":" a comment
            return
        field, colon, value = line.partition(b":")
        if colon and value[:1] == b" ":
            value = value[1:]
        if field == b"data":
            self._data.append(value)
        elif field == b"event":
            self._name = value.decode("utf-8", "replace")

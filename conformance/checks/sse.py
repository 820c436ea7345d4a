"""Server-sent events read leniently, the way the HTML living standard's parser does, so a report
can show what a stream carried even when it breaks the rules (the strict framing rules are the
stream checkers'; anthropic_stream.parse_frames for Anthropic).

    parse_sse(body: bytes) -> [SSEEvent]   every dispatched event, in order
    SSEEvent.json() -> object | None       its data as JSON, None when it is not JSON

Lines end at CR LF, LF or CR; `:` lines are comments; `data` lines join with LF; an event is
dispatched at a blank line (a last event without one is dropped, as browsers and the SDKs do).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_LINE_END = re.compile(r"\r\n|\n|\r")


@dataclass(frozen=True)
class SSEEvent:
    """One dispatched event: its `event:` name (None when absent) and its joined data."""

    event: str | None
    data: str

    def json(self) -> Any:
        try:
            return json.loads(self.data)
        except ValueError:
            return None


def parse_sse(body: bytes) -> list[SSEEvent]:
    """The events of an SSE body (invalid UTF-8 replaced, so it never raises)."""
    events: list[SSEEvent] = []
    name: str | None = None
    data: list[str] = []
    for line in _LINE_END.split(body.decode("utf-8", "replace")):
        if not line:
            if data:
                events.append(SSEEvent(name, "\n".join(data)))
            name, data = None, []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
    return events

"""What one upstream call asks for: `UpstreamCall`, made by the edge, carried by every attempt;
and what it did: its `UpstreamTrace`, filled in by the attempt loop, read by the access log."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from server.flags import Flags


@dataclass(slots=True)
class UpstreamTrace:
    """What a call has done so far: the credential of its latest attempt (its id), how many
    attempts it made, and the tokens the upstream counted for a served non-stream reply."""

    credential: str = "-"
    attempts: int = 0
    input_tokens: int | None = None
    output_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class UpstreamCall:
    """What to ask upstream. `request` is a Gemini request (`compat.to_gemini_request`);
    `started_at` is the monotonic time the client request arrived (the retry deadline);
    `request_id` the client request's (its log lines carry it)."""

    model: str
    method: str  # generateContent | streamGenerateContent | countTokens
    request: dict[str, Any]
    flags: Flags
    started_at: float
    request_id: str = ""
    trace: UpstreamTrace = field(default_factory=UpstreamTrace)

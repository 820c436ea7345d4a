"""What one upstream call asks for: `UpstreamCall`, made by the edge, carried by every attempt."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.flags import Flags


@dataclass(frozen=True, slots=True)
class UpstreamCall:
    """What to ask upstream. `request` is a Gemini request (`compat.to_gemini_request`);
    `started_at` is the monotonic time the client request arrived (the retry deadline)."""

    model: str
    method: str  # generateContent | streamGenerateContent | countTokens
    request: dict[str, Any]
    flags: Flags
    started_at: float

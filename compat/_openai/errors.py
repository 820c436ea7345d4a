"""OpenAI error envelope for a request the gateway refuses itself.

Operation: `openai_error_body(error: RequestError) -> dict`, the body
`{"error": {"message", "type": "invalid_request_error", "param", "code": null}}` to send with
HTTP 400 (docs/reference/openai.md#errors). Upstream (Google) errors are mapped by
`compat._gemini.errors.openai_error_for`.
"""

from __future__ import annotations

from typing import Any

from compat._envelopes import openai_error_body as envelope
from compat._errors import RequestError


def openai_error_body(error: RequestError) -> dict[str, Any]:
    """The OpenAI 400 body for a `RequestError`; `param` is the offending path, if any."""
    return envelope(str(error), "invalid_request_error", param=error.path or None)

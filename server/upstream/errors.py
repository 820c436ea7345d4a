"""The root of the upstream package's errors: `UpstreamError`."""

from __future__ import annotations

from server.errors import ServerError


class UpstreamError(ServerError):
    """Upstream did not give what was asked: an attempt failed (AttemptFailed) or a stream
    broke after it began (UpstreamBroken)."""

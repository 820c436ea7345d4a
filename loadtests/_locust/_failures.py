"""Typed failures: why a request got no complete reply, as the exception Locust counts.

Operations
    failure_for(error, status) -> Failure      the exception for a measured error
                                               (loadtests._common.ErrorInfo) and the HTTP status
    Failure                                    the root; `.kind` and `.type` as the result file
                                               names them
    RateLimited, Overloaded, UpstreamError, RequestRefused, ProtocolViolation, TimedOut,
    ConnectionFailed                           one class per cause

Goals
    Locust groups its failures table by the exception's repr, so the class says the cause
    (`RateLimited`, `Overloaded`, ...) and the text says the error type and where it came
    from (`'rate_limit_error (HTTP 429)'`, `'overloaded_error (error event mid-stream)'`,
    `'grammar: truncated'`). The text holds nothing that varies per request (messages carry
    request ids): one row per cause, however long the run; the message goes to the result
    file's sample instead.

Plan
    The error type decides first (the envelope's `rate_limit_error`, `overloaded_error`; an
    OpenAI `server_error` is told apart by its status), then the status (429 rate limited; 503
    and 529 overloaded; other 5xx upstream errors; 4xx refused). Grammar and protocol errors
    are protocol violations: the proxy broke the wire contract, whatever the upstream did.
"""

from __future__ import annotations

from loadtests._common import ErrorInfo

__all__ = [
    "ConnectionFailed",
    "Failure",
    "Overloaded",
    "ProtocolViolation",
    "RateLimited",
    "RequestRefused",
    "TimedOut",
    "UpstreamError",
    "failure_for",
]

_OVERLOADED_STATUSES = frozenset({503, 529})


class Failure(Exception):
    """A request without a complete reply; the text is stable per cause."""

    def __init__(self, kind: str, type_: str, where: str) -> None:
        super().__init__(f"{type_} ({where})" if where else type_)
        self.kind = kind
        self.type = type_


class RateLimited(Failure):
    """A 429 or a rate_limit_error event: the proxy (or its upstream) refused for rate."""


class Overloaded(Failure):
    """overloaded_error, 503 or 529: no capacity upstream."""


class UpstreamError(Failure):
    """api_error and other server errors (5xx), before or during the stream."""


class RequestRefused(Failure):
    """A 4xx other than 429: a wrong key, a bad request, an unknown model."""


class ProtocolViolation(Failure):
    """A reply that breaks the protocol: the event grammar, bad JSON, the wrong content type."""


class TimedOut(Failure):
    """No byte within the timeout."""


class ConnectionFailed(Failure):
    """No connection, or it was reset."""


def failure_for(error: ErrorInfo, status: int | None) -> Failure:
    """The typed failure of a measured error."""
    kind, type_ = error.kind, error.type
    if kind == "timeout":
        return TimedOut(kind, type_, "")
    if kind == "connect":
        return ConnectionFailed(kind, type_, "")
    if kind in ("grammar", "protocol"):
        return ProtocolViolation(kind, f"{kind}: {type_}", "")
    where = "error event mid-stream" if kind == "stream" else f"HTTP {status}"
    cause = _cause(type_, status if kind == "http" else None)
    return cause(kind, type_, where)


def _cause(type_: str, status: int | None) -> type[Failure]:
    if "rate_limit" in type_ or status == 429:
        return RateLimited
    if "overloaded" in type_ or status in _OVERLOADED_STATUSES:
        return Overloaded
    if status is not None and 400 <= status < 500:
        return RequestRefused
    return UpstreamError

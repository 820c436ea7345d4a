"""Upstream (Gemini API, Code Assist) errors: parse them, classify them, answer the client.

Operations
    parse_google_error(status, body) -> GoogleError     any body: google.rpc JSON, array, text
    GoogleError.is_capacity / .is_rate_limit / .is_terminal_quota / .retryable / .retry_after
    GoogleError.refused_credential / .is_bare_denial      the gateway's credential refused
    GoogleError.is_failed_turn                           the model's turn failed (a reply, not
                                                         an HTTP error: not worth a retry here)
    anthropic_error_for(error) -> (http_status, body)   Anthropic error envelope
                                                        (docs/reference/anthropic.md#errors)
    openai_error_for(error) -> (http_status, body)      OpenAI error envelope
                                                        (docs/reference/openai.md#errors)
    anthropic_error_body(type, message) -> dict          (compat._envelopes, re-exported)
    anthropic_error_event(error) -> dict                the stream `error` event (docs/mapping.md)

Goals
    Never fail on a body: a non-JSON page, a one-element array (gaxios), stray doubled commas
    (SSE-corrupted JSON, as gemini-cli repairs) all give a GoogleError with a useful message.
    Extract what a retry policy needs: RetryInfo delay (proto Duration `"26s"`, `"0.539s"`) or
    `Please retry in 38.8s` in the message; ErrorInfo reason/domain; QuotaFailure quotaId.

Plan
    Parse once into a frozen dataclass; the classification is properties over its fields (rules from
    gemini-cli's googleQuotaErrors.ts, docs/reference/code-assist.md#errors). Client-facing mappings
    are small decision functions.

Choice: an upstream 401/403, and a 400 whose reason names the key (`API_KEY_INVALID`), mean
Google refused the *gateway's* credential (the client's own key was already accepted by the
proxy), so they become 502 `api_error` rather than a 401/403 that would make a client such as
Claude Code ask its user to log in again, or a 400 that would blame the client's request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from compat._envelopes import anthropic_error_body, openai_error_body
from compat._json import JSONError, loads, scrub

__all__ = [
    "FAILED_TURN",
    "GoogleError",
    "anthropic_error_body",
    "anthropic_error_event",
    "anthropic_error_for",
    "openai_error_for",
    "parse_google_error",
]

_CAPACITY_REASONS = frozenset({"MODEL_CAPACITY_EXHAUSTED", "MODEL_CAPACITY_EXCEEDED"})
_TERMINAL_QUOTA_REASONS = frozenset({"QUOTA_EXHAUSTED", "INSUFFICIENT_G1_CREDITS_BALANCE"})
_CAPACITY_MESSAGE = re.compile(r"no capacity available|capacity exceeded", re.IGNORECASE)
_ZERO_LIMIT = re.compile(r"limit:\s*0(?!\d|\.\d)")
_RETRY_IN = re.compile(r"Please retry in ([0-9]+(?:\.[0-9]+)?)(ms|s)\b")
_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)(ms|s)\s*$")
_DOUBLED_COMMA = re.compile(rb",\s*,")
_RETRYABLE_STATUSES = frozenset({408, 429, 499, 500, 502, 503, 504})
# google.rpc ErrorInfo reasons (AIP-193, domain googleapis.com) that refuse the credential itself,
# whatever the request: the cause each stands for.
_CREDENTIAL_REASONS = {
    "API_KEY_INVALID": "invalid",
    "API_KEY_EXPIRED": "expired",
    "CONSUMER_INVALID": "invalid",
    "CREDENTIALS_MISSING": "invalid",
    "ACCESS_TOKEN_TYPE_UNSUPPORTED": "invalid",
    "ACCESS_TOKEN_EXPIRED": "expired",
    "API_KEY_SERVICE_BLOCKED": "forbidden",
    "API_KEY_HTTP_REFERRER_BLOCKED": "forbidden",
    "API_KEY_IP_ADDRESS_BLOCKED": "forbidden",
    "API_KEY_ANDROID_APP_BLOCKED": "forbidden",
    "API_KEY_IOS_APP_BLOCKED": "forbidden",
    "ACCESS_TOKEN_SCOPE_INSUFFICIENT": "forbidden",
    "SERVICE_DISABLED": "forbidden",
    "CONSUMER_SUSPENDED": "forbidden",
    "BILLING_DISABLED": "forbidden",
    "USER_PROJECT_DENIED": "forbidden",
}
FAILED_TURN = "MALFORMED_FUNCTION_CALL"  # the finish reason of a turn that failed
_KEY_MESSAGE = re.compile(r"\bAPI key (not valid|expired)", re.IGNORECASE)
_MAX_MESSAGE_CHARS = 1000

_CANONICAL_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


@dataclass(frozen=True, slots=True)
class GoogleError:
    """One upstream error, with the fields a retry policy and a client answer need.

    http_status: the HTTP status (the body's `code` when the error came inside a 200 stream).
    status: the google.rpc status name (`RESOURCE_EXHAUSTED`), derived from the code if absent.
    reason / domain: from the first `google.rpc.ErrorInfo` detail.
    retry_delay: seconds, from `RetryInfo.retryDelay` or "Please retry in …" in the message.
    quota_id: `quotaId` of the first `google.rpc.QuotaFailure` violation.
    details: the raw `details` list.
    """

    http_status: int
    status: str
    message: str
    reason: str | None = None
    retry_delay: float | None = None
    quota_id: str | None = None
    domain: str | None = None
    details: list[Any] = field(default_factory=list)

    @property
    def is_capacity(self) -> bool:
        """The model has no capacity right now (not this caller's quota)."""
        if self.reason in _CAPACITY_REASONS:
            return True
        return self.reason is None and bool(_CAPACITY_MESSAGE.search(self.message))

    @property
    def is_terminal_quota(self) -> bool:
        """A quota that will not come back soon (daily, zero limit, exhausted credits)."""
        if self.reason in _TERMINAL_QUOTA_REASONS:
            return True
        if self.quota_id and ("PerDay" in self.quota_id or "Daily" in self.quota_id):
            return True
        return self.http_status in (429, 499, 503) and bool(_ZERO_LIMIT.search(self.message))

    @property
    def is_rate_limit(self) -> bool:
        """A 429 that is neither capacity nor a terminal quota: back off and retry."""
        return self.http_status == 429 and not self.is_capacity and not self.is_terminal_quota

    @property
    def refused_credential(self) -> str | None:
        """Why Google refused the credential itself, whatever the request: `invalid`, `expired`,
        `forbidden` (a known ErrorInfo reason, or an "API key not valid/expired" message), or
        `unauthenticated` (any 401); None when the error does not say so."""
        cause = _CREDENTIAL_REASONS.get(self.reason or "")
        if cause is not None:
            if cause == "invalid" and "expired" in self.message.lower():
                return "expired"
            return cause
        if self.http_status == 401:
            return "unauthenticated"
        match = _KEY_MESSAGE.search(self.message) if self.http_status == 400 else None
        if match is not None:
            return "expired" if match.group(1).lower() == "expired" else "invalid"
        return None

    @property
    def is_bare_denial(self) -> bool:
        """A 403 that names no reason: it may refuse the credential (a leaked key) or something
        the request named (a file the project cannot read); the error alone cannot tell."""
        return self.http_status == 403 and self.refused_credential is None and not self.reason

    @property
    def is_failed_turn(self) -> bool:
        """The upstream answered, but its turn failed (compat._gemini.response.turn_failure):
        the model's failure, not the service's. A client that wants another sample asks
        again; a gateway retrying it would multiply full generations with the client's."""
        return self.status == FAILED_TURN

    @property
    def retryable(self) -> bool:
        """Whether the same request may succeed if sent again later (or elsewhere)."""
        if self.is_terminal_quota:
            return False
        return self.is_capacity or self.http_status in _RETRYABLE_STATUSES

    @property
    def retry_after(self) -> int | None:
        """`retry_delay` rounded up to whole seconds, for a `retry-after` header."""
        if self.retry_delay is None:
            return None
        whole = int(self.retry_delay)
        return whole if whole == self.retry_delay else whole + 1


# -- parsing -------------------------------------------------------------------------------


def parse_google_error(status: int, body: bytes | bytearray | str) -> GoogleError:
    """Parse an upstream error body of any shape into a GoogleError; never raises."""
    error = _error_object(body)
    if error is None:
        text = bytes(body).decode("utf-8", "replace") if not isinstance(body, str) else scrub(body)
        return GoogleError(
            http_status=status if status >= 400 else 502,
            status=_CANONICAL_STATUS.get(status, "UNKNOWN"),
            message=_clip(text.strip()) or f"upstream answered HTTP {status}",
        )
    return error_from_object(error, status)


def error_from_object(error: Mapping[str, Any], status: int = 0) -> GoogleError:
    """A GoogleError from a decoded `error` object (the value of `{"error": {...}}`)."""
    code = error.get("code")
    http_status = status if status >= 400 else code if type(code) is int and code >= 400 else 502
    message = error.get("message")
    message = _clip(message) if isinstance(message, str) and message else ""
    details = error.get("details")
    details = details if isinstance(details, list) else []
    reason = domain = quota_id = None
    retry_delay: float | None = None
    for detail in details:
        if not isinstance(detail, Mapping):
            continue
        kind = str(detail.get("@type", ""))
        if kind.endswith("google.rpc.ErrorInfo") and reason is None:
            reason = _str_or_none(detail.get("reason"))
            domain = _str_or_none(detail.get("domain"))
        elif kind.endswith("google.rpc.RetryInfo") and retry_delay is None:
            retry_delay = _duration_seconds(detail.get("retryDelay"))
        elif kind.endswith("google.rpc.QuotaFailure") and quota_id is None:
            violations = detail.get("violations")
            if isinstance(violations, list) and violations and isinstance(violations[0], Mapping):
                quota_id = _str_or_none(violations[0].get("quotaId"))
    if retry_delay is None and (match := _RETRY_IN.search(message)):
        retry_delay = _duration_seconds(match.group(1) + match.group(2))
    rpc_status = error.get("status")
    return GoogleError(
        http_status=http_status,
        status=rpc_status
        if isinstance(rpc_status, str) and rpc_status
        else _CANONICAL_STATUS.get(http_status, "UNKNOWN"),
        message=message or f"upstream answered HTTP {http_status}",
        reason=reason,
        retry_delay=retry_delay,
        quota_id=quota_id,
        domain=domain,
        details=details,
    )


def _error_object(body: bytes | bytearray | str) -> Mapping[str, Any] | None:
    """The `error` object of a body (`{...}` or `[{...}]`), or None if there is none."""
    raw = body.encode("utf-8", "replace") if isinstance(body, str) else bytes(body)
    try:
        document = loads(raw)
    except JSONError:
        try:
            document = loads(_DOUBLED_COMMA.sub(b",", raw))
        except JSONError:
            return None
    if isinstance(document, list) and len(document) == 1:
        document = document[0]
    if isinstance(document, Mapping):
        error = document.get("error")
        if isinstance(error, Mapping):
            return error
    return None


def _duration_seconds(value: object) -> float | None:
    """Seconds from a proto Duration (`"26s"`, `"0.5s"`, `"539ms"`, or `{seconds, nanos}`)."""
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match is None:
            return None
        number = float(match.group(1))
        return number / 1000 if match.group(2) == "ms" else number
    if isinstance(value, Mapping):
        seconds, nanos = value.get("seconds", 0), value.get("nanos", 0)
        try:
            return float(seconds) + float(nanos) / 1e9
        except (TypeError, ValueError):
            return None
    return None


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE_CHARS else text[:_MAX_MESSAGE_CHARS] + "…"


# -- client answers --------------------------------------------------------------------------


def anthropic_error_for(error: GoogleError) -> tuple[int, dict[str, Any]]:
    """HTTP status and Anthropic error body for an upstream error (before any byte was sent)."""
    status, error_type = _anthropic_status_and_type(error)
    return status, anthropic_error_body(error_type, error.message)


def _anthropic_status_and_type(error: GoogleError) -> tuple[int, str]:
    code = error.http_status
    if error.is_capacity or code == 503:
        return 529, "overloaded_error"
    if code == 429:
        return 429, "rate_limit_error"
    if code in (401, 403) or error.refused_credential is not None:
        return 502, "api_error"  # the gateway's credential, not the client's (module docstring)
    if code == 404:
        return 404, "not_found_error"
    if code == 413:
        return 413, "request_too_large"
    if code == 504:
        return 504, "timeout_error"
    if 400 <= code < 500:
        return 400, "invalid_request_error"
    if code == 500:
        return 500, "api_error"
    return 502, "api_error"


def anthropic_error_event(error: GoogleError) -> dict[str, Any]:
    """The stream `error` event for an upstream failure after the stream started.

    docs/mapping.md: `overloaded_error` for capacity/503, `rate_limit_error` for 429,
    `api_error` otherwise.
    """
    if error.is_capacity or error.http_status == 503:
        error_type = "overloaded_error"
    elif error.http_status == 429:
        error_type = "rate_limit_error"
    else:
        error_type = "api_error"
    return anthropic_error_body(error_type, error.message)


def openai_error_for(error: GoogleError) -> tuple[int, dict[str, Any]]:
    """HTTP status and OpenAI error body (`{"error": {message, type, param, code}}`)."""
    code = error.http_status
    if error.is_capacity or code == 503:
        status, error_type, error_code = 503, "server_error", "model_overloaded"
    elif code == 429 and error.is_terminal_quota:
        status, error_type, error_code = 429, "insufficient_quota", "insufficient_quota"
    elif code == 429:
        status, error_type, error_code = 429, "rate_limit_error", "rate_limit_exceeded"
    elif code in (401, 403) or error.refused_credential is not None:
        status, error_type, error_code = 502, "server_error", "upstream_auth_failed"
    elif code == 404:
        status, error_type, error_code = 404, "invalid_request_error", "not_found"
    elif 400 <= code < 500:
        status, error_type, error_code = 400, "invalid_request_error", error.status.lower()
    else:
        status, error_type, error_code = (500 if code == 500 else 502), "server_error", None
    return status, openai_error_body(error.message, error_type, code=error_code)

"""Google error envelopes, as the Gemini API and Code Assist send them.

Operations:
- `Rejection`: one error value (HTTP status, canonical status, message, BadRequest field violations,
  other `details` entries); `body()` gives the JSON envelope, `stream_body()` the one-element array
  Google sends when the error arrives on a streaming call.
- Builders, one per canonical status the emulator needs: `invalid_argument`, `failed_precondition`,
  `api_key_invalid`, `api_key_expired`, `unauthenticated`, `permission_denied`,
  `consumer_suspended`, `api_key_missing`, `not_found`,
  `model_not_found`, `quota_exceeded` (Gemini API free-tier 429), `rate_limit_exceeded`,
  `quota_exhausted`, `model_capacity_exhausted` (Code Assist 429/503), `unavailable`, `internal`,
  `deadline_exceeded`.
- Detail builders: `bad_request`, `error_info`, `retry_info`, `quota_failure`, `help_links`;
  `format_duration` renders a proto Duration string (`"26s"`, `"0.539477544s"`).

Goal: bodies that a client written against real Google (python-genai `errors.APIError`, gemini-cli's
`googleErrors.ts` / `googleQuotaErrors.ts`) classifies exactly as it would the real one.
Plan: frozen dataclasses and plain dict builders; no I/O. Wording comes from
docs/reference/gemini.md#errors and docs/reference/code-assist.md#errors; wording the reference
does not quote is marked "not verified".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"
ERROR_INFO_TYPE = "type.googleapis.com/google.rpc.ErrorInfo"
RETRY_INFO_TYPE = "type.googleapis.com/google.rpc.RetryInfo"
QUOTA_FAILURE_TYPE = "type.googleapis.com/google.rpc.QuotaFailure"
HELP_TYPE = "type.googleapis.com/google.rpc.Help"

GEMINI_DOMAIN = "generativelanguage.googleapis.com"
CODE_ASSIST_DOMAIN = "cloudcode-pa.googleapis.com"
RATE_LIMITS_URL = "https://ai.google.dev/gemini-api/docs/rate-limits"

# Canonical google.rpc status for each HTTP status the emulator sends
# (docs/reference/gemini.md#errors).
STATUS_BY_HTTP: Mapping[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


@dataclass(frozen=True)
class FieldViolation:
    """One `google.rpc.BadRequest.fieldViolations` entry; an empty `field` is the request root."""

    field: str
    description: str


@dataclass(frozen=True)
class Rejection:
    """A Google error response: HTTP status, canonical status, message and details."""

    http_status: int
    status: str
    message: str
    violations: tuple[FieldViolation, ...] = ()
    extra_details: tuple[Mapping[str, Any], ...] = ()
    # Code Assist repeats the message in a legacy `errors` list (gaxios shows it;
    # docs/reference/code-assist.md#errors).
    errors: tuple[Mapping[str, str], ...] = ()

    def body(self) -> dict[str, Any]:
        """The JSON body: `{"error": {"code", "message", "status", "details"?}}`."""
        error: dict[str, Any] = {"code": self.http_status, "message": self.message}
        if self.errors:
            error["errors"] = [dict(entry) for entry in self.errors]
        error["status"] = self.status
        details: list[dict[str, Any]] = []
        if self.violations:
            details.append(bad_request(self.violations))
        details.extend(dict(detail) for detail in self.extra_details)
        if details:
            error["details"] = details
        return {"error": error}

    def stream_body(self) -> list[dict[str, Any]]:
        """The body of a streaming call that fails before its first chunk: a one-element array
        (docs/reference/gemini.md#streaming)."""
        return [self.body()]


# --- details -------------------------------------------------------------------------------------


def bad_request(violations: Sequence[FieldViolation]) -> dict[str, Any]:
    """A `google.rpc.BadRequest` detail; a root-level violation carries no `field` key."""
    entries: list[dict[str, str]] = []
    for violation in violations:
        entry = {"field": violation.field} if violation.field else {}
        entry["description"] = violation.description
        entries.append(entry)
    return {"@type": BAD_REQUEST_TYPE, "fieldViolations": entries}


def error_info(
    reason: str, domain: str, metadata: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A `google.rpc.ErrorInfo` detail."""
    detail: dict[str, Any] = {"@type": ERROR_INFO_TYPE, "reason": reason, "domain": domain}
    if metadata:
        detail["metadata"] = dict(metadata)
    return detail


def retry_info(delay_seconds: float) -> dict[str, Any]:
    """A `google.rpc.RetryInfo` detail with a proto Duration `retryDelay`."""
    return {"@type": RETRY_INFO_TYPE, "retryDelay": format_duration(delay_seconds)}


def quota_failure(
    *, quota_metric: str, quota_id: str, dimensions: Mapping[str, str], quota_value: str
) -> dict[str, Any]:
    """A `google.rpc.QuotaFailure` detail with one violation (docs/reference/gemini.md#errors)."""
    violation = {
        "quotaMetric": quota_metric,
        "quotaId": quota_id,
        "quotaDimensions": dict(dimensions),
        "quotaValue": quota_value,
    }
    return {"@type": QUOTA_FAILURE_TYPE, "violations": [violation]}


def help_links(description: str, url: str) -> dict[str, Any]:
    """A `google.rpc.Help` detail with one link."""
    return {"@type": HELP_TYPE, "links": [{"description": description, "url": url}]}


def format_duration(seconds: float) -> str:
    """A proto Duration string: whole seconds as `"26s"`, fractions with up to 9 digits."""
    if seconds < 0:
        raise ValueError("a duration is never negative")
    nanos = round(seconds * 1_000_000_000)
    whole, fraction = divmod(nanos, 1_000_000_000)
    if fraction == 0:
        return f"{whole}s"
    return f"{whole}.{fraction:09d}".rstrip("0") + "s"


# --- 400 -----------------------------------------------------------------------------------------


def invalid_argument(message: str, violations: Sequence[FieldViolation] = ()) -> Rejection:
    """HTTP 400 INVALID_ARGUMENT, with a BadRequest detail when there are field violations."""
    return Rejection(400, "INVALID_ARGUMENT", message, tuple(violations))


def failed_precondition(message: str) -> Rejection:
    """HTTP 400 FAILED_PRECONDITION (e.g. onboarding a free-tier user with a project,
    docs/reference/code-assist.md#setup)."""
    return Rejection(400, "FAILED_PRECONDITION", message)


def api_key_invalid() -> Rejection:
    """The Gemini API's answer to an unknown `x-goog-api-key` (wording not verified)."""
    return _api_key_refused("API key not valid. Please pass a valid API key.")


def api_key_expired() -> Rejection:
    """The Gemini API's answer to an expired key: the same reason as an invalid one (wording as
    quoted in public issues, not verified)."""
    return _api_key_refused("API key expired. Please renew the API key.")


def _api_key_refused(message: str) -> Rejection:
    reason = error_info("API_KEY_INVALID", "googleapis.com", {"service": GEMINI_DOMAIN})
    return Rejection(400, "INVALID_ARGUMENT", message, extra_details=(reason,))


# --- 401 / 403 / 404 -----------------------------------------------------------------------------


def unauthenticated() -> Rejection:
    """HTTP 401 for a missing or bad OAuth bearer token (Code Assist; wording not verified)."""
    return Rejection(
        401,
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
        "cookie or other valid authentication credential. See "
        "https://developers.google.com/identity/sign-in/web/devconsole-project.",
        extra_details=(error_info("ACCESS_TOKEN_TYPE_UNSUPPORTED", "googleapis.com"),),
    )


def permission_denied(message: str = "The caller does not have permission") -> Rejection:
    """HTTP 403 PERMISSION_DENIED (default wording is Google's canonical text; not verified)."""
    return Rejection(403, "PERMISSION_DENIED", message)


def consumer_suspended(api_key: str) -> Rejection:
    """HTTP 403 for a key whose project is suspended; Google quotes the key in the message
    (wording as quoted in public issues, not verified)."""
    return Rejection(
        403,
        "PERMISSION_DENIED",
        f"Permission denied: Consumer 'api_key:{api_key}' has been suspended.",
        extra_details=(
            error_info(
                "CONSUMER_SUSPENDED",
                "googleapis.com",
                {"consumer": "projects/000000000000", "service": GEMINI_DOMAIN},
            ),
        ),
    )


def api_key_missing() -> Rejection:
    """HTTP 403 for a Gemini API call with no key at all (wording not verified)."""
    return permission_denied(
        "Method doesn't allow unregistered callers (callers without established identity). "
        "Please use API Key or other form of API consumer identity to call this API."
    )


def not_found(message: str) -> Rejection:
    """HTTP 404 NOT_FOUND with the given message."""
    return Rejection(404, "NOT_FOUND", message)


def model_not_found(model: str, method: str = "generateContent") -> Rejection:
    """HTTP 404 for an unknown model on the Gemini API (wording as quoted in public issues)."""
    name = model if model.startswith("models/") else f"models/{model}"
    return not_found(
        f"{name} is not found for API version v1beta, or is not supported for {method}. "
        "Call ListModels to see the list of available models and their supported methods."
    )


# --- 429 / 503 -----------------------------------------------------------------------------------

QUOTA_EXCEEDED_MESSAGE = (
    "You exceeded your current quota, please check your plan and billing details. For more "
    "information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits."
)


def quota_exceeded(
    model: str,
    retry_delay_seconds: float,
    *,
    quota_id: str = "GenerateContentInputTokensPerModelPerMinute-FreeTier",
    quota_metric: str = "generativelanguage.googleapis.com/generate_content_free_tier_input_token_count",
    quota_value: str = "250000",
) -> Rejection:
    """The Gemini API's 429: QuotaFailure + Help + RetryInfo, exactly the shape of
    docs/reference/gemini.md#errors.

    A `quota_id` containing `PerDay` makes gemini-cli treat the error as terminal
    (docs/reference/code-assist.md#errors).
    """
    return Rejection(
        429,
        "RESOURCE_EXHAUSTED",
        QUOTA_EXCEEDED_MESSAGE,
        extra_details=(
            quota_failure(
                quota_metric=quota_metric,
                quota_id=quota_id,
                dimensions={"location": "global", "model": model},
                quota_value=quota_value,
            ),
            help_links("Learn more about Gemini API quotas", RATE_LIMITS_URL),
            retry_info(retry_delay_seconds),
        ),
    )


def rate_limit_exceeded(model: str, retry_delay_seconds: float) -> Rejection:
    """Code Assist 429 RATE_LIMIT_EXCEEDED with RetryInfo: retryable
    (docs/reference/code-assist.md#errors; message not verified)."""
    return Rejection(
        429,
        "RESOURCE_EXHAUSTED",
        "Resource has been exhausted (e.g. check quota).",
        extra_details=(
            error_info("RATE_LIMIT_EXCEEDED", CODE_ASSIST_DOMAIN, {"model": model}),
            retry_info(retry_delay_seconds),
        ),
    )


def quota_exhausted(model: str, reset_delay_seconds: float, reset_timestamp: str) -> Rejection:
    """Code Assist 429 QUOTA_EXHAUSTED: terminal for gemini-cli
    (docs/reference/code-assist.md#errors)."""
    delay = format_duration(reset_delay_seconds)
    return Rejection(
        429,
        "RESOURCE_EXHAUSTED",
        f"You have exhausted your capacity on this model. Your quota will reset after {delay}.",
        extra_details=(
            error_info(
                "QUOTA_EXHAUSTED",
                CODE_ASSIST_DOMAIN,
                {
                    "uiMessage": "true",
                    "model": model,
                    "quotaResetDelay": delay,
                    "quotaResetTimeStamp": reset_timestamp,
                },
            ),
            retry_info(reset_delay_seconds),
        ),
    )


def model_capacity_exhausted(
    model: str, *, http_status: int = 429, retry_delay_seconds: float | None = None
) -> Rejection:
    """Code Assist "No capacity available" as 429 RESOURCE_EXHAUSTED or 503 UNAVAILABLE
    (docs/reference/code-assist.md#errors)."""
    if http_status not in (429, 503):
        raise ValueError("capacity errors are 429 or 503")
    message = f"No capacity available for model {model} on the server"
    details: list[Mapping[str, Any]] = [
        error_info("MODEL_CAPACITY_EXHAUSTED", CODE_ASSIST_DOMAIN, {"model": model})
    ]
    if retry_delay_seconds is not None:
        details.append(retry_info(retry_delay_seconds))
    return Rejection(
        http_status,
        STATUS_BY_HTTP[http_status],
        message,
        extra_details=tuple(details),
        errors=({"message": message, "domain": "global", "reason": "rateLimitExceeded"},),
    )


def unavailable(message: str = "The model is overloaded. Please try again later.") -> Rejection:
    """HTTP 503 UNAVAILABLE (default wording as Gemini sends it when overloaded, quoted in public
    code)."""
    return Rejection(503, "UNAVAILABLE", message)


# --- 500 / 504 -----------------------------------------------------------------------------------


def internal(
    message: str = (
        "An internal error has occurred. Please retry or report in "
        "https://developers.generativeai.google/guide/troubleshooting"
    ),
) -> Rejection:
    """HTTP 500 INTERNAL (default wording not verified)."""
    return Rejection(500, "INTERNAL", message)


def deadline_exceeded(
    message: str = "Deadline expired before operation could complete.",
) -> Rejection:
    """HTTP 504 DEADLINE_EXCEEDED (Google's canonical text; not verified)."""
    return Rejection(504, "DEADLINE_EXCEEDED", message)

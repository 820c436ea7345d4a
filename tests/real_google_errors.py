"""Google error bodies as seen in the wild (docs/reference/gemini.md#errors,
docs/reference/code-assist.md#errors), shared by tests.

One copy of each body, so that compat's error parsing and the server's retry policies are judged
against the same real-world inputs.
"""

from __future__ import annotations

from typing import Any

QUOTA_429: dict[str, Any] = {
    "error": {
        "code": 429,
        "message": "You exceeded your current quota. Please retry in 38.804097346s.",
        "status": "RESOURCE_EXHAUSTED",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [{"quotaId": "GenerateContentInputTokensPerModelPerMinute-FreeTier"}],
            },
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "26s"},
        ],
    }
}

CAPACITY_429: dict[str, Any] = {
    "error": {
        "code": 429,
        "message": "No capacity available for model gemini-3.1-pro-preview on the server",
        "status": "RESOURCE_EXHAUSTED",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "MODEL_CAPACITY_EXHAUSTED",
                "domain": "cloudcode-pa.googleapis.com",
                "metadata": {"model": "gemini-3.1-pro-preview"},
            }
        ],
    }
}

TERMINAL_QUOTA: dict[str, Any] = {
    "error": {
        "code": 429,
        "message": "You have exhausted your capacity on this model.",
        "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "QUOTA_EXHAUSTED"},
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.539477544s"},
        ],
    }
}

FREE_TIER_429: dict[str, Any] = {
    "error": {
        "code": 429,
        "message": "You exceeded your current quota, please check your plan and billing details.",
        "status": "RESOURCE_EXHAUSTED",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                    {
                        "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_input_token_count",
                        "quotaId": "GenerateContentInputTokensPerModelPerMinute-FreeTier",
                    }
                ],
            },
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "26s"},
        ],
    }
}

QUOTA_EXHAUSTED_429: dict[str, Any] = {
    "error": {
        "code": 429,
        "message": "You have exhausted your capacity on this model. Your quota will reset after 0s.",
        "status": "RESOURCE_EXHAUSTED",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "QUOTA_EXHAUSTED",
                "domain": "cloudcode-pa.googleapis.com",
            },
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.539477544s"},
        ],
    }
}

PER_DAY_429: dict[str, Any] = {
    "error": {
        "code": 429,
        "message": "Quota exceeded for metric: x, limit: 0, model: gemini-2.5-pro",
        "status": "RESOURCE_EXHAUSTED",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [{"quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier"}],
            }
        ],
    }
}

# Credentials refused (Gemini API keys): the reason names the credential, not the request.
API_KEY_INVALID_400: dict[str, Any] = {
    "error": {
        "code": 400,
        "message": "API key not valid. Please pass a valid API key.",
        "status": "INVALID_ARGUMENT",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            },
            {
                "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                "locale": "en-US",
                "message": "API key not valid. Please pass a valid API key.",
            },
        ],
    }
}

API_KEY_EXPIRED_400: dict[str, Any] = {
    "error": {
        "code": 400,
        "message": "API key expired. Please renew the API key.",
        "status": "INVALID_ARGUMENT",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            }
        ],
    }
}

SERVICE_DISABLED_403: dict[str, Any] = {
    "error": {
        "code": 403,
        "message": "Generative Language API has not been used in project 1234 before or it is "
        "disabled. Enable it by visiting https://console.developers.google.com/apis/api/"
        "generativelanguage.googleapis.com/overview?project=1234 then retry.",
        "status": "PERMISSION_DENIED",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "SERVICE_DISABLED",
                "domain": "googleapis.com",
                "metadata": {
                    "consumer": "projects/1234",
                    "service": "generativelanguage.googleapis.com",
                },
            }
        ],
    }
}

# A 403 with no reason: a leaked key, or a request naming a file the project cannot read.
LEAKED_KEY_403: dict[str, Any] = {
    "error": {
        "code": 403,
        "message": "Your API key was reported as leaked. Please use another API key.",
        "status": "PERMISSION_DENIED",
    }
}

FILE_DENIED_403: dict[str, Any] = {
    "error": {
        "code": 403,
        "message": "You do not have permission to access the File abc123 or it may not exist.",
        "status": "PERMISSION_DENIED",
    }
}

# Code Assist refusing an OAuth access token.
UNAUTHENTICATED_401: dict[str, Any] = {
    "error": {
        "code": 401,
        "message": "Request had invalid authentication credentials. Expected OAuth 2 access "
        "token, login cookie or other valid authentication credential.",
        "status": "UNAUTHENTICATED",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "ACCESS_TOKEN_TYPE_UNSUPPORTED",
                "domain": "googleapis.com",
            }
        ],
    }
}

"""Google error bodies as seen in the wild (reference/protocols.md §B.6 and §C), shared by tests.

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

"""Anthropic sampling fields and `thinking` -> Gemini `generationConfig`.

Operations
    generation_config(request) -> dict      maxOutputTokens, temperature, topP, topK,
                                            stopSequences, thinkingConfig (only those sent)
    thinking_config(thinking) -> dict       the `thinking` rule of docs/mapping.md

Goal: values are checked against the Anthropic ranges (docs/reference/anthropic.md#request-body)
and copied, never invented: a field the client did not send is not sent upstream either.
"""

from __future__ import annotations

from typing import Any

from compat._anthropic.fields import (
    expect_dict,
    expect_int,
    expect_list,
    expect_number,
    expect_str,
    int_field,
    item,
    str_field,
)
from compat._errors import RequestError

__all__ = ["MAX_STOP_SEQUENCES", "generation_config", "thinking_config"]

MAX_STOP_SEQUENCES = 5  # generationConfig.stopSequences "(up to 5)"
_MIN_THINKING_BUDGET = 1024  # Anthropic: budget_tokens "Must be ≥1024"
INT32_MAX = 2**31 - 1  # Gemini's token counts are int32 fields


def generation_config(request: dict[str, Any]) -> dict[str, Any]:
    """The generationConfig for `request` (max_tokens is required and checked here)."""
    max_tokens = request.get("max_tokens")
    if type(max_tokens) is not int or not 1 <= max_tokens <= INT32_MAX:
        _refuse_max_tokens(request)
    config: dict[str, Any] = {"maxOutputTokens": max_tokens}
    temperature = request.get("temperature")
    if temperature is not None:
        config["temperature"] = _unit_interval(temperature, "temperature")
    top_p = request.get("top_p")
    if top_p is not None:
        config["topP"] = _unit_interval(top_p, "top_p")
    top_k = request.get("top_k")
    if top_k is not None:
        if not 1 <= expect_int(top_k, "top_k") <= INT32_MAX:  # Gemini refuses topK 0
            raise RequestError("top_k", f"top_k must be between 1 and {INT32_MAX} for Gemini")
        config["topK"] = top_k
    stop_sequences = request.get("stop_sequences")
    if stop_sequences is not None:
        stops = _stop_sequences(stop_sequences)
        if stops:
            config["stopSequences"] = stops
    thinking = request.get("thinking")
    if thinking is not None:
        config["thinkingConfig"] = thinking_config(thinking)
    return config


def _refuse_max_tokens(request: dict[str, Any]) -> None:
    if int_field(request, "max_tokens", "") > INT32_MAX:
        raise RequestError("max_tokens", f"max_tokens must be at most {INT32_MAX}")
    raise RequestError("max_tokens", "max_tokens must be at least 1")


def _unit_interval(value: object, path: str) -> int | float:
    number = value if type(value) is float else expect_number(value, path)
    if not 0 <= number <= 1:  # also refuses NaN
        raise RequestError(path, f"{path} must be between 0 and 1")
    return number


def _stop_sequences(value: object) -> list[str]:
    stops = expect_list(value, "stop_sequences")
    for index, stop in enumerate(stops):
        if not expect_str(stop, item("stop_sequences", index)):
            raise RequestError(item("stop_sequences", index), "stop sequences must be non-empty")
    if len(stops) > MAX_STOP_SEQUENCES:
        raise RequestError(
            "stop_sequences",
            f"Gemini accepts at most {MAX_STOP_SEQUENCES} stop sequences, got {len(stops)}",
        )
    return stops


def thinking_config(value: object) -> dict[str, Any]:
    """Gemini thinkingConfig for an Anthropic `thinking` object (docs/mapping.md)."""
    thinking = expect_dict(value, "thinking")
    kind = str_field(thinking, "type", "thinking")
    if kind == "disabled":
        return {"includeThoughts": False}
    if kind == "enabled":
        budget = int_field(thinking, "budget_tokens", "thinking")
        if not _MIN_THINKING_BUDGET <= budget <= INT32_MAX:
            raise RequestError(
                "thinking.budget_tokens",
                f"budget_tokens must be between {_MIN_THINKING_BUDGET} and {INT32_MAX}",
            )
    elif kind == "adaptive":
        budget = -1  # Gemini's AUTOMATIC budget
    else:
        raise RequestError("thinking.type", "expected one of 'enabled', 'disabled', 'adaptive'")
    display = thinking.get("display")
    if display is not None and expect_str(display, "thinking.display") not in (
        "summarized",
        "omitted",
    ):
        raise RequestError("thinking.display", "expected one of 'summarized', 'omitted'")
    return {"includeThoughts": display != "omitted", "thinkingBudget": budget}

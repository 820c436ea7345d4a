"""OpenAI request parameters → Gemini `generationConfig`, and the parameters refused.

Operations: `check_parameters(request)` (types of the accepted-and-ignored parameters, and
`RequestError` for those Gemini cannot honour), `generation_config(request, gemini_3=...)`.

Mapping (docs/reference/gemini.md#request-body, docs/reference/openai.md#request):
- `max_completion_tokens` (else the deprecated `max_tokens`) → `maxOutputTokens`;
  `temperature` [0, 2], `top_p` [0, 1], `presence_penalty` / `frequency_penalty` [-2, 2],
  `seed` → their Gemini names (token counts and seed within int32, as Gemini's proto); `stop` (a string or up to 5 non-empty strings) →
  `stopSequences`.
- `response_format` json_object → `responseMimeType: application/json`; json_schema → also
  `responseJsonSchema` (cleaned as JSON Schema).
- `reasoning_effort` → `thinkingConfig` with `includeThoughts: true` (the thoughts come back
  as `reasoning_content`): Gemini 3 gets `thinkingLevel` (minimal/low/medium/high; xhigh →
  HIGH); other models get `thinkingBudget` minimal 512, low 1024, medium 8192, high 24576,
  xhigh 32768 (Google's own OpenAI-compatible endpoint uses 1K/8K/24K for low/medium/high).
  `none` → `includeThoughts: false` without a budget (docs/mapping.md: some models reject 0).
- Accepted and ignored (no Gemini equivalent that changes the answer): `model`, `stream`,
  `stream_options`, `parallel_tool_calls`, `user`, `metadata`, `store`, `service_tier`,
  `logprobs: false`, an empty `logit_bias`, and keys this module does not know.
- Refused: `n` other than 1, `logprobs: true`, a non-empty `logit_bias`, audio output.
"""

from __future__ import annotations

from compat._errors import RequestError
from compat._openai.fields import (
    JSONObject,
    describe,
    optional_bool,
    optional_int,
    optional_number,
    require_dict,
    require_list,
    require_str,
)
from compat._schema import clean_schema

MAX_STOP_SEQUENCES = 5
INT32_MAX = 2**31 - 1  # Gemini's maxOutputTokens and seed are int32 fields
_THINKING_LEVELS = {
    "minimal": "MINIMAL",
    "low": "LOW",
    "medium": "MEDIUM",
    "high": "HIGH",
    "xhigh": "HIGH",
}
_THINKING_BUDGETS = {"minimal": 512, "low": 1024, "medium": 8192, "high": 24576, "xhigh": 32768}


def check_parameters(request: JSONObject) -> None:
    """Type-check the accepted parameters; refuse those Gemini cannot honour."""
    model = request.get("model")
    if model is not None:
        require_str(model, "model")
    optional_bool(request, "stream", "")
    optional_bool(request, "parallel_tool_calls", "")
    stream_options = request.get("stream_options")
    if stream_options is not None:
        optional_bool(
            require_dict(stream_options, "stream_options"), "include_usage", "stream_options."
        )
    n = optional_int(request, "n", "")
    if n is not None and n != 1:
        raise RequestError("n", "only n=1 is supported: Gemini returns one candidate here")
    if optional_bool(request, "logprobs", ""):
        raise RequestError("logprobs", "logprobs are not supported")
    logit_bias = request.get("logit_bias")
    if logit_bias is not None and require_dict(logit_bias, "logit_bias"):
        raise RequestError("logit_bias", "logit_bias is not supported by Gemini")
    modalities = request.get("modalities")
    if modalities is not None and any(m != "text" for m in require_list(modalities, "modalities")):
        raise RequestError("modalities", "only text output is supported")
    if request.get("audio") is not None:
        raise RequestError("audio", "audio output is not supported")


def generation_config(request: JSONObject, *, gemini_3: bool) -> JSONObject:
    """`generationConfig` for the sampling, stop, output-format and reasoning parameters."""
    config: JSONObject = {}
    max_tokens = optional_int(request, "max_completion_tokens", "", minimum=1, maximum=INT32_MAX)
    legacy_max_tokens = optional_int(request, "max_tokens", "", minimum=1, maximum=INT32_MAX)
    if max_tokens is None:
        max_tokens = legacy_max_tokens
    if max_tokens is not None:
        config["maxOutputTokens"] = max_tokens
    for openai_name, gemini_name, low, high in (
        ("temperature", "temperature", 0.0, 2.0),
        ("top_p", "topP", 0.0, 1.0),
        ("presence_penalty", "presencePenalty", -2.0, 2.0),
        ("frequency_penalty", "frequencyPenalty", -2.0, 2.0),
    ):
        value = optional_number(request, openai_name, "", minimum=low, maximum=high)
        if value is not None:
            config[gemini_name] = value
    seed = optional_int(request, "seed", "", minimum=-INT32_MAX - 1, maximum=INT32_MAX)
    if seed is not None:
        config["seed"] = seed
    stop_sequences = _stop_sequences(request.get("stop"))
    if stop_sequences:
        config["stopSequences"] = stop_sequences
    config.update(_response_format(request.get("response_format")))
    thinking = _thinking_config(request.get("reasoning_effort"), gemini_3=gemini_3)
    if thinking is not None:
        config["thinkingConfig"] = thinking
    return config


def _stop_sequences(stop: object) -> list[str]:
    if stop is None:
        return []
    sequences = [stop] if isinstance(stop, str) else require_list(stop, "stop")
    if len(sequences) > MAX_STOP_SEQUENCES:
        raise RequestError("stop", f"at most {MAX_STOP_SEQUENCES} stop sequences are supported")
    for index, sequence in enumerate(sequences):
        path = "stop" if isinstance(stop, str) else f"stop[{index}]"
        if not require_str(sequence, path):
            raise RequestError(path, "a stop sequence must not be empty")
    return list(sequences)


def _response_format(response_format: object) -> JSONObject:
    if response_format is None:
        return {}
    spec = require_dict(response_format, "response_format")
    kind = spec.get("type")
    if kind == "text":
        return {}
    if kind == "json_object":
        return {"responseMimeType": "application/json"}
    if kind == "json_schema":
        json_schema = require_dict(spec.get("json_schema"), "response_format.json_schema")
        config: JSONObject = {"responseMimeType": "application/json"}
        schema = json_schema.get("schema")
        if schema is not None:
            path = "response_format.json_schema.schema"
            config["responseJsonSchema"] = clean_schema(
                require_dict(schema, path), mode="parametersJsonSchema"
            )
        return config
    raise RequestError("response_format.type", "expected 'text', 'json_object' or 'json_schema'")


def _thinking_config(effort: object, *, gemini_3: bool) -> JSONObject | None:
    if effort is None:
        return None
    if effort == "none":
        return {"includeThoughts": False}
    if not isinstance(effort, str) or effort not in _THINKING_BUDGETS:
        shown = repr(effort) if isinstance(effort, str) else describe(effort)
        raise RequestError(
            "reasoning_effort", f"expected none, minimal, low, medium, high or xhigh, got {shown}"
        )
    if gemini_3:
        return {"includeThoughts": True, "thinkingLevel": _THINKING_LEVELS[effort]}
    return {"includeThoughts": True, "thinkingBudget": _THINKING_BUDGETS[effort]}

"""OpenAI integer parameters that Gemini holds as int32 are refused beyond it, naming the field
(found by tests/server/test_hostile_input.py: a 2**63 `max_tokens` used to reach Gemini and come
back as Google's `generation_config.max_output_tokens` error)."""

from __future__ import annotations

import pytest

import compat

INT32_MAX = 2**31 - 1
USER = {"role": "user", "content": "hi"}


def convert(**fields: object) -> dict[str, object]:
    request = {"model": "gpt-4o", "messages": [USER], **fields}
    return compat.openai_to_gemini_request(request, options=compat.ConversionOptions())


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens", "seed"])
@pytest.mark.parametrize("value", [INT32_MAX + 1, 2**63, 10**30])
def test_an_integer_beyond_int32_is_refused_naming_the_field(field: str, value: int) -> None:
    with pytest.raises(compat.RequestError) as refused:
        convert(**{field: value})
    assert refused.value.path == field and str(INT32_MAX) in refused.value.message


@pytest.mark.parametrize("value", [-(2**31) - 1, -(2**63)])
def test_a_seed_below_int32_is_refused(value: int) -> None:
    with pytest.raises(compat.RequestError) as refused:
        convert(seed=value)
    assert refused.value.path == "seed"


def test_the_int32_bounds_themselves_are_accepted() -> None:
    config = convert(max_tokens=INT32_MAX, seed=-(2**31))["generationConfig"]
    assert config == {"maxOutputTokens": INT32_MAX, "seed": -(2**31)}

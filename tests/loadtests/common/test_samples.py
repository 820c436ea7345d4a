"""result_sample builds valid result-file samples; percentile is numpy's linear percentile."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import result_format
from loadtests._common import ErrorInfo, Measured, percentile, result_sample
from tests.result_format.documents import block, document

_SECONDS = st.floats(min_value=0, max_value=600, allow_nan=False)
_MEASURED = st.builds(
    Measured,
    status=st.none() | st.integers(100, 599),
    ttfb=st.none() | _SECONDS,
    ttft=st.none() | _SECONDS,
    itl=st.lists(_SECONDS, max_size=4),
    e2e=st.none() | _SECONDS,
    output_tokens=st.none() | st.integers(0, 10_000),
    error=st.none()
    | st.builds(
        ErrorInfo,
        kind=st.sampled_from(["http", "stream", "grammar", "timeout", "connect", "protocol"]),
        type=st.from_regex(r"[a-z_]{1,20}", fullmatch=True),
        message=st.text(max_size=30),
    ),
)


@given(_MEASURED, _SECONDS, _SECONDS, st.none() | st.integers(0, 9))
def test_every_measurement_gives_a_sample_the_schema_accepts(
    measured: Measured, start: float, lag: float, attempts: int | None
) -> None:
    sample = result_sample(measured, start_s=start, lag_s=lag, workload="small_chat",
                           stream=True, attempts=attempts)  # fmt: skip
    doc = document([block("baseline", 0, [1.0])])
    doc["blocks"][0]["samples"] = [sample]
    result_format.validate(doc)


def test_a_sample_is_in_milliseconds_from_the_send() -> None:
    measured = Measured(status=200, ttfb=0.001, ttft=0.002, itl=[0.0005, 0.0], e2e=0.0045,
                        output_tokens=3)  # fmt: skip
    sample = result_sample(measured, start_s=12.5, lag_s=0.0002, attempts=2)
    assert sample == {
        "start_s": 12.5, "lag_ms": 0.2, "status": 200, "error": None, "ttfb_ms": 1.0,
        "ttft_ms": 2.0, "e2e_ms": 4.5, "tpot_ms": 1.25, "itl_ms": [0.5, 0.0],
        "output_tokens": 3, "attempts": 2,
    }  # fmt: skip


def test_an_error_without_a_message_has_no_message_field() -> None:
    sample = result_sample(Measured(error=ErrorInfo("timeout", "deadline")), start_s=0, lag_s=0)
    assert sample["error"] == {"kind": "timeout", "type": "deadline"}
    assert sample["status"] is None and sample["e2e_ms"] is None


@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=50), st.floats(0, 100))
def test_percentile_is_numpys_linear_percentile(values: list[float], q: float) -> None:
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    assert min(values) <= percentile(values, q) <= max(values)  # type: ignore[operator]


def test_percentile_of_nothing_is_none_and_q_must_be_a_percent() -> None:
    assert percentile([], 50) is None
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    with pytest.raises(ValueError, match="outside"):
        percentile([1.0], 101)

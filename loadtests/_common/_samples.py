"""Result samples: one measured request as the result file's `sample` object, and percentiles.

Operations
    result_sample(measured, *, start_s, lag_s, workload=None, stream=None, attempts=None)
        -> dict             a `blocks[].samples[]` item of results-v1.schema.json (ms, rounded
                            to the microsecond; optional fields only when known)
    percentile(values, q) -> float | None      the q-th percentile (0-100), numpy's linear
                            interpolation (type 7, like vLLM's reports); None for no values

The schema (result_format/results-v1.schema.json) is the contract: `start_s` is the actual send
time in seconds since the run's origin, `lag_ms` the actual minus the intended send time (the
coordinated-omission correction: a latency from the intended send is the latency plus lag_ms).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from loadtests._common._timing import Measured

__all__ = ["percentile", "result_sample"]


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(max(0.0, seconds) * 1000, 3)


def result_sample(
    measured: Measured,
    *,
    start_s: float,
    lag_s: float,
    workload: str | None = None,
    stream: bool | None = None,
    attempts: int | None = None,
) -> dict[str, Any]:
    """The result file's sample for one request (times in ms, from the actual send)."""
    error = measured.error
    sample: dict[str, Any] = {
        "start_s": round(max(0.0, start_s), 6),
        "lag_ms": _ms(lag_s),
        "status": measured.status,
        "error": None if error is None else _error_object(error.kind, error.type, error.message),
        "ttfb_ms": _ms(measured.ttfb),
        "ttft_ms": _ms(measured.ttft),
        "e2e_ms": _ms(measured.e2e),
        "tpot_ms": _ms(measured.tpot),
        "itl_ms": [round(max(0.0, gap) * 1000, 3) for gap in measured.itl],
        "output_tokens": measured.output_tokens,
        "attempts": attempts,
    }
    if workload is not None:
        sample["workload"] = workload
    if stream is not None:
        sample["stream"] = stream
    return sample


def _error_object(kind: str, type_: str, message: str) -> dict[str, str]:
    error = {"kind": kind, "type": type_}
    if message:
        error["message"] = message
    return error


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0 <= q <= 100) of `values`, linearly interpolated; None if empty."""
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is outside [0, 100]")
    if len(values) == 0:
        return None
    return float(np.percentile(np.asarray(values, dtype=float), q))

"""Synthetic comparisons for the gate's tests: two arms drawn from known distributions.

Operations
    Arms(...)                       how the two arms differ (a factor, a shift, extra errors)
    comparison(seed, arms=Arms(), *, rounds=4, requests=200, ...) -> dict
                                    a valid result document: per round one block per arm,
                                    lognormal latencies, a round effect shared by both arms

Built on tests.result_format.documents (`document`, `block`), so every file is valid by the
schema; the known truth (factor, shift) is what the tests assert verdicts against.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tests.result_format.documents import block, document


@dataclass(frozen=True)
class Arms:
    """The candidate arm relative to the baseline: latency × factor + shift_ms, error rates."""

    factor: float = 1.0
    shift_ms: float = 0.0
    baseline_errors: float = 0.0
    candidate_errors: float = 0.0
    baseline_cpu_ms: float = 1.0
    candidate_cpu_ms: float = 1.0


def comparison(
    seed: int,
    arms: Arms = Arms(),
    *,
    rounds: int = 4,
    requests: int = 200,
    median_ms: float = 5.0,
    sigma: float = 0.25,
    round_sd: float = 0.02,
    gaps: int = 4,
    mode: str = "closed",
    track: str | None = None,
    inconclusive: dict[tuple[str, int], str] | None = None,
) -> dict[str, Any]:
    """Baseline and candidate blocks for `rounds` rounds of `requests` requests each."""
    rng = np.random.default_rng(seed)
    shape = _Shape(requests, median_ms, sigma, gaps, mode)
    blocks = []
    for round_ in range(rounds):
        drift = float(np.exp(rng.normal(0, round_sd)))  # the machine's state this round
        for arm, factor, shift, error_rate, cpu_ms in (
            ("baseline", 1.0, 0.0, arms.baseline_errors, arms.baseline_cpu_ms),
            ("candidate", arms.factor, arms.shift_ms, arms.candidate_errors, arms.candidate_cpu_ms),
        ):
            reason = (inconclusive or {}).get((arm, round_))
            blocks.append(
                _block(
                    rng,
                    shape,
                    arm,
                    round_,
                    drift * factor,
                    shift,
                    error_rate,
                    cpu_ms * drift,
                    float(len(blocks) * requests),
                    reason,
                )
            )
    return document(blocks, plan={"name": "synthetic", "seed": seed, "track": track})


@dataclass(frozen=True)
class _Shape:
    requests: int
    median_ms: float
    sigma: float
    gaps: int
    mode: str


def _block(
    rng: np.random.Generator,
    shape: _Shape,
    arm: str,
    round_: int,
    scale: float,
    shift: float,
    error_rate: float,
    cpu_ms: float,
    started_s: float,
    inconclusive: str | None,
) -> dict[str, Any]:
    """One arm's block: TTFB, TTFT = TTFB + a wait, ITL gaps, E2E = TTFT + the gaps."""

    def draw(median: float, n: int) -> np.ndarray:
        return rng.lognormal(np.log(median * scale), shape.sigma, n) + shift

    n = shape.requests
    ttfb = draw(shape.median_ms * 0.4, n)
    ttft = ttfb + draw(shape.median_ms * 0.6, n)
    itl = [draw(shape.median_ms * 0.1, shape.gaps) for _ in range(n)]
    e2e = ttft + np.array([gap.sum() for gap in itl])
    open_loop = shape.mode == "open"
    return block(
        arm,
        round_,
        e2e,
        ttft_ms=ttft,
        ttfb_ms=ttfb,
        tpot_ms=[gap.mean() for gap in itl],
        itl_ms=itl,
        failed=list(rng.random(n) < error_rate),
        mode=shape.mode,
        intended_rate=10.0 if open_loop else None,
        lag_ms=list(rng.exponential(0.05, n)) if open_loop else None,
        proxy_cpu_s=cpu_ms * n / 1000,
        started_s=started_s,
        inconclusive=[inconclusive] if inconclusive else (),
    )

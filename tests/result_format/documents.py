"""Result documents for tests: a builder for known samples and a hypothesis strategy.

Operations
    document(blocks, *, arms=..., plan=...) -> dict     a valid version-1 document around blocks
    block(arm, round_, e2e_ms, *, ttft_ms=None, ttfb_ms=None, tpot_ms=None, itl_ms=None,
          lag_ms=None, failed=None, mode="closed", intended_rate=None, proxy_cpu_s=None,
          inconclusive=(), ...) -> dict
                                                        one block whose samples carry these values
    result_documents() -> strategy of valid documents

Readers' tests (the gate's statistics, reports) build synthetic files with `document` and
`block` from known distributions instead of writing JSON by hand.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

ARMS = [
    {"name": "baseline", "role": "baseline", "kind": "flag", "flags": {"ff_x": False}},
    {"name": "candidate", "role": "candidate", "kind": "flag", "flags": {"ff_x": True}},
]


def document(
    blocks: Sequence[dict[str, Any]],
    *,
    arms: Sequence[dict[str, Any]] = ARMS,
    plan: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A valid document holding copies of `blocks` and `arms`."""
    return {
        "format": "compatkit-results",
        "version": 1,
        "tool": {"name": "tests", "version": "0"},
        "created": "2026-12-05T00:00:00Z",
        "plan": plan or {"name": "synthetic", "seed": 1},
        "environment": {
            "machine": {"platform": "linux", "cores": 2},
            "load_average": {"before": [0.1, 0.1, 0.1], "after": [0.2, 0.1, 0.1]},
            "python": "3.11",
            "packages": {},
            "trees": {},
            "network": {"mode": "loopback"},
        },
        "arms": copy.deepcopy(list(arms)),
        "blocks": copy.deepcopy(list(blocks)),
    }


def block(
    arm: str,
    round_: int,
    e2e_ms: Sequence[float],
    *,
    ttft_ms: Sequence[float] | None = None,
    ttfb_ms: Sequence[float] | None = None,
    tpot_ms: Sequence[float] | None = None,
    itl_ms: Sequence[Sequence[float]] | None = None,
    lag_ms: Sequence[float] | None = None,
    failed: Sequence[bool] | None = None,
    workload: str = "small_chat",
    status: int = 200,
    started_s: float = 0.0,
    mode: str = "closed",
    intended_rate: float | None = None,
    proxy_cpu_s: float | None = None,
    inconclusive: Sequence[str] = (),
) -> dict[str, Any]:
    """One valid block whose samples have these values, one second apart.

    `failed[i]` makes sample i a 429 with a rate_limit_error; `inconclusive` reasons mark
    the block as the runner marks a block it does not trust.
    """

    def at(values: Sequence[Any] | None, index: int) -> Any:
        return None if values is None else values[index]

    samples = []
    for index, e2e in enumerate(e2e_ms):
        sample: dict[str, Any] = {
            "start_s": started_s + index,
            "lag_ms": float(at(lag_ms, index) or 0.0),
            "status": status,
            "error": None,
            "e2e_ms": float(e2e),
            "ttft_ms": None if ttft_ms is None else float(ttft_ms[index]),
        }
        for name, values in (("ttfb_ms", ttfb_ms), ("tpot_ms", tpot_ms)):
            if values is not None:
                sample[name] = float(values[index])
        if itl_ms is not None:
            sample["itl_ms"] = [float(gap) for gap in itl_ms[index]]
        if failed is not None and failed[index]:
            sample.update(status=429, error={"kind": "http", "type": "rate_limit_error"})
        samples.append(sample)
    return {
        "arm": arm,
        "round": round_,
        "workload": workload,
        "mode": mode,
        "concurrency": None if mode == "open" else 1,
        "intended_rate": intended_rate,
        "started_s": started_s,
        "ended_s": started_s + len(samples),
        "warmup_requests": 0,
        "resources": {} if proxy_cpu_s is None else {"proxy_cpu_s": proxy_cpu_s},
        "validity": {
            "status": "inconclusive" if inconclusive else "valid",
            "reasons": list(inconclusive),
        },
        "samples": samples,
    }


_MS = st.floats(min_value=0, max_value=60_000, allow_nan=False)
_OPTIONAL_MS = st.none() | _MS
_ERRORS = st.none() | st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["http", "stream", "grammar", "timeout", "connect", "protocol"]),
        "type": st.sampled_from(["rate_limit_error", "overloaded_error", "api_error", "eof"]),
    },
    optional={"message": st.text(max_size=40)},
)
_SAMPLES = st.fixed_dictionaries(
    {
        "start_s": st.floats(min_value=0, max_value=1e6, allow_nan=False),
        "lag_ms": _MS,
        "status": st.none() | st.integers(min_value=100, max_value=599),
        "error": _ERRORS,
        "e2e_ms": _OPTIONAL_MS,
    },
    optional={
        "ttfb_ms": _OPTIONAL_MS,
        "ttft_ms": _OPTIONAL_MS,
        "tpot_ms": _OPTIONAL_MS,
        "itl_ms": st.lists(_MS, max_size=5),
        "output_tokens": st.none() | st.integers(min_value=0, max_value=10_000),
        "attempts": st.none() | st.integers(min_value=0, max_value=20),
        "stream": st.booleans(),
        "workload": st.sampled_from(["small_chat", "agent_turn"]),
    },
)


@st.composite
def _blocks(draw: st.DrawFn, arm_names: Sequence[str]) -> dict[str, Any]:
    started = draw(st.floats(min_value=0, max_value=1e5, allow_nan=False))
    return {
        "arm": draw(st.sampled_from(list(arm_names))),
        "round": draw(st.integers(min_value=0, max_value=50)),
        "workload": draw(st.sampled_from(["small_chat", "agent_turn", "mixed"])),
        "mode": draw(st.sampled_from(["open", "closed"])),
        "started_s": started,
        "ended_s": started + draw(st.floats(min_value=0, max_value=1e4, allow_nan=False)),
        "warmup_requests": draw(st.integers(min_value=0, max_value=100)),
        "resources": draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "proxy_cpu_s": st.none() | _MS,
                    "proxy_rss_bytes": st.none() | st.integers(min_value=0, max_value=2**40),
                    "client_cpu_share": st.none() | st.floats(min_value=0, max_value=2),
                },
            )
        ),
        "validity": draw(
            st.sampled_from(
                [
                    {"status": "valid", "reasons": []},
                    {"status": "inconclusive", "reasons": ["client CPU share 0.91 > 0.85"]},
                ]
            )
        ),
        "samples": draw(st.lists(_SAMPLES, max_size=6)),
    }


@st.composite
def result_documents(draw: st.DrawFn) -> dict[str, Any]:
    """Valid version-1 documents, blocks and samples of every shape the schema allows."""
    names = draw(
        st.lists(
            st.from_regex(r"[A-Za-z0-9_.-]{1,12}", fullmatch=True),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    roles = ["baseline", "candidate", "other"]
    arms = [
        {"name": name, "role": roles[min(index, 2)], "kind": "process"}
        for index, name in enumerate(names)
    ]
    blocks = draw(st.lists(_blocks(names), max_size=4))
    return document(blocks, arms=arms, plan={"name": "generated", "seed": draw(st.integers())})

"""Benchmarks: Anthropic request -> Gemini request (compat._anthropic.request).

Run: .venv/bin/pytest benchmarks/test_bench_request.py --benchmark-enable --benchmark-only
Without --benchmark-enable (the CI default) each benchmark runs once as a smoke test.

- agent request (~75 KB, 24 tools) end to end: compat.loads of the bytes + validate and
  convert + compat.dumps, with the tools cache warm (the steady state of a session) and
  cold (the first turn, or a tools list never seen before);
- the conversion step alone, warm, to separate it from JSON decoding and encoding;
- a small text chat, full path vs fast path (the `ff_converter_fast_path` pair): the
  `small-text` group, plus a side-by-side run that alternates the two paths round by round
  and prints the ratio of their medians (less exposed to a busy machine than two
  benchmarks run one after the other).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import pytest

from compat._anthropic.request import to_gemini_request
from compat._anthropic.tools import _cached_declarations
from compat._json import dumps, loads
from compat._options import ConversionOptions

AGENT_BYTES = (
    Path(__file__).parents[1] / "tests" / "compat" / "fixtures" / "agent_request.json"
).read_bytes()
SMALL_TEXT: dict[str, Any] = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 1024,
    "system": "You are a helpful assistant.",
    "messages": [
        {"role": "user", "content": "Hello there"},
        {"role": "assistant", "content": "Hi! How can I help?"},
        {"role": "user", "content": [{"type": "text", "text": "Tell me a joke about compilers."}]},
    ],
    "temperature": 0.7,
    "stream": True,
}
FULL = ConversionOptions(fast_path=False)
FAST = ConversionOptions(fast_path=True)


def agent_end_to_end() -> bytes:
    return dumps(to_gemini_request(loads(AGENT_BYTES)))  # type: ignore[arg-type]


@pytest.mark.benchmark(group="agent-request")
def test_agent_request_end_to_end_warm_cache(benchmark: Any) -> None:
    agent_end_to_end()  # the session's first turn filled the cache
    assert len(benchmark(agent_end_to_end)) > 50_000


@pytest.mark.benchmark(group="agent-request")
def test_agent_request_end_to_end_cold_cache(benchmark: Any) -> None:
    result = benchmark.pedantic(
        agent_end_to_end,
        setup=_cached_declarations.cache_clear,
        rounds=300,
        iterations=1,
        warmup_rounds=5,
    )
    assert len(result) > 50_000


@pytest.mark.benchmark(group="agent-request")
def test_agent_request_convert_only_warm_cache(benchmark: Any) -> None:
    request = loads(AGENT_BYTES)
    to_gemini_request(request)  # type: ignore[arg-type]
    assert "tools" in benchmark(to_gemini_request, request)


@pytest.mark.benchmark(group="small-text")
def test_small_text_full_path(benchmark: Any) -> None:
    assert benchmark(to_gemini_request, SMALL_TEXT, options=FULL) == to_gemini_request(
        SMALL_TEXT, options=FAST
    )


@pytest.mark.benchmark(group="small-text")
def test_small_text_fast_path(benchmark: Any) -> None:
    assert benchmark(to_gemini_request, SMALL_TEXT, options=FAST) == to_gemini_request(
        SMALL_TEXT, options=FULL
    )


@pytest.mark.benchmark(group="small-text-end-to-end")
@pytest.mark.parametrize("options", [FULL, FAST], ids=["full", "fast"])
def test_small_text_end_to_end(benchmark: Any, options: ConversionOptions) -> None:
    raw = dumps(SMALL_TEXT)
    benchmark(lambda: dumps(to_gemini_request(loads(raw), options=options)))  # type: ignore[arg-type]


def _microseconds_per_call(options: ConversionOptions, calls: int) -> float:
    start = time.perf_counter_ns()
    for _ in range(calls):
        to_gemini_request(SMALL_TEXT, options=options)
    return (time.perf_counter_ns() - start) / calls / 1000


@pytest.mark.benchmark(group="small-text")
def test_small_text_fast_path_ratio_side_by_side(benchmark: Any, capsys: Any) -> None:
    if not benchmark.disabled:
        full, fast = [], []
        for _ in range(300):  # alternate the arms so both see the same machine
            full.append(_microseconds_per_call(FULL, 200))
            fast.append(_microseconds_per_call(FAST, 200))
        ratio = statistics.median(full) / statistics.median(fast)
        benchmark.extra_info.update(
            full_median_us=statistics.median(full),
            fast_median_us=statistics.median(fast),
            ratio=ratio,
        )
        with capsys.disabled():
            print(
                f"\nsmall text, side by side: full {statistics.median(full):.2f} us, "
                f"fast {statistics.median(fast):.2f} us, ratio {ratio:.2f}x"
            )
    benchmark(to_gemini_request, SMALL_TEXT, options=FAST)


def _agent_microseconds(calls: int) -> float:
    request = loads(AGENT_BYTES)
    start = time.perf_counter_ns()
    for _ in range(calls):
        to_gemini_request(request)  # type: ignore[arg-type]
    return (time.perf_counter_ns() - start) / calls / 1000


@pytest.mark.benchmark(group="nesting-check")
def test_agent_request_with_and_without_the_depth_check_side_by_side(
    benchmark: Any, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cost of compat._nesting's check (issue 17.2) on the agent request, cache warm:
    conversion with the check against the same conversion with the check a no-op, alternated."""
    import compat._anthropic.request as request_module

    if not benchmark.disabled:
        checked, unchecked = [], []
        for _ in range(100):
            checked.append(_agent_microseconds(20))
            with monkeypatch.context() as patched:
                patched.setattr(request_module, "_check_nesting", lambda request: None)
                unchecked.append(_agent_microseconds(20))
        ratio = statistics.median(checked) / statistics.median(unchecked)
        benchmark.extra_info.update(
            checked_median_us=statistics.median(checked),
            unchecked_median_us=statistics.median(unchecked),
            ratio=ratio,
        )
        with capsys.disabled():
            print(
                f"\nagent request, depth check on/off: {statistics.median(checked):.1f} us / "
                f"{statistics.median(unchecked):.1f} us, ratio {ratio:.3f}x"
            )
    benchmark(to_gemini_request, loads(AGENT_BYTES))

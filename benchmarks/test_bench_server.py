"""Smoke run of benchmarks/proxy_overhead.py (the measurement itself is a script, run by hand:
see docs/performance.md, "server: proxy overhead against the emulator")."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.proxy_overhead import BASELINE_TARGETS, TARGETS, main

# Tiny steady blocks: chunks 5 ms apart, so one stream lasts 15-25 ms and a block holds several.
TINY_STEADY = ["--steady-seconds", "0.2", "--itl-ms", "5"]


def test_proxy_overhead_script_measures_every_target(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    argv = ["--sequential", "3", "--rounds", "1", "--concurrency", "4", "--chunks", "5"]
    assert main([*argv, *TINY_STEADY, "--json", str(out)]) == 0
    results = json.loads(out.read_text())
    assert set(results) == {
        "sequential_non_stream_e2e",
        "sequential_stream_ttft",
        "burst_4x5_ttft",
        "steady_4x5_ttft",
    }
    for summary in results.values():
        for target in TARGETS:
            assert summary[target]["n"] > 0 and summary[target]["p50_ms"] > 0
    for target in TARGETS:
        assert results["steady_4x5_ttft"][target]["achieved_concurrency"] > 0
        assert "achieved_concurrency" not in results["burst_4x5_ttft"][target]


def test_proxy_overhead_script_measures_a_baseline_tree_in_the_same_run(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    argv = ["--sequential", "2", "--rounds", "1", "--concurrency", "2", "--chunks", "3"]
    root = Path(__file__).resolve().parents[1]  # this tree as its own baseline (an A/A run)
    options = ["--baseline-root", str(root), "--skip-burst", "--json", str(out)]
    assert main([*argv, *TINY_STEADY, *options]) == 0
    results = json.loads(out.read_text())
    assert set(results) == {
        "sequential_non_stream_e2e",
        "sequential_stream_ttft",
        "steady_2x3_ttft",
    }
    for summary in results.values():
        for target in (*TARGETS, *BASELINE_TARGETS):
            assert summary[target]["n"] > 0
        assert summary["h2pool_over_base_h2pool"]["p50_ms"] > 0

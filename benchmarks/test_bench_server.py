"""Smoke run of benchmarks/proxy_overhead.py (the measurement itself is a script, run by hand:
see docs/performance.md, "server: proxy overhead against the emulator")."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.proxy_overhead import BASELINE_TARGETS, TARGETS, main


def test_proxy_overhead_script_measures_every_target(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    argv = ["--sequential", "3", "--rounds", "1", "--concurrency", "4", "--chunks", "5"]
    assert main([*argv, "--json", str(out)]) == 0
    results = json.loads(out.read_text())
    assert len(results) == 3
    for summary in results.values():
        for target in TARGETS:
            assert summary[target]["n"] > 0 and summary[target]["p50_ms"] > 0


def test_proxy_overhead_script_measures_a_baseline_tree_in_the_same_run(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    argv = ["--sequential", "2", "--rounds", "1", "--concurrency", "2", "--chunks", "3"]
    root = Path(__file__).resolve().parents[1]  # this tree as its own baseline (an A/A run)
    assert main([*argv, "--baseline-root", str(root), "--json", str(out)]) == 0
    for summary in json.loads(out.read_text()).values():
        for target in (*TARGETS, *BASELINE_TARGETS):
            assert summary[target]["n"] > 0
        assert summary["h2pool_over_base_h2pool"]["p50_ms"] > 0

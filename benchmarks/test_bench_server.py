"""Smoke run of benchmarks/proxy_overhead.py (the measurement itself is run by hand: see
docs/performance.md, "server: proxy overhead against the emulator")."""

from __future__ import annotations

from pathlib import Path

import pytest

import result_format
from benchmarks.proxy_overhead import main


def _arms(path: Path) -> set[str]:
    doc = result_format.load(path)
    assert all(block["samples"] for block in doc["blocks"])
    assert not [s for b in doc["blocks"] for s in b["samples"] if s["error"]]
    return {block["arm"] for block in doc["blocks"]}


def test_proxy_overhead_measures_direct_and_both_pool_arms(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--quick", "--requests", "6", "--out", str(tmp_path)]) == 0
    for run in ("sequential", "steady"):
        assert _arms(tmp_path / run / "results.json") == {"direct", "h1", "h2pool"}
    printed = capsys.readouterr().out
    assert "sequential stream TTFT" in printed and "sequential JSON E2E" in printed
    assert "steady stream TTFT" in printed


def test_proxy_overhead_measures_a_baseline_tree_in_the_same_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = Path(__file__).resolve().parents[1]  # this tree as its own baseline (an A/A run)
    argv = ["--quick", "--requests", "4", "--only", "sequential", "--baseline-root", str(root)]
    assert main([*argv, "--out", str(tmp_path)]) == 0
    arms = _arms(tmp_path / "sequential" / "results.json")
    assert arms == {"direct", "h1", "h2pool", "base_h1", "base_h2pool"}
    # one proxy at a time: five processes taking turns per request measure cold caches
    plan = result_format.load(tmp_path / "sequential" / "results.json")["plan"]
    assert plan["load"]["interleave"] == "block"
    assert "h2pool/base" in capsys.readouterr().out


def test_the_saturation_run_is_made_once_per_upstream_transport_asked_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--quick", "--requests", "8", "--concurrency", "4", "--only", "saturation"]
    assert main([*argv, "--upstream", "http1,h2c", "--out", str(tmp_path)]) == 0
    for upstream in ("http1", "h2c"):
        path = tmp_path / upstream / "saturation" / "results.json"
        assert _arms(path) == {"direct", "h1", "h2pool"}
        plan = result_format.load(path)["plan"]
        assert plan["emulator"]["tls"] is False
        prior_knowledge = plan["proxy"]["env"].get("COMPATKIT_HTTP2_PRIOR_KNOWLEDGE")
        assert prior_knowledge == ("on" if upstream == "h2c" else None)
    printed = capsys.readouterr().out
    assert "saturation h2c stream TTFT" in printed and "h2pool/h1" in printed


def test_with_server_both_each_pool_arm_runs_on_each_server_in_one_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--quick", "--requests", "8", "--concurrency", "4", "--only", "saturation"]
    assert main([*argv, "--server", "both", "--out", str(tmp_path)]) == 0
    path = tmp_path / "saturation" / "results.json"
    servers = {"h1_hypercorn", "h1_granian", "h2pool_hypercorn", "h2pool_granian"}
    assert _arms(path) == {"direct", *servers}
    described = {arm["name"]: arm.get("description") for arm in result_format.load(path)["arms"]}
    assert described["h2pool_granian"] == "h2pool on granian"
    printed = capsys.readouterr().out
    assert "h2pool g/h" in printed and "h2pool/h1_granian" in printed

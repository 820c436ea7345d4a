"""Each track's built-in plan, run for real (emulator and proxies as processes), made small.

The plans' own `--quick` sizes are what the gate runs; here they are cut to a few requests per
block (still two ABBA rounds, still warm-up, restarts and the emulator's faults) so the four
runs stay short in CI. The file must validate, every block must have its samples, and the
client must have had no errors of its own: HTTP errors from the proxy are the retry and
scheduler tracks' measurements (the baseline's failures), not the client's.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

import result_format
from loadtests._bench import TRACKS, Plan, run_plan, track_plan

CLIENT_ERRORS = {"connect", "timeout", "protocol", "grammar"}


def small(plan: Plan, requests: int = 8) -> Plan:
    quick = plan.quick_version()
    return dataclasses.replace(
        quick, load=dataclasses.replace(quick.load, requests=requests, warmup=2, rounds=2)
    )


def _run(plan: Plan, out: Path) -> dict[str, Any]:
    return result_format.load(run_plan(plan, out, seed=3))


@pytest.mark.parametrize("track", TRACKS)
def test_a_track_plan_runs_and_writes_a_valid_file(track: str, tmp_path: Path) -> None:
    plan = small(track_plan(track))
    doc = _run(plan, tmp_path)

    assert doc["plan"]["track"] == track and doc["plan"]["seed"] == 3 and doc["plan"]["quick"]
    assert {a["role"] for a in doc["arms"]} == {"baseline", "candidate"}
    assert len(doc["blocks"]) == 2 * plan.load.rounds
    for block in doc["blocks"]:
        assert len(block["samples"]) == plan.load.requests and block["warmup_requests"] == 2
        kinds = {s["error"]["kind"] for s in block["samples"] if s["error"]}
        assert not kinds & CLIENT_ERRORS, block["samples"]
        assert block["resources"]["client_cpu_share"] is not None
        assert block["resources"]["proxy_cpu_s"] is not None  # block interleaving or processes
        assert block["resources"]["upstream_requests"] >= plan.load.requests
    assert doc["environment"]["network"]["mode"] == "loopback"
    assert doc["environment"]["trees"]["this"]["commit"]


def test_the_retry_storm_shows_attempts_per_request_and_the_baselines_failures(
    tmp_path: Path,
) -> None:
    doc = _run(small(track_plan("ff_retry_policy_v2"), requests=12), tmp_path)
    samples = {arm: [s for b in doc["blocks"] if b["arm"] == arm for s in b["samples"]]
               for arm in ("baseline", "candidate")}  # fmt: skip
    assert all(s["attempts"] >= 1 for arm in samples.values() for s in arm)

    def exhausted(arm: str) -> list[dict[str, Any]]:
        return [s for s in samples[arm] if s["error"] and s["error"]["type"] == "overloaded_error"]

    # about a third of the baseline's requests land on the exhausted credential and stay there
    # (none of 24 would happen once in 15 000 runs); the candidate moves them to another one
    assert exhausted("baseline") and not exhausted("candidate")
    assert max(s["attempts"] for s in samples["candidate"]) >= 2  # the storm's retries


def test_flag_arms_interleaved_request_by_request_share_one_group_per_round(tmp_path: Path) -> None:
    plan = small(track_plan("ff_converter_fast_path"))
    plan = dataclasses.replace(plan, load=dataclasses.replace(plan.load, interleave="request"))
    doc = _run(plan, tmp_path)
    groups = {(b["round"], b["group"]) for b in doc["blocks"]}
    assert len(groups) == plan.load.rounds
    for block in doc["blocks"]:  # one process serves both arms: its CPU is nobody's alone
        assert block["resources"]["proxy_cpu_s"] is None
        assert block["intended_rate"] == pytest.approx(plan.load.rate / 2, rel=0.2)


def test_a_baseline_root_run_interleaves_both_proxies_at_once_and_keeps_their_cpu(
    tmp_path: Path,
) -> None:
    root = Path(__file__).resolve().parents[3]  # this tree as its own baseline
    doc = result_format.load(
        run_plan(small(track_plan("ff_converter_fast_path")), tmp_path, seed=3, baseline_root=root)
    )
    plan = small(track_plan("ff_converter_fast_path"))
    by_round: dict[int, list[dict[str, Any]]] = {}
    for block in doc["blocks"]:
        by_round.setdefault(block["round"], []).append(block)
    assert len(by_round) == plan.load.rounds
    for blocks in by_round.values():  # one group per round, both proxies serving it at once
        assert sorted(b["arm"] for b in blocks) == ["baseline", "candidate"]
        assert len({b["group"] for b in blocks}) == 1
        starts = [s["start_s"] for b in blocks for s in b["samples"]]
        for block in blocks:
            own = [s["start_s"] for s in block["samples"]]
            assert min(own) < max(starts) and max(own) > min(starts)  # overlapping in time
    for block in doc["blocks"]:  # each arm is its own process: its CPU is its own
        assert block["resources"]["proxy_cpu_s"] is not None
        assert block["resources"]["proxy_rss_bytes"] is not None
        # each proxy keeps the rate and the requests its ABBA block had, twice as many in all
        assert block["intended_rate"] == pytest.approx(plan.load.rate, rel=0.2)
        assert len(block["samples"]) == 2 * plan.load.requests
        kinds = {s["error"]["kind"] for s in block["samples"] if s["error"]}
        assert not kinds, block["samples"]

"""compat_gate: the bench runner and the judge wired together, on a real emulator and proxy.

The track plans' own runs are what `compatkit gate --quick` does in .ci/run; here a tiny
plan checks the wiring: a HOLD for too few rounds runs the rounds it asks for, and every
run of the plan is judged together.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import pytest

from compat_gate import gate, judge_plan
from loadtests._bench import make_progress, parse_plan
from reports import Verdict, load_policy

TINY = {
    "name": "tiny",
    "seed": 3,
    "emulator": {"tls": False, "scenarios": {"short": {"text_tokens": 8, "chunk_tokens": 4}}},
    "arms": [
        {"name": "off", "role": "baseline", "flags": {"ff_converter_fast_path": False}},
        {"name": "on", "role": "candidate", "flags": {"ff_converter_fast_path": True}},
    ],
    "load": {
        "mode": "closed",
        "concurrency": 2,
        "requests": 16,
        "warmup": 2,
        "rounds": 1,
        "interleave": "block",
        "workloads": [{"workload": "small_chat", "scenario": "short"}],
    },
}


def test_a_hold_for_too_few_rounds_runs_the_rounds_it_asks_for(tmp_path: Path) -> None:
    policy = dataclasses.replace(load_policy().for_track(None), min_rounds=2, resamples=200)
    judgement, notes = judge_plan(
        parse_plan(TINY),
        policy,
        tmp_path,
        quick=False,
        seed=None,
        baseline_root=None,
        progress=make_progress(quiet=True),
        deadline=time.monotonic() + 600,
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run-1", "run-2"]
    assert [s.name for s in judgement.sources] == [
        str(tmp_path / "run-1" / "results.json"),
        str(tmp_path / "run-2" / "results.json"),
    ]
    assert judgement.rounds == 2  # one round from each run, judged together
    assert judgement.decision.reason != "1 paired valid round(s), the policy needs 2 before judging"
    seeds = [
        json.loads((tmp_path / r / "results.json").read_text())["plan"]["seed"]
        for r in ("run-1", "run-2")
    ]
    assert seeds == [3, 4]  # the added round is a fresh draw, not a replay
    assert notes == []


def test_no_time_left_means_no_added_rounds_and_a_note(tmp_path: Path) -> None:
    policy = dataclasses.replace(load_policy().for_track(None), min_rounds=2, resamples=200)
    judgement, notes = judge_plan(
        parse_plan(TINY),
        policy,
        tmp_path,
        quick=False,
        seed=None,
        baseline_root=None,
        progress=make_progress(quiet=True),
        deadline=time.monotonic(),
    )
    assert judgement.verdict is Verdict.HOLD
    assert notes == ["tiny: HOLD asked for 1 more round(s); the time budget had no room for them"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--tracks", "ff_nope"],
            "compatkit gate: --tracks: unknown track ff_nope (all, ff_retry_policy_v2, ",
        ),
        (
            ["--policy", "missing.toml"],
            "compatkit gate: missing.toml: cannot read: No such file or directory",
        ),
        (["--frobnicate"], "unrecognized arguments: --frobnicate"),
    ],
)
def test_bad_usage_exits_2_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert gate([*argv, "--out", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()

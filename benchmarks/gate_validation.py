"""The gate's rates on real runs: false ROLLBACKs of A/A runs, the power to catch a known
slowdown, and each track's expected win in its own scenario.

    flock /tmp/compatkit-bench.lock .venv/bin/python -m benchmarks.gate_validation aa --runs 20
    flock /tmp/compatkit-bench.lock .venv/bin/python -m benchmarks.gate_validation aa --track ff_converter_fast_path
    flock /tmp/compatkit-bench.lock .venv/bin/python -m benchmarks.gate_validation power --added-ms 0.5
    flock /tmp/compatkit-bench.lock .venv/bin/python -m benchmarks.gate_validation power --added-ms 0.2
    flock /tmp/compatkit-bench.lock .venv/bin/python -m benchmarks.gate_validation wins

aa and power run the validation plan below as `compatkit gate --quick` runs it (the same
quick sizes, adaptive rounds, policy and budget per plan): two proxies of this tree, small
chats at 60 requests per second. aa --track runs that track's plan with the baseline's
flags in both arms instead (one proxy, flag arms, as the gate's track runs are). power slows the candidate's proxy only: a sitecustomize
on that proxy's PYTHONPATH wraps compat.to_gemini_request with a busy-wait of --added-ms
(never a product flag), so TTFT grows by that much. wins runs `compatkit gate` on the four
tracks at full size and prints each track's expected win. Each prints one line per run,
the rates with Wilson intervals, the load average before and after, and writes
validation.json to --out. Machine-wide: run it alone, under the bench lock.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from compat_gate import QUICK_BUDGET_S, judge_plan, run_gate
from loadtests._bench import TRACKS, Plan, make_progress, parse_plan, track_plan
from reports import Check, Judgement, Verdict, load_policy, write_reports
from reports.statistics import wilson_interval

DELAY_VARIABLE = "GATE_VALIDATION_DELAY_MS"
SITECUSTOMIZE = f'''"""Added by benchmarks/gate_validation.py: a known slowdown in the candidate's proxy."""
import os
import time

import compat

_DELAY_S = float(os.environ["{DELAY_VARIABLE}"]) / 1000
_convert = compat.to_gemini_request


def _slow_to_gemini_request(*args, **kwargs):
    result = _convert(*args, **kwargs)
    until = time.perf_counter() + _DELAY_S
    while time.perf_counter() < until:
        pass
    return result


compat.to_gemini_request = _slow_to_gemini_request
'''


def validation_plan(candidate_env: dict[str, str]) -> Plan:
    """Small text chats at 60 requests per second; two proxies of this tree, all flags off."""
    return parse_plan(
        {
            "name": "gate_validation",
            "description": "small text chats at 60 requests per second, open loop, "
            "two proxies of this tree",
            "seed": 1,
            "emulator": {"scenarios": {"short": {"text_tokens": 12, "chunk_tokens": 4}}},
            "arms": [
                {"name": "baseline", "role": "baseline", "kind": "process"},
                {"name": "candidate", "role": "candidate", "kind": "process",
                 "env": candidate_env},
            ],
            "load": {
                "mode": "open", "schedule": "poisson", "rate": 60.0, "requests": 600,
                "warmup": 50, "rounds": 6,
                "workloads": [{"workload": "small_chat", "scenario": "short"}],
            },
            "quick": {"requests": 120, "warmup": 20, "rounds": 2},
        },
        source="benchmarks/gate_validation.py",
    )


@dataclass
class Run:
    """One judged run: its verdict and what it saw of TTFT p50."""

    index: int
    verdict: str
    reason: str
    rounds: int
    seconds: float
    ttft_p50: dict[str, float]


def baseline_twice(track: str) -> Plan:
    """A track's plan with the candidate arm running the baseline's flags (A/A in one proxy)."""
    plan = track_plan(track)
    baseline = next(arm for arm in plan.arms if arm.role == "baseline")
    arms = tuple(
        dataclasses.replace(arm, flags=dict(baseline.flags)) if arm.role == "candidate" else arm
        for arm in plan.arms
    )
    return dataclasses.replace(plan, arms=arms)


def repeated(args: argparse.Namespace, added_ms: float) -> list[Run]:
    """`args.runs` gate runs of the validation plan, the candidate slowed by `added_ms`
    (or, for A/A with --track, of that track's plan with the baseline's flags in both arms)."""
    runs = []
    with tempfile.TemporaryDirectory(prefix="gate-validation-") as site:
        env: dict[str, str] = {}
        if added_ms > 0:
            Path(site, "sitecustomize.py").write_text(SITECUSTOMIZE, "utf-8")
            env = {"PYTHONPATH": site, DELAY_VARIABLE: str(added_ms)}
        plan = baseline_twice(args.track) if args.track else validation_plan(env)
        policy = load_policy().for_track(plan.track)
        for index in range(args.runs):
            began = time.monotonic()
            judgement, _ = judge_plan(
                plan, policy, args.out / f"run-{index + 1}", quick=True, seed=1000 + index,
                baseline_root=None, progress=make_progress(sys.stderr, quiet=True),
                deadline=time.monotonic() + args.budget_s,
            )
            run = _run(index, judgement, time.monotonic() - began)
            print(_line(run), flush=True)
            runs.append(run)
    return runs


def wins(args: argparse.Namespace) -> list[dict[str, Any]]:
    """`compatkit gate` on the four tracks; each track's expected win and verdict."""
    report = run_gate(
        TRACKS, load_policy(), args.out, quick=args.quick, seed=None, baseline_root=None,
        progress=make_progress(sys.stderr), budget_s=QUICK_BUDGET_S if args.quick else math.inf,
    )
    write_reports(report, args.out)
    found = []
    for judgement in report.judgements:
        for check in judgement.checks:
            if check.kind == "win":
                found.append(_win(judgement, check))
                print(f"{judgement.name}: {check.id}: {check.verdict.value}: "
                      f"{check.decision.reason} (track {judgement.verdict.value}, "
                      f"{judgement.rounds} rounds)", flush=True)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("what", choices=["aa", "power", "wins"])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--added-ms", type=float, default=0.5, help="power: the slowdown")
    parser.add_argument("--budget-s", type=float, default=60.0,
                        help="aa, power: one run's time budget for added rounds")
    parser.add_argument("--quick", action="store_true", help="wins: the CI sizes")
    parser.add_argument("--track", choices=TRACKS,
                        help="aa: that track's plan with the baseline's flags in both arms "
                        "(default: the validation plan, two proxies of this tree)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    args.out = args.out or Path("reports", "out", f"validation-{args.what}-{stamp}")
    load_before = os.getloadavg()
    began = time.monotonic()
    if args.track and args.what != "aa":
        parser.error("--track is for aa")
    if args.what == "wins":
        results: list[Any] = wins(args)
        summary: dict[str, Any] = {}
    else:
        runs = repeated(args, args.added_ms if args.what == "power" else 0.0)
        results = [run.__dict__ for run in runs]
        summary = _summary(runs)
        for line in _summary_lines(summary):
            print(line)
    load_after = os.getloadavg()
    print(f"load average before {_load(load_before)}, after {_load(load_after)}; "
          f"{time.monotonic() - began:.0f} s")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "validation.json").write_text(json.dumps({
        "what": args.what, "added_ms": args.added_ms if args.what == "power" else None,
        "runs": args.runs, "summary": summary, "results": results,
        "load_average": {"before": load_before, "after": load_after},
    }, indent=1) + "\n", "utf-8")
    return 0


def _run(index: int, judgement: Judgement, seconds: float) -> Run:
    ttft = next(
        (c for c in judgement.checks if (c.metric, c.stat) == ("ttft", "p50")), None
    )
    interval = ttft.interval if ttft else None
    return Run(
        index, judgement.verdict.value, judgement.decision.reason, judgement.rounds, seconds,
        {} if interval is None else {
            "baseline_ms": interval.baseline, "candidate_ms": interval.candidate,
            "ratio": interval.ratio, "low": interval.low, "high": interval.high,
            "difference_ms": interval.difference,
        },
    )


def _win(judgement: Judgement, check: Check) -> dict[str, Any]:
    i = check.interval
    return {
        "track": judgement.name, "check": check.id, "verdict": check.verdict.value,
        "track_verdict": judgement.verdict.value, "rounds": judgement.rounds,
        "baseline": i.baseline, "candidate": i.candidate, "ratio": i.ratio, "low": i.low,
        "high": i.high, "difference": i.difference, "difference_low": i.difference_low,
        "difference_high": i.difference_high, "reason": check.decision.reason,
    }


def _line(run: Run) -> str:
    t = run.ttft_p50
    ttft = (f"TTFT p50 {t['baseline_ms']:.2f} -> {t['candidate_ms']:.2f} ms "
            f"({t['difference_ms']:+.2f} ms, ratio {t['ratio']:.3f} [{t['low']:.3f}, {t['high']:.3f}])"
            if t else "no TTFT")
    return (f"run {run.index + 1}: {run.verdict} after {run.rounds} rounds, {run.seconds:.0f} s; "
            f"{ttft}; {run.reason}")


def _summary(runs: Sequence[Run]) -> dict[str, Any]:
    counts = {v.value: sum(r.verdict == v.value for r in runs) for v in Verdict}
    low, high = wilson_interval(counts["ROLLBACK"], len(runs), 0.95)
    differences = [r.ttft_p50["difference_ms"] for r in runs if r.ttft_p50]
    return {
        "counts": counts,
        "rollback_rate": counts["ROLLBACK"] / len(runs) if runs else math.nan,
        "rollback_rate_interval": [low, high],
        "median_seconds": statistics.median(r.seconds for r in runs) if runs else math.nan,
        "median_rounds": statistics.median(r.rounds for r in runs) if runs else math.nan,
        "median_ttft_p50_difference_ms": statistics.median(differences) if differences else None,
    }


def _summary_lines(summary: dict[str, Any]) -> list[str]:
    counts = summary["counts"]
    low, high = summary["rollback_rate_interval"]
    return [
        f"verdicts: {counts}",
        f"ROLLBACK rate {summary['rollback_rate']:.0%} (95 % Wilson interval {low:.0%} to {high:.0%})",
        f"median run {summary['median_seconds']:.0f} s, {summary['median_rounds']} rounds; median "
        f"TTFT p50 difference {summary['median_ttft_p50_difference_ms']} ms",
    ]


def _load(values: Sequence[float]) -> str:
    return " ".join(f"{v:.2f}" for v in values)


if __name__ == "__main__":
    raise SystemExit(main())

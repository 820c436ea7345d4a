"""The gate's rates on real runs: false ROLLBACKs of A/A runs, the power to catch a known
slowdown, and each track's expected win in its own scenario (issue 12's validation).

    # the lead's bounded run (60 runs in 23.9 minutes on the 2-core machine; docs/gate.md):
    flock /tmp/compatkit-bench.lock .venv/bin/python -m benchmarks.gate_validation rates \
        --runs 20 --added-ms 0.5 0.2 --time-budget-min 27
    flock /tmp/compatkit-bench.lock .venv/bin/python -m benchmarks.gate_validation wins \
        --quick --time-budget-min 8

    # one kind at a time
    ... gate_validation aa --runs 20                      # A/A only
    ... gate_validation aa --track ff_converter_fast_path # A/A on a track's own plan
    ... gate_validation power --added-ms 0.5 --runs 20    # power only
    ... gate_validation power --runs 10 --pool off        # every flag off in both
    ... gate_validation rates --runs 4 --interleave block # ABBA blocks instead of duet
    ... gate_validation wins --tracks ff_http2_pool_tuning,ff_converter_fast_path

rates, aa and power run the validation plan below as `compatkit gate --quick` runs a track
(the same quick sizes, adaptive rounds and policy): two proxies of this tree running at once,
interleaved request by request as `--baseline-root` runs are (`--interleave block`: ABBA
blocks), the flags as shipped (the upstream pool on, the other tracks off; `--pool off`:
every flag off), small chats
at 60 requests per second per proxy (120 requests per arm per quick round in blocks, 240
interleaved, in rounds as long). `--added-ms 0` is an A/A run; a positive value slows the candidate's
proxy only: a sitecustomize on that proxy's PYTHONPATH wraps compat.to_gemini_request with a
busy-wait of that many milliseconds (never a product flag), so TTFT grows by that much.
`rates` runs A/A and every --added-ms in turn (run 1 of each, then run 2 of each, ...), so a
time budget that cuts the run short leaves every kind with as many runs as the others, give
or take one. aa --track runs that track's plan with the baseline's flags in both arms
instead (one proxy, flag arms). wins runs `compatkit gate` on the tracks (all by default;
--quick for the CI sizes) and prints each track's expected win and verdict.

--time-budget-min bounds the whole command: no new run starts when the runs so far say it
would not end in time (rates), and added rounds stop at it (wins; each track's first run
always happens). --budget-s bounds one rates run's added rounds, as a track's share of
--quick's budget does in the gate (170 s / 4 tracks). Each prints one line per run, the rates with 95 % Wilson intervals, the load
average before and after, and writes validation.json to --out. Run it alone, under the bench
lock: it is machine-wide.
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
from server.flags import SHIPPED_ON

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


def validation_plan(
    candidate_env: dict[str, str],
    *,
    interleave: str = "request",
    flags: dict[str, bool] | None = None,
) -> Plan:
    """Small text chats at 60 requests per second per proxy; two proxies of this tree with
    `flags` (none: the shipped defaults), interleaved request by request (both running at once)
    or in ABBA blocks."""
    arm_flags = dict(flags or {})
    # interleaved, both proxies take requests for the whole round: twice the rate and the
    # requests per arm keep each proxy's rate and the round's length (as --baseline-root does)
    twice = 2 if interleave == "request" else 1
    return parse_plan(
        {
            "name": "gate_validation",
            "description": "small text chats at 60 requests per second, open loop, "
            "two proxies of this tree",
            "seed": 1,
            "emulator": {"scenarios": {"short": {"text_tokens": 12, "chunk_tokens": 4}}},
            "arms": [
                {"name": "baseline", "role": "baseline", "kind": "process", "flags": arm_flags},
                {
                    "name": "candidate",
                    "role": "candidate",
                    "kind": "process",
                    "flags": arm_flags,
                    "env": candidate_env,
                },
            ],
            "load": {
                "mode": "open",
                "schedule": "poisson",
                "rate": 60.0 * twice,
                "requests": 600 * twice,
                "warmup": 50 * twice,
                "rounds": 6,
                "interleave": interleave,
                "workloads": [{"workload": "small_chat", "scenario": "short"}],
            },
            "quick": {"requests": 120 * twice, "warmup": 20 * twice, "rounds": 4},
        },
        source="benchmarks/gate_validation.py",
    )


@dataclass
class Run:
    """One judged run: its verdict and what it saw of TTFT p50."""

    added_ms: float
    index: int
    verdict: str
    reason: str
    rounds: int
    seconds: float
    ttft_p50: dict[str, float]
    rollback_checks: list[str] = dataclasses.field(default_factory=list)


def baseline_twice(track: str) -> Plan:
    """A track's plan with the candidate arm running the baseline's flags (A/A in one proxy)."""
    plan = track_plan(track)
    baseline = next(arm for arm in plan.arms if arm.role == "baseline")
    arms = tuple(
        dataclasses.replace(arm, flags=dict(baseline.flags)) if arm.role == "candidate" else arm
        for arm in plan.arms
    )
    return dataclasses.replace(plan, arms=arms)


def rates(
    args: argparse.Namespace, added: Sequence[float], deadline: float
) -> dict[float, list[Run]]:
    """Up to `args.runs` gate runs per slowdown in `added` (0: A/A), in turn, none started
    past `deadline` (when the slowest run so far would end after it)."""
    runs: dict[float, list[Run]] = {ms: [] for ms in added}
    with tempfile.TemporaryDirectory(prefix="gate-validation-") as site:
        Path(site, "sitecustomize.py").write_text(SITECUSTOMIZE, "utf-8")
        plans = {ms: _plan_for(args, site, ms) for ms in added}
        for index in range(args.runs):
            for ms, plan in plans.items():
                longest = max((r.seconds for done in runs.values() for r in done), default=0.0)
                if time.monotonic() + longest > deadline:
                    print(
                        f"the time budget has no room for run {index + 1} of {_kind(ms)}: stopping",
                        flush=True,
                    )
                    return runs
                runs[ms].append(_one_run(args, plan, ms, index))
    return runs


def _plan_for(args: argparse.Namespace, site: str, added_ms: float) -> Plan:
    if args.track:
        return baseline_twice(args.track)
    env = {"PYTHONPATH": site, DELAY_VARIABLE: str(added_ms)} if added_ms > 0 else {}
    flags = {"ff_http2_pool_tuning": args.pool == "on"}
    return validation_plan(env, interleave=args.interleave, flags=flags)


def _one_run(args: argparse.Namespace, plan: Plan, added_ms: float, index: int) -> Run:
    began = time.monotonic()
    judgement, _ = judge_plan(
        plan,
        load_policy().for_track(plan.track),
        args.out / f"{_kind(added_ms).replace(' ', '-').replace('/', '-')}" / f"run-{index + 1}",
        quick=True,
        seed=1000 + index,
        baseline_root=None,
        progress=make_progress(sys.stderr, quiet=True),
        deadline=time.monotonic() + args.budget_s,
    )
    run = _run(added_ms, index, judgement, time.monotonic() - began)
    print(_line(run), flush=True)
    return run


def wins(args: argparse.Namespace, budget_s: float) -> list[dict[str, Any]]:
    """`compatkit gate` on the tracks; each track's expected win and verdict."""
    report = run_gate(
        args.tracks,
        load_policy(),
        args.out,
        quick=args.quick,
        seed=None,
        baseline_root=None,
        progress=make_progress(sys.stderr),
        budget_s=budget_s,
    )
    write_reports(report, args.out)
    found = []
    for judgement in report.judgements:
        for check in judgement.checks:
            if check.kind == "win":
                found.append(_win(judgement, check))
                print(
                    f"{judgement.name}: {check.id}: {check.verdict.value}: "
                    f"{check.decision.reason} (track {judgement.verdict.value}, "
                    f"{judgement.rounds} rounds)",
                    flush=True,
                )
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "what",
        choices=["rates", "aa", "power", "wins"],
        help="rates: A/A and each --added-ms in turn; aa; power; wins",
    )
    parser.add_argument("--runs", type=int, default=20, help="runs of each kind (default 20)")
    parser.add_argument(
        "--added-ms",
        type=float,
        nargs="+",
        default=None,
        help="the candidate's slowdowns (rates: 0.5 0.2; power: 0.5)",
    )
    parser.add_argument(
        "--budget-s",
        type=float,
        default=QUICK_BUDGET_S / len(TRACKS),
        help="rates, aa, power: one run's time budget for added rounds "
        "(default: a track's share of --quick's, %(default).1f s)",
    )
    parser.add_argument(
        "--time-budget-min",
        type=float,
        default=None,
        help="the whole command's budget in minutes (default: none)",
    )
    parser.add_argument(
        "--interleave",
        choices=["request", "block"],
        default="request",
        help="rates, aa, power: the validation plan's two proxies interleaved request by "
        "request, both running at once (default), or in ABBA blocks",
    )
    parser.add_argument(
        "--pool",
        choices=["on", "off"],
        default="on" if "ff_http2_pool_tuning" in SHIPPED_ON else "off",
        help="rates, aa, power: ff_http2_pool_tuning in both arms of the validation plan "
        "(default: as shipped, on; off: a TLS handshake per request)",
    )
    parser.add_argument("--quick", action="store_true", help="wins: the CI sizes")
    parser.add_argument(
        "--tracks", default="all", help=f"wins: all, or some of {', '.join(TRACKS)}"
    )
    parser.add_argument(
        "--track",
        choices=TRACKS,
        help="aa: that track's plan with the baseline's flags in both arms "
        "(default: the validation plan, two proxies of this tree)",
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.track and args.what != "aa":
        parser.error("--track is for aa")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    args.tracks = list(TRACKS) if args.tracks == "all" else args.tracks.split(",")
    if unknown := [t for t in args.tracks if t not in TRACKS]:
        parser.error(f"--tracks: unknown track {', '.join(unknown)}")
    added = {
        "aa": [0.0],
        "power": args.added_ms or [0.5],
        "rates": [0.0, *(args.added_ms or [0.5, 0.2])],
        "wins": [],
    }[args.what]
    if any(ms < 0 for ms in added):
        parser.error("--added-ms must not be negative")
    added = list(dict.fromkeys(added))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    args.out = args.out or Path("reports", "out", f"validation-{args.what}-{stamp}")
    budget_s = math.inf if args.time_budget_min is None else args.time_budget_min * 60
    load_before = os.getloadavg()
    began = time.monotonic()
    summary: dict[str, Any] = {}
    if args.what == "wins":
        results: list[Any] = wins(
            args, QUICK_BUDGET_S if args.quick and budget_s == math.inf else budget_s
        )
    else:
        by_kind = rates(args, added, began + budget_s)
        results = [run.__dict__ for runs in by_kind.values() for run in runs]
        for ms, runs in by_kind.items():
            summary[_kind(ms)] = _summary(runs)
            for line in _summary_lines(_kind(ms), summary[_kind(ms)]):
                print(line)
    load_after = os.getloadavg()
    print(
        f"load average before {_load(load_before)}, after {_load(load_after)}; "
        f"{time.monotonic() - began:.0f} s"
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "validation.json").write_text(
        json.dumps(
            {
                "what": args.what,
                "added_ms": added,
                "runs": args.runs,
                "track": args.track,
                "interleave": args.interleave,
                "pool": args.pool,
                "time_budget_min": args.time_budget_min,
                "summary": summary,
                "results": results,
                "seconds": time.monotonic() - began,
                "load_average": {"before": load_before, "after": load_after},
            },
            indent=1,
        )
        + "\n",
        "utf-8",
    )
    return 0


def _kind(added_ms: float) -> str:
    return "A/A" if added_ms == 0 else f"+{added_ms:g} ms"


def _run(added_ms: float, index: int, judgement: Judgement, seconds: float) -> Run:
    ttft = next((c for c in judgement.checks if (c.metric, c.stat) == ("ttft", "p50")), None)
    interval = ttft.interval if ttft else None
    return Run(
        added_ms,
        index,
        judgement.verdict.value,
        judgement.decision.reason,
        judgement.rounds,
        seconds,
        {}
        if interval is None
        else {
            "baseline_ms": interval.baseline,
            "candidate_ms": interval.candidate,
            "ratio": interval.ratio,
            "low": interval.low,
            "high": interval.high,
            "difference_ms": interval.difference,
        },
        [c.label for c in judgement.checks if c.verdict is Verdict.ROLLBACK],
    )


def _win(judgement: Judgement, check: Check) -> dict[str, Any]:
    i = check.interval
    return {
        "track": judgement.name,
        "check": check.id,
        "verdict": check.verdict.value,
        "track_verdict": judgement.verdict.value,
        "rounds": judgement.rounds,
        "baseline": i.baseline,
        "candidate": i.candidate,
        "ratio": i.ratio,
        "low": i.low,
        "high": i.high,
        "difference": i.difference,
        "difference_low": i.difference_low,
        "difference_high": i.difference_high,
        "reason": check.decision.reason,
    }


def _line(run: Run) -> str:
    t = run.ttft_p50
    ttft = (
        f"TTFT p50 {t['baseline_ms']:.2f} -> {t['candidate_ms']:.2f} ms "
        f"({t['difference_ms']:+.2f} ms, ratio {t['ratio']:.3f} [{t['low']:.3f}, {t['high']:.3f}])"
        if t
        else "no TTFT"
    )
    return (
        f"{_kind(run.added_ms)} run {run.index + 1}: {run.verdict} after {run.rounds} rounds, {run.seconds:.0f} s; "
        f"{ttft}; {run.reason}"
        + (f" ({', '.join(run.rollback_checks)})" if run.rollback_checks else "")
    )


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
        "rollback_checks": {
            label: sum(label in r.rollback_checks for r in runs)
            for label in sorted({label for r in runs for label in r.rollback_checks})
        },
    }


def _summary_lines(kind: str, summary: dict[str, Any]) -> list[str]:
    counts = summary["counts"]
    low, high = summary["rollback_rate_interval"]
    return [
        f"{kind}: {sum(counts.values())} runs, verdicts {counts}",
        f"{kind}: ROLLBACK rate {summary['rollback_rate']:.0%} (95 % Wilson interval "
        f"{low:.0%} to {high:.0%})",
        f"{kind}: median run {summary['median_seconds']:.0f} s, {summary['median_rounds']} rounds; median "
        f"TTFT p50 difference {summary['median_ttft_p50_difference_ms']} ms",
        f"{kind}: runs in which each check called for ROLLBACK: {summary['rollback_checks'] or 'none'}",
    ]


def _load(values: Sequence[float]) -> str:
    return " ".join(f"{v:.2f}" for v in values)


if __name__ == "__main__":
    raise SystemExit(main())

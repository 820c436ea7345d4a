"""`compatkit gate`: the CI latency gate in one command (the bench runner, then the judge).

Operations
    gate(argv, *, prog="compatkit gate") -> int
                    exit 0 PROMOTE, 1 ROLLBACK, 3 HOLD, 2 bad usage or a run that cannot go on
    run_gate(tracks, book, out, *, quick, seed, baseline_root, progress, budget_s) -> Report
                    every track's plan run and judged, in one report
    judge_plan(plan, policy, out, *, quick, seed, baseline_root, progress, deadline)
        -> (Judgement, notes)
                    one plan: run, judge, and on HOLD run the rounds the evidence asks for

Plan
    The wiring of two parts that never import each other (docs/design.md): `loadtests._bench`
    writes a result file per run, `reports` reads result files. Per track: run the track's
    plan (flag off = baseline, on = candidate; or this tree against --baseline-root, both
    with the flag on) and judge it with the track's policy. On HOLD, run as many more rounds
    as the judgement suggests (a new seed, at most the policy's max_extra_rounds in all, and
    never past the track's deadline: with --quick, the tracks share three minutes, each
    getting an equal part of what is left) and judge every run of the track together. Then one set of reports and the worst verdict as exit status.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from loadtests._bench import Plan, Progress
    from reports import Judgement, Policy, PolicyBook, Report

QUICK_BUDGET_S = 170.0  # --quick: all four tracks within three minutes on a 2-core machine


def gate(argv: Sequence[str], *, prog: str = "compatkit gate") -> int:
    """Parse the command line, run the gate, write the reports, return the exit status."""
    from loadtests._bench import TRACKS, BenchError, PlanError, make_progress
    from reports import PolicyError, load_policy, write_reports
    from reports.render import summary_markdown

    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run each track's benchmark (flag off against on, or this tree against "
        "--baseline-root) and judge it: exit 0 PROMOTE, 1 ROLLBACK, 3 HOLD (undecided), "
        "2 bad usage or a run that could not go on. docs/gate.md explains it all.",
    )
    parser.add_argument("--tracks", default="all", help=f"all, or some of: {', '.join(TRACKS)}")
    parser.add_argument(
        "--baseline-root",
        metavar="DIR",
        help="judge this tree against the compatkit tree in DIR (a code change)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="the plans' CI sizes: all four tracks in about three minutes",
    )
    parser.add_argument(
        "--out", metavar="DIR", help="reports and result files (default: reports/out/<UTC stamp>/)"
    )
    parser.add_argument("--policy", metavar="FILE", help="tolerances and expected wins")
    parser.add_argument("--seed", type=int, help="the runs' seed (default: each plan's own)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 2
    tracks = list(TRACKS) if args.tracks == "all" else [t.strip() for t in args.tracks.split(",")]
    unknown = [t for t in tracks if t not in TRACKS]
    if unknown or not tracks:
        print(
            f"{prog}: --tracks: unknown track {', '.join(unknown) or '(none)'} "
            f"(all, {', '.join(TRACKS)})",
            file=sys.stderr,
        )
        return 2
    out = Path(args.out) if args.out else Path("reports", "out", _stamp())
    try:
        report = run_gate(
            tracks,
            load_policy(args.policy),
            out,
            quick=args.quick,
            seed=args.seed,
            baseline_root=args.baseline_root,
            progress=make_progress(sys.stderr),
            budget_s=QUICK_BUDGET_S if args.quick else math.inf,
        )
    except (BenchError, PlanError, PolicyError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    report.command = [prog, *argv]
    directory = write_reports(report, out)
    sys.stdout.write(summary_markdown(report))
    sys.stdout.write(
        f"\n{report.headline} (exit code {report.exit_code}); reports in {directory}/\n"
    )
    return report.exit_code


def run_gate(
    tracks: Sequence[str],
    book: PolicyBook,
    out: Path,
    *,
    quick: bool,
    seed: int | None,
    baseline_root: str | None,
    progress: Progress,
    budget_s: float,
) -> Report:
    """Run and judge every track's plan; the report's exit_code is the gate's verdict."""
    from loadtests._bench import track_plan
    from reports import Report

    end = time.monotonic() + budget_s
    judgements, notes = [], []
    for index, track in enumerate(tracks):
        # each track may spend on added rounds its share of what the budget has left
        share = (end - time.monotonic()) / (len(tracks) - index)
        judgement, track_notes = judge_plan(
            track_plan(track),
            book.for_track(track),
            out / track,
            quick=quick,
            seed=seed,
            baseline_root=baseline_root,
            progress=progress,
            deadline=time.monotonic() + share,
        )
        judgements.append(judgement)
        notes += track_notes
    return Report("compatkit gate", judgements, notes=notes)


def judge_plan(
    plan: Plan,
    policy: Policy,
    out: Path,
    *,
    quick: bool,
    seed: int | None,
    baseline_root: str | None,
    progress: Progress,
    deadline: float,
) -> tuple[Judgement, list[str]]:
    """Run `plan`, judge it, and while it HOLDs run the rounds it asks for (within budget)."""
    from loadtests._bench import run_plan
    from reports import judge, load_sources

    paths: list[Path] = []
    added = 0
    notes: list[str] = []
    while True:
        began = time.monotonic()
        paths.append(
            run_plan(
                plan,
                out / f"run-{len(paths) + 1}",
                quick=quick,
                seed=(plan.seed if seed is None else seed) + len(paths),
                baseline_root=baseline_root,
                progress=progress,
            )
        )
        judgement = judge(load_sources(paths), policy, name=plan.name)
        more = _rounds_asked(judgement, policy.max_extra_rounds - added)
        if more == 0:
            return judgement, notes
        per_round = (time.monotonic() - began) / (
            plan.quick_version() if quick else plan
        ).load.rounds
        if time.monotonic() + more * per_round > deadline:
            notes.append(
                f"{plan.name}: HOLD asked for {more} more round(s); the time budget "
                "had no room for them"
            )
            return judgement, notes
        progress.note(f"{plan.name}: HOLD after {judgement.rounds} round(s): {more} more")
        plan = _with_rounds(plan.quick_version() if quick else plan, more)
        added += more


def _rounds_asked(judgement: Judgement, budget: int) -> int:
    """The rounds a HOLD asks for, when the policy's budget can pay for them; else 0."""
    from reports import Verdict

    needed = judgement.decision.extra_rounds
    if judgement.verdict is not Verdict.HOLD or not math.isfinite(needed):
        return 0
    wanted = max(1, math.ceil(needed))
    return wanted if wanted <= budget else 0


def _with_rounds(plan: Plan, rounds: int) -> Plan:
    return dataclasses.replace(plan, load=dataclasses.replace(plan.load, rounds=rounds))


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")

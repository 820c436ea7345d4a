"""The commands `rollout-guard` and `assert-latency`, and the reports' files.

Operations
    rollout_guard(argv, *, prog="rollout-guard") -> int     exit 0 PROMOTE, 1 ROLLBACK, 3 HOLD,
                                                            2 bad usage or an invalid input file
    assert_latency(argv, *, prog="assert-latency") -> int   exit 0 all objectives met, 1 one
                                                            missed, 2 bad usage or input
    rollout_guard_main() / assert_latency_main()            the console scripts
    write_reports(report, out_dir=None) -> Path             summary.md, report.html, junit.xml,
                                                            verdict.json (default directory
                                                            reports/out/<UTC stamp>/), and the
                                                            summary appended to
                                                            $GITHUB_STEP_SUMMARY when it is set
    load_sources(paths) -> list[Source]                     result files, validated

Goals
    The only module of `reports` that touches files, the environment or the terminal. Every
    input error is one line on stderr naming the file and the field (or the objective, or
    the policy key) and exit code 2; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

import result_format
from reports.assert_latency import ObjectiveError, evaluate, parse_objective
from reports.measurements import ArmError, Source
from reports.policy import PolicyError, load_policy
from reports.render import junit_xml, report_html, summary_markdown, verdict_json
from reports.report import Report
from reports.rollout_guard import judge

USAGE_ERROR = 2
_INPUT_ERRORS = (result_format.ResultFormatError, PolicyError, ArmError, ObjectiveError)


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors as one line and exit code 2, returned instead of raised."""

    def error(self, message: str) -> NoReturn:
        raise SystemExit(_usage(self.prog, message))

    def parse(self, argv: Sequence[str]) -> argparse.Namespace | int:
        """The arguments, or the exit code when parsing ended the command (--help, an error)."""
        try:
            return self.parse_args(argv)
        except SystemExit as exit_:
            return exit_.code if isinstance(exit_.code, int) else USAGE_ERROR


def rollout_guard(argv: Sequence[str], *, prog: str = "rollout-guard") -> int:
    """Judge a candidate arm against a baseline arm; write the reports; exit with the verdict."""
    parser = _Parser(
        prog=prog,
        description="Judge the candidate arm of a benchmark result file against its baseline "
        "arm: PROMOTE (exit 0), ROLLBACK (1), HOLD (3: not enough evidence either way).",
    )
    parser.add_argument(
        "results",
        nargs="+",
        metavar="RESULTS.json",
        help="a result file with both arms, or two: the baseline's, then the candidate's",
    )
    parser.add_argument(
        "--policy",
        metavar="POLICY.toml",
        help="tolerances and expected wins (default: the embedded policy; docs/gate.md)",
    )
    parser.add_argument(
        "--track", help="the policy's [tracks.NAME] to use (default: the plan's track)"
    )
    parser.add_argument("--baseline", metavar="ARM", help="the baseline arm's name (default: role)")
    parser.add_argument(
        "--candidate", metavar="ARM", help="the candidate arm's name (default: role)"
    )
    parser.add_argument(
        "--out", metavar="DIR", help="where the reports go (default: reports/out/<UTC stamp>/)"
    )
    args = parser.parse(argv)
    if isinstance(args, int):
        return args
    if len(args.results) > 2:
        return _usage(prog, "give one result file, or two (the baseline's, then the candidate's)")
    try:
        book = load_policy(args.policy)
        sources = load_sources(args.results)
        track = args.track or sources[0].document["plan"].get("track")
        judgement = judge(
            sources,
            book.for_track(track),
            baseline=args.baseline,
            candidate=args.candidate,
            per_arm_files=len(sources) == 2,
        )
    except _INPUT_ERRORS as exc:
        return _input_error(prog, exc)
    return _finish(Report(prog, [judgement], command=[prog, *argv]), args.out, prog)


def assert_latency(argv: Sequence[str], *, prog: str = "assert-latency") -> int:
    """Check absolute objectives on arms of a result file; write the reports; exit 0 or 1."""
    parser = _Parser(
        prog=prog,
        description="Check service-level objectives on arms of a benchmark result file: "
        "exit 0 when all are met, 1 when one is missed.",
        epilog="objective: ARM.METRIC[.STAT] OP VALUE, e.g. 'candidate.ttft.p50 <= 5ms', "
        "'candidate.error_rate <= 0.1%%', 'baseline.throughput >= 40/s' (docs/gate.md)",
    )
    parser.add_argument("results", metavar="RESULTS.json")
    parser.add_argument(
        "--slo",
        action="append",
        required=True,
        metavar="OBJECTIVE",
        help="an objective; repeat for several",
    )
    parser.add_argument(
        "--service-time",
        action="store_true",
        help="open-loop latencies from the actual send, not the intended one",
    )
    parser.add_argument(
        "--out", metavar="DIR", help="where the reports go (default: reports/out/<UTC stamp>/)"
    )
    args = parser.parse(argv)
    if isinstance(args, int):
        return args
    try:
        objectives = [parse_objective(text) for text in args.slo]
        [source] = load_sources([args.results])
        outcomes, notes = evaluate(source, objectives, coordinated_omission=not args.service_time)
    except _INPUT_ERRORS as exc:
        return _input_error(prog, exc)
    return _finish(
        Report(prog, outcomes=outcomes, notes=notes, command=[prog, *argv]), args.out, prog
    )


def rollout_guard_main() -> int:
    return rollout_guard(sys.argv[1:])


def assert_latency_main() -> int:
    return assert_latency(sys.argv[1:])


def load_sources(paths: Sequence[str | Path]) -> list[Source]:
    """Read and validate result files (ResultFormatError names the file and field)."""
    return [Source(str(path), result_format.load(path)) for path in paths]


def write_reports(report: Report, out_dir: str | Path | None = None) -> Path:
    """Write the four reports; append the summary to $GITHUB_STEP_SUMMARY when it is set."""
    directory = Path(out_dir) if out_dir is not None else _default_directory()
    directory.mkdir(parents=True, exist_ok=True)
    summary = summary_markdown(report)
    (directory / "summary.md").write_text(summary, "utf-8")
    (directory / "report.html").write_text(report_html(report), "utf-8")
    (directory / "junit.xml").write_text(junit_xml(report), "utf-8")
    (directory / "verdict.json").write_text(
        json.dumps(verdict_json(report), indent=1, ensure_ascii=False, allow_nan=False) + "\n",
        "utf-8",
    )
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as handle:
            handle.write(summary + "\n")
    return directory


def _default_directory() -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    directory = Path("reports") / "out" / stamp
    suffix = 1
    while directory.exists():
        suffix += 1
        directory = Path("reports") / "out" / f"{stamp}-{suffix}"
    return directory


def _finish(report: Report, out_dir: str | None, prog: str) -> int:
    try:
        directory = write_reports(report, out_dir)
    except OSError as exc:
        sys.stderr.write(f"{prog}: cannot write the reports to {exc.filename}: {exc.strerror}\n")
        return USAGE_ERROR
    sys.stdout.write(summary_markdown(report))
    sys.stdout.write(
        f"\n{report.headline} (exit code {report.exit_code}); reports in {directory}/\n"
    )
    return report.exit_code


def _usage(prog: str, message: str) -> int:
    sys.stderr.write(f"{prog}: {message} (see --help)\n")
    return USAGE_ERROR


def _input_error(prog: str, exc: Exception) -> int:
    sys.stderr.write(f"{prog}: {exc}\n")
    return USAGE_ERROR

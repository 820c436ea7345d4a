"""`compatkit bench`: run a plan, a track's built-in plan, or two URLs; write results.json.

    compatkit bench --plan PLAN.toml --out DIR [--quick] [--seed N]
    compatkit bench --track ff_http2_pool_tuning --out DIR [--baseline-root DIR]
    compatkit bench --baseline-url URL --candidate-url URL --api-key KEY --out DIR [--plan P]
    compatkit bench --list-tracks

Exit status: 0 when the result file was written (INCONCLUSIVE blocks included: the gate
judges them), 2 with a one-line reason for bad input or a run that could not go on (a
malformed plan, a server that would not start, a URL nobody answers), 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import result_format
from loadtests._bench._errors import BenchError
from loadtests._bench._plan import TRACKS, Plan, PlanError, load_plan, parse_plan, track_plan
from loadtests._bench._progress import make_progress
from loadtests._bench._summary import summary

__all__ = ["main"]

_URL_PLAN = {
    "name": "url_arms",
    "description": "two running proxies, black box: small streamed chats, open loop",
    "arms": [
        {"name": "baseline", "role": "baseline", "kind": "url", "url": "http://placeholder"},
        {"name": "candidate", "role": "candidate", "kind": "url", "url": "http://placeholder"},
    ],
    "load": {"mode": "open", "rate": 10.0, "requests": 100, "warmup": 10, "rounds": 4,
             "workloads": [{"workload": "small_chat"}]},
    "quick": {"requests": 20, "warmup": 4, "rounds": 2},
}  # fmt: skip


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"compatkit bench: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="compatkit bench",
        description="Open-loop A/B benchmark of Anthropic-compatible proxies; writes results.json.",
    )
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--plan", type=Path, help="a plan file (TOML; docs/bench.md)")
    what.add_argument("--track", choices=TRACKS, metavar="TRACK",
                      help=f"a track's built-in plan: {', '.join(TRACKS)}")  # fmt: skip
    what.add_argument("--list-tracks", action="store_true", help="list the built-in plans")
    parser.add_argument("--out", type=Path, help="where results.json goes (created)")
    parser.add_argument("--quick", action="store_true", help="the plan's [quick] sizes (CI)")
    parser.add_argument("--seed", type=int, help="replace the plan's seed")
    parser.add_argument("--baseline-root", type=Path,
                        help="compare this tree's proxy against the one of DIR (process arms)")  # fmt: skip
    parser.add_argument("--baseline-url", help="a running proxy: the baseline arm")
    parser.add_argument("--candidate-url", help="a running proxy: the candidate arm")
    parser.add_argument("--api-key", default="", help="the key the URL arms expect")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.list_tracks:
        for name in TRACKS:
            print(f"{name:<36} {track_plan(name).description}")
        return 0
    try:
        plan = _plan(args)
        from loadtests._bench import run_plan

        path = run_plan(
            plan,
            args.out,
            quick=args.quick,
            seed=args.seed,
            baseline_root=args.baseline_root,
            progress=make_progress(sys.stderr, quiet=args.quiet),
            command=["compatkit", "bench", *(argv if argv is not None else sys.argv[1:])],
        )
    except (PlanError, BenchError, result_format.ResultFormatError) as exc:
        print(f"compatkit bench: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("compatkit bench: interrupted; every server it started was stopped", file=sys.stderr)
        return 130
    print(summary(result_format.load(path), path))
    return 0


def _plan(args: argparse.Namespace) -> Plan:
    if args.out is None:
        raise PlanError("--out DIR is required (where results.json goes)")
    urls = (args.baseline_url, args.candidate_url)
    if any(urls) and not all(urls):
        raise PlanError("--baseline-url and --candidate-url go together")
    if all(urls) and args.baseline_root is not None:
        raise PlanError(
            "--baseline-root compares trees; URL arms compare running proxies: pick one"
        )
    if args.plan is not None:
        plan = load_plan(args.plan)
    elif args.track is not None:
        plan = track_plan(args.track)
    elif all(urls):
        plan = parse_plan(_URL_PLAN, source="the URL plan")
    else:
        raise PlanError(
            "say what to run: --plan FILE, --track NAME, or --baseline-url/--candidate-url"
        )
    if all(urls):
        plan = plan.with_urls(args.baseline_url, args.candidate_url, args.api_key)
    return plan

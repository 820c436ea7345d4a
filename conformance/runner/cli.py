"""`compatkit conformance`: grade a Claude-compatible proxy case by case, and write the reports.

    compatkit conformance --proxy URL [--proxy-key KEY] --upstream-flavor gemini-api|code-assist
                          [--emulator URL | --emulator-port N] [--cases ID,...] [--level MUST]
                          [--fuzz N] [--out DIR]
    compatkit conformance --self [--upstream-flavor F]     # our own proxy, both flavours (CI)
    compatkit conformance --setup-only --out DIR [--emulator-port N]   # credentials, then exit
    compatkit conformance --list                            # the catalogue
    compatkit conformance --replay FILE --proxy URL ...     # replay one saved fuzz example

Exit status: 0 when every MUST case passed (and no fuzz example failed), 1 otherwise, 2 for a
usage error (a one-line reason on stderr).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import httpx

from conformance.runner.catalogue import (
    FLAVORS,
    LEVELS,
    Case,
    CatalogueError,
    in_run_order,
    load_catalogue,
    select,
)
from conformance.runner.client import Target
from conformance.runner.results import CaseResult, Outcome, RunResult
from conformance.runner.run import Runner
from conformance.runner.upstream import EmulatorLink, UpstreamSetup, started_emulator

DEFAULT_OUT = "conformance-report"


class UsageError(Exception):
    """A bad command line; the message is the one line printed."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="compatkit conformance",
        description="Grade a Claude-compatible proxy in front of Gemini, case by case.",
    )
    parser.add_argument("--proxy", help="base URL of the proxy under test")
    parser.add_argument(
        "--proxy-key", help="the key clients send to the proxy (auth cases need it)"
    )
    parser.add_argument("--upstream-flavor", choices=FLAVORS, help="the proxy's upstream")
    parser.add_argument("--emulator", help="an emulator already running (default: start one)")
    parser.add_argument("--emulator-port", type=int, default=0, help="port of the started emulator")
    parser.add_argument("--cases", help="case ids or prefixes (a.b.*), comma separated")
    parser.add_argument("--level", choices=LEVELS, help="only cases of this level")
    parser.add_argument("--fuzz", type=int, default=0, metavar="N", help="N generated requests")
    parser.add_argument("--fuzz-seconds", type=float, default=60.0, help="time bound of --fuzz")
    parser.add_argument("--fuzz-seed", type=int, help="draw the same examples every run")
    parser.add_argument("--out", default=DEFAULT_OUT, help="report folder")
    parser.add_argument("--wait", type=float, default=60.0, help="seconds to wait for the proxy")
    parser.add_argument(
        "--self", dest="self_test", action="store_true", help="grade compatkit serve"
    )
    parser.add_argument("--setup-only", action="store_true", help="write credentials, print setup")
    parser.add_argument("--list", action="store_true", help="print the case catalogue")
    parser.add_argument("--replay", help="a saved fuzz example to send again")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _dispatch(args)
    except (UsageError, CatalogueError) as exc:
        print(f"compatkit conformance: {exc}", file=sys.stderr)
        return 2


def _dispatch(args: argparse.Namespace) -> int:
    if args.list:
        return _list(args)
    out = Path(args.out)
    if args.setup_only:
        return _setup_only(args, out)
    if args.self_test:
        if args.proxy or args.emulator:
            raise UsageError("--self starts its own emulator and proxy: no --proxy or --emulator")
        return _self_test(args, out)
    if not args.proxy or not args.upstream_flavor:
        raise UsageError("give --proxy URL and --upstream-flavor (or --self)")
    if args.replay:
        return _replay(args, out)
    return _grade_external(args, out)


def _list(args: argparse.Namespace) -> int:
    cases = select(load_catalogue(), ids=_ids(args), level=args.level, flavor=args.upstream_flavor)
    for case in cases:
        print(f"{case.id:48} {case.level:6} {case.section:14} {case.description}")
    print(f"{len(cases)} cases")
    return 0


def _setup_only(args: argparse.Namespace, out: Path) -> int:
    port = args.emulator_port or 8089
    setup = UpstreamSetup.create(out / "credentials", args.emulator or f"http://127.0.0.1:{port}")
    for flavor in FLAVORS:
        print(f"[{flavor}]\n{setup.instructions(flavor)}\n")
    return 0


@contextlib.contextmanager
def _emulator(args: argparse.Namespace, out: Path) -> Iterator[tuple[EmulatorLink, int]]:
    """The emulator to grade against, and the record number the run's own records start after."""
    if args.emulator:
        link = EmulatorLink(args.emulator)
        try:
            link.wait_ready()
            yield link, link.last_seq()
        finally:
            link.close()
        return
    with started_emulator(out / "emulator", port=args.emulator_port) as link:
        yield link, 0


def _grade_external(args: argparse.Namespace, out: Path) -> int:
    (out / "emulator").mkdir(parents=True, exist_ok=True)
    with _emulator(args, out) as (link, since):
        setup = UpstreamSetup.create(out / "credentials", link.url)
        print(f"emulator: {link.url}\nconfigure the proxy under test with:")
        print(setup.instructions(args.upstream_flavor), flush=True)
        _wait_for_proxy(args.proxy, args.wait)
        target = Target(args.proxy.rstrip("/"), args.proxy_key, args.upstream_flavor)
        run = grade(target, link, args, since)
    return _finish([run], out)


def _self_test(args: argparse.Namespace, out: Path) -> int:
    from conformance.runner.self_target import started_proxy

    runs = []
    for flavor in [args.upstream_flavor] if args.upstream_flavor else list(FLAVORS):
        folder = out / flavor
        folder.mkdir(parents=True, exist_ok=True)
        with started_emulator(folder) as link:
            setup = UpstreamSetup.create(folder / "credentials", link.url)
            with started_proxy(flavor, setup, folder) as target:
                runs.append(grade(target, link, args, 0, label=f"compatkit serve ({flavor})"))
    return _finish(runs, out)


def grade(
    target: Target, link: EmulatorLink, args: argparse.Namespace, since: int, label: str = ""
) -> RunResult:
    """Run the selected cases (and fuzz, if asked) against `target`."""
    cases = in_run_order(
        select(load_catalogue(), ids=_ids(args), level=args.level, flavor=target.flavor)
    )
    if not cases:
        raise UsageError("no case matches --cases / --level for this flavour")
    started = time.monotonic()
    run = RunResult(
        label or target.url,
        target.flavor,
        datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    )
    runner = Runner(target, link, session_since=since)
    try:
        with _progress(len(cases), target.flavor) as advance:
            run.results = runner.run(cases, progress=advance)
        if args.fuzz:
            from conformance.runner.fuzz import fuzz

            fuzz(
                runner, run, args.fuzz, args.fuzz_seconds, Path(args.out), fuzz_seed=args.fuzz_seed
            )
    finally:
        runner.close()
    run.seconds = time.monotonic() - started
    return run


@contextlib.contextmanager
def _progress(total: int, flavor: str) -> Iterator[Callable[[Case, CaseResult], None]]:
    """A rich progress bar on a terminal; a line per non-passing case otherwise (CI logs)."""
    if sys.stderr.isatty():
        from rich.progress import Progress

        with Progress(transient=True) as progress:
            task = progress.add_task(f"conformance {flavor}", total=total)

            def advance(case: Case, result: CaseResult) -> None:
                progress.advance(task)

            yield advance
        return

    def report(case: Case, result: CaseResult) -> None:
        if result.outcome in {Outcome.FAIL, Outcome.NON_STRICT}:
            print(f"{flavor}: {result.outcome.value}: {result.case.id}", file=sys.stderr)

    yield report


def _finish(runs: list[RunResult], out: Path) -> int:
    from conformance.runner.report import write_reports

    paths = write_reports(runs, out)
    for run in runs:
        summary = run.summary()
        outcomes = ", ".join(f"{n} {o}" for o, n in summary["outcomes"].items() if n)
        print(
            f"{run.flavor}: MUST {summary['must_passed']}/{summary['must_total']} passed; "
            f"{outcomes}; {run.seconds:.1f} s"
        )
        for result in run.results:
            if result.outcome == Outcome.FAIL:
                failed = "; ".join(
                    f"{c.name}: {c.message[:160]}"
                    for c in result.failed_checks
                    if c.level == "MUST"
                )
                print(f"  FAIL {result.case.id}: {failed}")
        for failure in run.fuzz_failures:
            print(f"  FUZZ {failure.problem[:200]}\n       replay: {failure.replay_command}")
    print("reports: " + ", ".join(str(p) for p in paths.values()))
    return 0 if all(run.passed for run in runs) else 1


def _replay(args: argparse.Namespace, out: Path) -> int:
    from conformance.runner.fuzz import replay

    example = json.loads(Path(args.replay).read_text())
    with _emulator(args, out) as (link, since):
        target = Target(args.proxy.rstrip("/"), args.proxy_key, args.upstream_flavor)
        problems = replay(target, link, example, since)
    for problem in problems:
        print(problem)
    print("replayed: " + ("the problem is still there" if problems else "no problem found"))
    return 1 if problems else 0


def _wait_for_proxy(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            httpx.get(url.rstrip("/") + "/v1/models", timeout=5)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise UsageError(
                    f"the proxy at {url} does not answer (waited {seconds:.0f} s)"
                ) from None
            time.sleep(0.25)


def _ids(args: argparse.Namespace) -> list[str] | None:
    return [part.strip() for part in args.cases.split(",") if part.strip()] if args.cases else None

"""The open-loop A/B benchmark runner behind `compatkit bench`: plans in, results.json out.

Operations (the API `compatkit gate` and scripts use)
    run_plan(plan, out_dir, *, quick=False, seed=None, baseline_root=None, progress=None,
             command=()) -> Path
                        run a Plan, write out_dir/results.json (result format version 1,
                        validated), return its path; BenchError (one line) when the run cannot
                        go on; blocks beyond their limits are written INCONCLUSIVE, not raised
    await execute(plan, out_dir, progress=..., command=()) -> Path
                        the same inside a running event loop (no quick/seed/root handling)
    track_plan(name) -> Plan            the built-in plan of a track (TRACKS), as TOML data
    load_plan(path) -> Plan / parse_plan(table, source=) -> Plan
    Plan.quick_version() / .with_seed(n) / .with_baseline_root(dir) / .with_urls(b, c, key)
    summary(doc, path) -> str           the short table `compatkit bench` prints
    make_progress(stream, quiet=False) -> Progress      rich on a terminal, plain lines else
    PlanError, BenchError               both one-line, both mean exit status 2 on the CLI

Example (what the gate does per track):

    from loadtests._bench import run_plan, track_plan
    path = run_plan(track_plan("ff_http2_pool_tuning"), "out/pool", quick=True, seed=7)

Layout: plans (_plan, tracks/*.toml), schedules (_schedule), the measuring client (_http),
sending a block (_drive), the servers (_processes, _emulator, _network), validity
(_validity), progress and summary, the run (_runner), the command line (_cli); the
environment a result file records is loadtests._common._environment (shared with Locust). Every module is `_`-named so `locust -f loadtests` never collects it.
This package never imports `server`: it starts proxies as processes and talks HTTP.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from loadtests._bench._errors import BenchError
from loadtests._bench._plan import (
    TRACKS,
    Arm,
    Plan,
    PlanError,
    load_plan,
    parse_plan,
    track_plan,
)
from loadtests._bench._progress import Progress, Silent, make_progress
from loadtests._bench._runner import execute
from loadtests._bench._summary import summary

__all__ = [
    "TRACKS",
    "Arm",
    "BenchError",
    "Plan",
    "PlanError",
    "Progress",
    "execute",
    "load_plan",
    "make_progress",
    "parse_plan",
    "run_plan",
    "summary",
    "track_plan",
]


def run_plan(
    plan: Plan,
    out_dir: str | Path,
    *,
    quick: bool = False,
    seed: int | None = None,
    baseline_root: str | Path | None = None,
    progress: Progress | None = None,
    command: Sequence[str] = (),
) -> Path:
    """Run `plan` (sized for CI with `quick`; against the tree `baseline_root` as process
    arms when given) and return the path of the results.json written in `out_dir`."""
    if quick:
        plan = plan.quick_version()
    if seed is not None:
        plan = plan.with_seed(seed)
    if baseline_root is not None:
        plan = plan.with_baseline_root(Path(baseline_root))
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        loop_factory = None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(
            execute(plan, Path(out_dir), progress=progress or Silent(), command=command)
        )

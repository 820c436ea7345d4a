"""The event listeners that make `locust -f loadtests` compatkit's: options, samples, the end.

Operations
    install(events)             register the listeners below on Locust's events (a locustfile
                                calls it once, at import: that is how Locust takes listeners)
    run_of(environment) -> RunLog   the run's sample log (made on first use)

Listeners
    init_command_line_parser    compatkit's options (loadtests/_locust/_options.py)
    init                        read and check the options (a bad one: one line, exit 2);
                                apply --compatkit-mix to the user classes' weights; then,
                                for this environment: spawning_complete (the peak user
                                count, for the result file), and shipping the samples
                                worker -> master (report_to_master / worker_report)
    test_start                  a new sample log; the options read again (workers get the
                                master's only then; the web UI may have changed them)
    quitting                    on the master (or a local run): write --compatkit-results,
                                check --compatkit-slo with `compatkit assert-latency` on it
                                (a missed objective: exit status 3; a bad one: 2)

Exit status of a headless run: 3 when an objective is missed, 2 for a bad option or
objective, else Locust's own (`--exit-code-on-error`, 1 by default, when any request failed).
"""

from __future__ import annotations

import logging
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from locust.runners import MasterRunner, WorkerRunner

import result_format
from loadtests._locust._options import DEFAULT_HOST, Settings, SettingsError, add_options
from loadtests._locust._run import RunLog

__all__ = ["SLO_MISSED", "install", "run_of"]

SLO_MISSED = 3
BAD_INPUT = 2
_SAMPLES_KEY = "compatkit_samples"
_SLO_TIMEOUT_S = 300
logger = logging.getLogger("compatkit")


def install(events: Any) -> None:
    """Register compatkit's listeners on Locust's `events`."""
    events.init_command_line_parser.add_listener(add_options)
    events.init.add_listener(_on_init)
    events.test_start.add_listener(_on_test_start)
    events.quitting.add_listener(_on_quitting)


def run_of(environment: Any) -> RunLog:
    """The RunLog of `environment`."""
    run = getattr(environment, "compatkit_run", None)
    if run is None:
        run = RunLog(Settings.of(environment))
        environment.compatkit_run = run
    return run


def _on_init(environment: Any, runner: Any = None, **_: Any) -> None:
    try:
        run = run_of(environment)
    except SettingsError as exc:
        sys.stderr.write(f"locust -f loadtests: {exc}\n")
        sys.exit(BAD_INPUT)
    _apply_mix(environment, run.settings.mix)

    def count(user_count: int, **_: Any) -> None:
        run.saw_users(user_count)

    environment.events.spawning_complete.add_listener(count)
    if isinstance(runner, WorkerRunner):

        def ship(client_id: str, data: dict[str, Any]) -> None:
            data[_SAMPLES_KEY] = run.take()

        environment.events.report_to_master.add_listener(ship)
    elif isinstance(runner, MasterRunner):

        def gather(client_id: str, data: dict[str, Any]) -> None:
            run.extend(data.get(_SAMPLES_KEY) or [])

        environment.events.worker_report.add_listener(gather)


def _on_test_start(environment: Any, **_: Any) -> None:
    """The options again (a worker has the master's only now, and the web UI may change
    them); a new run in the web UI starts a new sample log, as Locust's statistics do."""
    run = run_of(environment)
    run.restart()
    try:
        run.settings = Settings.of(environment)
    except SettingsError as exc:
        logger.error("%s (the run goes on with the options it had)", exc)


def _apply_mix(environment: Any, mix: dict[str, int] | None) -> None:
    """Weights by short name (`mix_name`); a user class left out, or at 0, is not run."""
    if mix is None:
        return
    chosen = []
    for user_class in environment.user_classes:
        weight = mix.get(getattr(user_class, "mix_name", ""), 0)
        if weight > 0:
            user_class.weight = weight
            chosen.append(user_class)
    if not chosen:
        sys.stderr.write("locust -f loadtests: --compatkit-mix leaves no user to run\n")
        sys.exit(BAD_INPUT)
    environment.user_classes = chosen


def _on_quitting(environment: Any, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        return
    run = run_of(environment)
    if runner is not None:
        run.saw_users(runner.user_count)
    if not run.keep:
        return
    settings = run.settings
    warned = bool(runner and (runner.cpu_warning_emitted or runner.worker_cpu_warning_emitted))
    host = environment.host or DEFAULT_HOST
    document = run.document(host=host, cpu_warning=warned)
    target = Path(settings.results) if settings.results else _temporary_results()
    try:
        result_format.dump(document, target)
    except (OSError, result_format.ResultFormatError) as exc:
        logger.error("cannot write the results to %s: %s", target, exc)
        environment.process_exit_code = BAD_INPUT
        return
    logger.info("%d samples written to %s", len(run.samples), target)
    if settings.slo:
        status = _check_objectives(target, settings.slo)
        if status != 0:
            environment.process_exit_code = SLO_MISSED if status == 1 else BAD_INPUT


def _temporary_results() -> Path:
    return Path(tempfile.mkdtemp(prefix="compatkit-locust-")) / "results.json"


def _check_objectives(results: Path, objectives: tuple[str, ...]) -> int:
    """`compatkit assert-latency` on the results (its own process: loadtests never imports
    reports); its exit status: 0 met, 1 missed, 2 bad objective or file."""
    command = [sys.executable, "-m", "compat_cli", "assert-latency", str(results)]
    for objective in objectives:
        command += ["--slo", objective]
    command += ["--out", str(results.with_suffix(".slo"))]
    try:
        done = subprocess.run(command, timeout=_SLO_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        logger.error("the objectives could not be checked: %s", exc)
        return BAD_INPUT
    return done.returncode

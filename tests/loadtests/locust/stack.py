"""Real processes for the Locust profiles' tests: the emulator, the proxy, and Locust itself.

Operations
    proxy_stack(workdir) -> Stack       `compatkit emulate` (conformance.emulator.testing's
                                        emulator_process) and `compatkit serve` in front of
                                        it, both ready on a real request; stopped after
    run_locust(workdir, host, *args, timeout_s=90) -> LocustRun
                                        `locust -f loadtests --headless ...` to its end: exit
                                        status, output (the final stats table and error report
                                        Locust prints: its --csv files are rewritten each
                                        second, not at the end), the result file
    LocustRun.rows(type_=None) -> [dict]    the final stats rows: type, name, requests, failures
    LocustRun.errors() -> {error: count}    the final error report: `Class('text')` -> count
    locust_process(args) -> Popen       a Locust process of our own (master / worker runs)
    free_port() -> int

Every process starts in its own session and is stopped with its whole process group, so none
outlives a test; every wait has a deadline.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import loadtests
from conformance.emulator.testing import emulator_process, stop_process_group
from loadtests._bench._processes import child_environment
from loadtests._bench._toml import toml_document

LOADTESTS = Path(loadtests.__file__).parent
ROOT = LOADTESTS.parent
PROXY_KEY = "sk-locust-test-key"
_STATS_LINE = re.compile(
    r"^(?P<type>E2E|TTFB|TTFT|ITL|TPOT)\s+(?P<name>\S.*?\S)\s+(?P<requests>\d+)\s+"
    r"(?P<failures>\d+)\(",
    re.MULTILINE,
)
_ERROR_LINE = re.compile(r"^(?P<count>\d+)\s+\S+ .+?: (?P<error>\w+\(.*\))\s*$", re.MULTILINE)
START_DEADLINE_S = 60.0


@dataclass(frozen=True)
class Stack:
    proxy_url: str
    emulator_url: str


@contextlib.contextmanager
def proxy_stack(workdir: Path) -> Iterator[Stack]:
    """The emulator and a proxy in front of it (one proxy key: PROXY_KEY)."""
    with emulator_process() as emulator:
        config = {
            "server": {"proxy_keys": [PROXY_KEY], "admin_key": "locust-test-admin"},
            "upstream": {"kind": "gemini", "api_keys": ["gemini-key-a", "gemini-key-b"],
                         "gemini_base_url": emulator.base_url},
            "state": {"path": ":memory:"},
        }  # fmt: skip
        config_path = workdir / "proxy.toml"
        config_path.write_text(toml_document(config), "utf-8")
        log_path = workdir / "proxy.log"
        with log_path.open("w") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "compat_cli", "serve", "--config", str(config_path),
                 "--host", "127.0.0.1", "--port", "0", "--log-level", "info"],
                cwd=ROOT, env=child_environment(), stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
            try:
                yield Stack(_announced(process, log_path), emulator.base_url)
            finally:
                stop_process_group(process)


def _announced(process: subprocess.Popen[bytes], log_path: Path) -> str:
    """The URL of `compatkit serve`'s 'listening on' line (written once it answers)."""
    deadline = time.monotonic() + START_DEADLINE_S
    while time.monotonic() < deadline:
        for line in log_path.read_text().splitlines():
            if line.startswith("{") and "listening on" in line:
                return str(json.loads(line)["message"]).rsplit(" ", 1)[1]
        if process.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError(f"the proxy did not start ({process.poll()}): {log_path.read_text()[-800:]}")


@dataclass
class LocustRun:
    status: int
    output: str
    workdir: Path

    def rows(self, type_: str | None = None) -> list[dict[str, Any]]:
        """The final stats table Locust printed (its first table: counts, not percentiles)."""
        table = self.output.split("Response time percentiles", 1)[0]
        rows = [
            {"type": m["type"], "name": m["name"], "num_requests": int(m["requests"]),
             "num_failures": int(m["failures"])}
            for m in _STATS_LINE.finditer(table)
        ]  # fmt: skip
        return [row for row in rows if type_ is None or row["type"] == type_]

    def errors(self) -> dict[str, int]:
        """The error report Locust printed at the end: `Class('text')` -> occurrences."""
        report = self.output.split("Error report", 1)[-1] if "Error report" in self.output else ""
        found: dict[str, int] = {}
        for match in _ERROR_LINE.finditer(report):
            found[match["error"]] = found.get(match["error"], 0) + int(match["count"])
        return found

    def results(self) -> dict[str, Any]:
        import result_format

        return result_format.load(self.workdir / "results.json")


def locust_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "locust", "-f", str(LOADTESTS), *args]


def run_locust(
    workdir: Path, host: str, *args: str, results: bool = True, timeout_s: float = 90
) -> LocustRun:
    """A headless Locust run to its end (its own -t bounds it; `timeout_s` is the backstop)."""
    command = locust_command(
        "--headless", "--host", host, "--only-summary",
        "--compatkit-key", PROXY_KEY, "--loglevel", "INFO", *args,
    )  # fmt: skip
    if results:
        command += ["--compatkit-results", str(workdir / "results.json")]
    process = locust_process(command, workdir)
    try:
        output, _ = process.communicate(timeout=timeout_s)
    finally:
        stop_process_group(process)
    return LocustRun(process.returncode, output, workdir)


def locust_process(command: Sequence[str], workdir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        list(command), cwd=workdir, env=child_environment(), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])

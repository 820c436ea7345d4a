"""`compatkit conformance` as a user runs it: against a proxy started on its own and pointed at the
emulator the runner starts (the documented flow), fuzz mode, listing, setup, and usage errors (a
one-line reason, exit status 2)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.runner.upstream import API_KEYS

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(300)


def conformance(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "compat_cli", "conformance", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ((), "give --proxy URL and --upstream-flavor"),
        (("--self", "--proxy", "http://x"), "--self starts its own"),
        (("--self", "--cases", "no.such.case"), "no case matches"),
    ],
)
def test_a_usage_error_is_one_line_and_status_2(args: tuple[str, ...], reason: str) -> None:
    finished = conformance(*args)
    assert finished.returncode == 2
    (line,) = finished.stderr.strip().splitlines()
    assert line.startswith("compatkit conformance: ") and reason in line


def test_list_prints_the_catalogue() -> None:
    finished = conformance("--list", "--level", "SHOULD")
    assert finished.returncode == 0
    lines = finished.stdout.strip().splitlines()
    assert lines[-1].endswith("cases") and all(" SHOULD " in line for line in lines[:-1])


def test_setup_only_writes_the_oauth_files_and_says_what_to_configure(tmp_path: Path) -> None:
    finished = conformance("--setup-only", "--out", str(tmp_path), "--emulator-port", "18765")
    assert finished.returncode == 0
    assert "http://127.0.0.1:18765" in finished.stdout and API_KEYS[0] in finished.stdout
    creds = json.loads((tmp_path / "credentials" / "oauth_creds_1.json").read_text())
    assert creds["token_uri"] == "http://127.0.0.1:18765/token" and creds["refresh_token"]


def test_grading_a_proxy_started_on_its_own_against_the_runners_emulator(tmp_path: Path) -> None:
    emulator_port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("COMPATKIT_")}
    environment.update(
        COMPATKIT_API_KEYS=",".join(API_KEYS),
        COMPATKIT_GEMINI_BASE_URL=f"http://127.0.0.1:{emulator_port}",
        COMPATKIT_STATE_PATH=":memory:",
        COMPATKIT_ALLOW_ANY_KEY="on",
    )
    proxy_port = free_port()
    proxy = subprocess.Popen(
        [sys.executable, "-m", "compat_cli", "serve", "--port", str(proxy_port)],
        cwd=tmp_path,
        env=environment,
        stderr=subprocess.DEVNULL,
    )
    try:
        finished = conformance(
            "--proxy",
            f"http://127.0.0.1:{proxy_port}",
            "--upstream-flavor",
            "gemini-api",
            "--emulator-port",
            str(emulator_port),
            "--cases",
            "request.*,auth.*,stream.drop_midway,flavor.*",
            "--fuzz",
            "12",
            "--fuzz-seconds",
            "60",
            "--fuzz-seed",
            "10",
            "--out",
            str(tmp_path / "report"),
        )
    finally:
        proxy.terminate()
        proxy.wait(20)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert f"emulator: http://127.0.0.1:{emulator_port}" in finished.stdout
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    (run,) = report["runs"]
    outcomes = {case["id"]: case["outcome"] for case in run["cases"]}
    assert outcomes["auth.missing_key"] == "skipped"  # no --proxy-key: a proxy without keys
    assert outcomes["auth.key_stays_at_the_proxy"] == "pass"
    assert run["summary"]["must_passed"] == run["summary"]["must_total"] >= 30
    assert run["fuzz"]["examples"] >= 5 and run["fuzz"]["failures"] == []

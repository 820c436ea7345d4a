"""`compatkit emulate` starting and stopping with both cores busy (serve.py, granian_host.py,
readiness.py): the readiness line comes once the server answers, so the first request after it is
answered; SIGTERM or SIGINT at any point of start-up stops the process and every child it started.

The CPU burner is what used to break this: under contention granian's worker bound its port well
after the line was printed (first request refused), and a worker signalled while starting swallowed
the signal (emulator and worker left running). Deadlines here bound waiting, they time nothing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conformance.emulator.testing import read_announcement

STREAM = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
HELLO = {"contents": [{"role": "user", "parts": [{"text": "hello"}]}]}
KEY = {"x-goog-api-key": "k"}
ANNOUNCE_DEADLINE_S = 120.0
GONE_DEADLINE_S = 30.0
BURN_S = 300  # the burners stop by themselves even if this module is interrupted
BURNER = "import sys, time\nend = time.monotonic() + float(sys.argv[1])\nwhile time.monotonic() < end: pass"


@pytest.fixture(scope="module", autouse=True)
def busy_cores() -> Iterator[None]:
    """One busy-looping process per core for the whole module."""
    burners = [
        subprocess.Popen([sys.executable, "-c", BURNER, str(BURN_S)])
        for _ in range(os.cpu_count() or 2)
    ]
    yield
    for burner in burners:
        burner.kill()
        burner.wait()


@contextlib.contextmanager
def emulate(tmp_path: Path, *options: str) -> Iterator[subprocess.Popen[str]]:
    """`compatkit emulate --port 0 ...` in its own session; whatever is left of it is killed after."""
    with (tmp_path / "stderr.txt").open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "compat_cli", "emulate", "--port", "0", *options],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            for pid in session_members(process.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            process.kill()
            process.wait()


def announced(process: subprocess.Popen[str]) -> tuple[str, str | None]:
    """The base URL and CA path from the readiness line(s)."""
    base_url, ca_path = read_announcement(process, ANNOUNCE_DEADLINE_S)
    return base_url, str(ca_path) if ca_path else None


def session_members(session: int) -> list[int]:
    """Live (not zombie) processes of `session`: the emulator and everything it started."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) == session and fields[0] != "Z":
                members.append(int(stat.parent.name))
    return members


def command_line(pid: int) -> str:
    with contextlib.suppress(OSError):
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    return ""


def wait_until_gone(process: subprocess.Popen[str]) -> list[str]:
    """Wait (bounded) for the emulator and its session to end; what is still running then."""
    deadline = time.monotonic() + GONE_DEADLINE_S
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(GONE_DEADLINE_S)
    while (members := session_members(process.pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [f"{pid}: {command_line(pid)}" for pid in members] + (
        [f"{process.pid}: the emulator itself"] if process.poll() is None else []
    )


def wait_for_worker(process: subprocess.Popen[str]) -> None:
    """Return as soon as granian's worker process exists (it is then still starting)."""
    deadline = time.monotonic() + ANNOUNCE_DEADLINE_S
    while time.monotonic() < deadline:
        children = set(session_members(process.pid)) - {process.pid}
        if any("resource_tracker" not in command_line(pid) for pid in children):
            return
        time.sleep(0.005)
    raise AssertionError("granian's worker never started")


FIRST_REQUESTS = [
    *[pytest.param("granian", "tls", id=f"granian-tls-h2-start{n}") for n in range(10)],
    pytest.param("granian", "http1", id="granian-http1"),
    pytest.param("granian", "h2c", id="granian-h2c"),
    pytest.param("hypercorn", "tls", id="hypercorn-tls-h2"),
    pytest.param("uvicorn", "http1", id="uvicorn-http1"),
]


@pytest.mark.parametrize(("server", "transport"), FIRST_REQUESTS)
def test_the_first_request_after_the_readiness_line_is_answered(
    tmp_path: Path, server: str, transport: str
) -> None:
    options = ["--server", server] + (
        ["--tls", "--cert-dir", str(tmp_path)] if transport == "tls" else []
    )
    with emulate(tmp_path, *options) as process:
        base_url, ca = announced(process)
        verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca) if ca else True
        h2 = transport != "http1"
        with httpx.Client(http1=not h2, http2=h2, verify=verify, timeout=60) as client:
            response = client.post(base_url + STREAM, json=HELLO, headers=KEY)
        assert response.status_code == 200
        assert response.http_version == ("HTTP/2" if h2 else "HTTP/1.1")
        process.terminate()
        assert wait_until_gone(process) == []
        assert process.returncode == 0


POINTS = ["at-once", "worker-starting", "announced"]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("point", POINTS)
def test_a_signal_at_any_point_of_start_up_stops_the_emulator_and_its_worker(
    tmp_path: Path, point: str, signum: int
) -> None:
    with emulate(tmp_path, "--tls", "--cert-dir", str(tmp_path)) as process:
        if point == "worker-starting":
            wait_for_worker(process)
        elif point == "announced":
            announced(process)
        process.send_signal(signum)
        assert wait_until_gone(process) == []
        if point != "at-once":  # at once, the signal may come before Python runs any of ours
            assert process.returncode == 0, (tmp_path / "stderr.txt").read_text()


def test_the_worker_stops_when_the_emulator_is_killed(tmp_path: Path) -> None:
    with emulate(tmp_path, "--tls", "--cert-dir", str(tmp_path)) as process:
        wait_for_worker(process)
        process.kill()
        assert wait_until_gone(process) == []

"""`compatkit serve` (server.hypercorn_serving) under a churn of short connections (issue 17.1).

Rules checked, on a real `compatkit serve` process started with a soft RLIMIT_NOFILE of 512:
- it raises the soft limit to the hard one at start and logs both;
- after hundreds of short connections (HTTP/1.1 `GET /healthz` then close, h2c `GET /healthz`
  then close, connect-and-close without a request), its descriptor count comes back to the
  baseline and no socket of its port is left in CLOSE-WAIT, well before Hypercorn's 75 s
  keep-alive timeout (which is what used to hold each of them);
- it still answers a normal request after the churn.
The same on granian (`--server granian`, whose hyper closes such connections itself).
"""

from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from server.config import SERVERS
from tests.server.test_serve import json_lines, start_serve

SOFT_LIMIT = 512
CHURN = 200  # of each kind: 600 connections, more than the soft limit the process started with
SETTLE_CAP_S = 45.0  # generous, and below the 75 s keep-alive timeout that held the sockets
CLOSE_WAIT = "08"  # the state's code in /proc/net/tcp


def open_descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def close_wait_sockets(port: int) -> int:
    """Sockets on local port `port` in CLOSE-WAIT (the peer closed, we did not)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                count += local_port == port and fields[3] == CLOSE_WAIT
    return count


def settled(pid: int, port: int, baseline: int) -> tuple[int, int]:
    """Poll until the descriptors are back to `baseline` and no socket is in CLOSE-WAIT (or
    the cap passes); the last (descriptors, close-wait sockets) seen."""
    deadline = time.monotonic() + SETTLE_CAP_S
    while True:
        seen = open_descriptors(pid), close_wait_sockets(port)
        if (seen[0] <= baseline and seen[1] == 0) or time.monotonic() > deadline:
            return seen
        time.sleep(0.25)


def _low_soft_limit() -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (SOFT_LIMIT, hard))


@pytest.fixture(params=SERVERS)
def served(
    request: pytest.FixtureRequest,
) -> Iterator[tuple[str, subprocess.Popen[str], list[dict[str, object]]]]:
    process = start_serve(
        "--demo", "--log-level", "info", "--server", request.param, preexec_fn=_low_soft_limit
    )
    records: list[dict[str, object]] = []
    url = ""
    for record in json_lines(process):
        records.append(record)
        if "listening on" in str(record["message"]):
            url = str(record["message"]).rsplit(" ", 1)[1]
            break
    assert url, "the server never said where it listens"
    # the access log goes on: drain it, or a full pipe would stall the server
    drain = subprocess.Popen(["cat"], stdin=process.stderr, stdout=subprocess.DEVNULL)
    try:
        yield url, process, records
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        drain.wait(timeout=10)


def test_the_soft_open_files_limit_is_raised_to_the_hard_one_and_logged(
    served: tuple[str, subprocess.Popen[str], list[dict[str, object]]],
) -> None:
    _, process, records = served
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    [line] = [r["message"] for r in records if "RLIMIT_NOFILE" in str(r["message"])]
    assert line == f"open files limit (soft RLIMIT_NOFILE): {hard}, was {SOFT_LIMIT}"
    with open(f"/proc/{process.pid}/limits") as limits:
        [row] = [row for row in limits if row.startswith("Max open files")]
    assert row.split()[3] == str(hard)


def churn(host: str, port: int) -> None:
    """CHURN short connections of each kind, one after another."""
    request = b"GET /healthz HTTP/1.1\r\nHost: churn\r\n\r\n"
    for _ in range(CHURN):
        with socket.create_connection((host, port), timeout=10) as sock:
            sock.sendall(request)
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    for _ in range(CHURN):
        socket.create_connection((host, port), timeout=10).close()
    for _ in range(CHURN):
        with httpx.Client(http1=False, http2=True) as h2c:  # a new connection each time
            assert h2c.get(f"http://{host}:{port}/healthz").status_code == 200


def test_short_connections_are_closed_once_the_client_is_gone(
    served: tuple[str, subprocess.Popen[str], list[dict[str, object]]],
) -> None:
    url, process, _ = served
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with httpx.Client() as warm:  # whatever the app opens lazily, opened before the baseline
        for _ in range(3):
            assert warm.get(url + "/healthz").status_code == 200
    baseline, _ = settled(process.pid, int(port), open_descriptors(process.pid))

    churn(host, int(port))

    descriptors, closing = settled(process.pid, int(port), baseline)
    assert descriptors <= baseline and closing == 0, (
        f"{descriptors} descriptors (baseline {baseline}) and {closing} CLOSE-WAIT sockets "
        f"{SETTLE_CAP_S:.0f} s after {3 * CHURN} short connections"
    )
    assert httpx.get(url + "/healthz").status_code == 200

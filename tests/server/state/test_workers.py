"""`compatkit serve --workers N` as real processes: N workers on one port share flags and
disabled credentials through a real redis-server, `GET /metrics` on any of them answers the
merged counts, SIGTERM stops them all, on each server (COMPATKIT_SERVER: every worker runs
it); without the shared store N > 1 is refused."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from conformance.emulator.testing import RunningEmulator
from server.config import SERVERS
from tests.server.conftest import ADMIN_KEY, PROXY_KEY
from tests.server.state.redis_server import redis_available
from tests.server.state.serve_process import ROOT, proxy_env, serve

pytestmark = pytest.mark.skipif(
    not redis_available(), reason="redis-server is not installed (scripts/install.sh installs it)"
)
ADMIN = {"x-api-key": ADMIN_KEY}


def children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def on_every_worker(check: Callable[[], bool], attempts: int = 100) -> None:
    """`check` (a request on a fresh connection: any worker) holds 8 times in a row."""
    streak = 0
    for _ in range(attempts):
        streak = streak + 1 if check() else 0
        if streak == 8:
            return
        time.sleep(0.02 if streak else 0.05)
    raise AssertionError("not every worker saw the change")


@pytest.fixture(params=SERVERS)
def workers(
    emulator: RunningEmulator, redis_url: str, request: pytest.FixtureRequest
) -> Iterator[tuple[str, int]]:
    env = {
        **proxy_env(emulator, redis_url, f"workers-{request.param}:"),
        "COMPATKIT_SERVER": request.param,
    }
    process, url = serve("--workers", "2", "--log-level", "warning", env=env)
    try:
        yield url, process.pid
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def requests_counted(url: str) -> float:
    total = 0.0
    for line in httpx.get(url + "/metrics").text.splitlines():
        if line.startswith("compatkit_requests_total{") and 'route="/v1/messages"' in line:
            total += float(line.split()[-1])
    return total


def test_workers_share_one_port_one_state_and_one_metrics_view(workers: tuple[str, int]) -> None:
    url, parent = workers
    pids = children(parent)
    assert len(pids) == 2
    for _ in range(24):  # a fresh connection each: the kernel hands it to either worker
        response = httpx.post(
            url + "/v1/messages",
            headers={"x-api-key": PROXY_KEY},
            json={
                "model": "claude-haiku-4-5",
                "max_tokens": 8,
                "messages": [{"role": "user", "content": "hi"}],
            },
        )
        assert response.status_code == 200
    assert [requests_counted(url) for _ in range(6)] == [24.0] * 6  # merged, whoever answers

    httpx.put(url + "/admin/flags/ff_retry_policy_v2", headers=ADMIN, json={"value": True})
    on_every_worker(
        lambda: httpx.get(url + "/admin/flags", headers=ADMIN).json()["flags"]["ff_retry_policy_v2"]
    )
    victim = httpx.get(url + "/admin/credentials", headers=ADMIN).json()["data"][0]["id"]
    httpx.post(url + f"/admin/credentials/{victim}/disable", headers=ADMIN)
    on_every_worker(
        lambda: (
            {
                c["id"]: c["state"]
                for c in httpx.get(url + "/admin/credentials", headers=ADMIN).json()["data"]
            }[victim]
            == "disabled"
        )
    )
    assert children(parent) == pids  # no worker died on the way


def test_workers_stop_with_the_parent(emulator: RunningEmulator, redis_url: str) -> None:
    env = {
        "COMPATKIT_STATE_URL": redis_url,
        "COMPATKIT_API_KEYS": "k",
        "COMPATKIT_GEMINI_BASE_URL": emulator.base_url,
        "COMPATKIT_PROXY_KEYS": PROXY_KEY,
    }
    process, _ = serve("--workers", "3", "--log-level", "warning", env=env)
    try:
        pids = children(process.pid)
        assert len(pids) == 3
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        assert not any(Path(f"/proc/{pid}").exists() for pid in pids)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize(
    ("workers", "env", "reason"),
    [
        ("2", {}, "--workers 2 needs the shared state store"),
        ("0", {"COMPATKIT_STATE_URL": "redis://127.0.0.1:1/0"}, "--workers: must be from 1 to 64"),
        (
            "2",
            {"COMPATKIT_STATE_URL": "http://cache:6379"},
            "COMPATKIT_STATE_URL must be a redis://",
        ),
    ],
)
def test_workers_that_cannot_share_state_are_refused_in_one_line(
    workers: str, env: dict[str, str], reason: str
) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("COMPATKIT_")}
    process = subprocess.run(
        [sys.executable, "-m", "compat_cli", "serve", "--demo", "--port=0", "--workers", workers],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert process.returncode == 2
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1 and reason in lines[0] and "Traceback" not in process.stderr

"""The panel of `compatkit serve --workers 2` (real processes, a real redis-server): a login made
through one worker is valid on the other, a logout through one ends the session on both, a flag
change's audit line shows whichever worker renders the page, and the live metrics are every
worker's merged figures.

Each request goes on a fresh connection, which the kernel hands to either worker; a check holds
only if it holds for many such connections in a row (as tests/server/state/test_workers.py)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from conformance.emulator.testing import RunningEmulator
from tests.server.conftest import ADMIN_KEY, PROXY_KEY, UPSTREAM_KEYS
from tests.server.panel.panel_client import PanelUser
from tests.server.state.redis_server import RedisServer, redis_available

pytestmark = pytest.mark.skipif(
    not redis_available(), reason="redis-server is not installed (scripts/install.sh installs it)"
)
ROOT = Path(__file__).resolve().parents[3]
CONNECTIONS = 16


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with RedisServer(Path(tmp_path_factory.mktemp("redis"))) as server:
        yield server.url


@pytest.fixture
def two_workers(emulator: RunningEmulator, redis_url: str) -> Iterator[str]:
    """`compatkit serve --workers 2` sharing the Redis store; its URL once it listens."""
    emulator.reset()
    env = {
        **os.environ,
        "COMPATKIT_PROXY_KEYS": PROXY_KEY,
        "COMPATKIT_ADMIN_KEY": ADMIN_KEY,
        "COMPATKIT_API_KEYS": ",".join(UPSTREAM_KEYS),
        "COMPATKIT_GEMINI_BASE_URL": emulator.base_url,
        "COMPATKIT_STATE_URL": redis_url,
        "COMPATKIT_STATE_PREFIX": f"panel-workers-{os.getpid()}:",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "compat_cli", "serve", "--port", "0", "--workers", "2"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield listening_url(process)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def listening_url(process: subprocess.Popen[str]) -> str:
    assert process.stderr is not None
    for line in process.stderr:
        found = re.search(r"listening on (\S+) \(2 workers\)", line)
        if line.startswith("{") and found and "listening on" in json.loads(line)["message"]:
            threading.Thread(target=process.stderr.read, daemon=True).start()  # keep draining
            return found.group(1)
    raise AssertionError(f"compatkit serve exited with {process.wait()} before listening")


def on_fresh_connections(
    url: str, cookies: httpx.Cookies, check: Callable[[httpx.Client], bool]
) -> None:
    """`check` holds on CONNECTIONS fresh connections (either worker answers each)."""
    for n in range(CONNECTIONS):
        with httpx.Client(base_url=url, cookies=cookies, timeout=30) as client:
            assert check(client), f"connection {n + 1} of {CONNECTIONS}"


def test_a_panel_session_is_one_session_across_both_workers(two_workers: str) -> None:
    user = PanelUser(two_workers)
    assert user.login(ADMIN_KEY).status_code == 303
    cookies = httpx.Cookies(dict(user.client.cookies))  # a copy: it outlives the logout
    on_fresh_connections(two_workers, cookies, lambda c: c.get("/panel/flags").status_code == 200)

    # a change made through one worker: its audit line shows on both (it is in Redis)
    assert user.post("/panel/flags/ff_converter_fast_path", {"value": "on"}).status_code == 303
    on_fresh_connections(
        two_workers,
        cookies,
        lambda c: "ff_converter_fast_path: off → on" in c.get("/panel/flags").text,
    )

    # requests answered by either worker: the panel's totals are both workers' together
    body = {
        "model": "claude-haiku-4-5",
        "max_tokens": 8,
        "messages": [{"role": "user", "content": "hi"}],
    }
    for _ in range(6):  # a fresh connection each: both workers answer some
        sent = httpx.post(two_workers + "/v1/messages", headers={"x-api-key": PROXY_KEY}, json=body)
        assert sent.status_code == 200
    on_fresh_connections(
        two_workers,
        cookies,
        lambda c: _messages(c.get("/panel/api/metrics").json()) == 6,
    )

    # logging out through one worker ends the session on both, even for a copied cookie
    assert user.post("/panel/logout").status_code == 303
    on_fresh_connections(two_workers, cookies, lambda c: c.get("/panel/flags").status_code == 303)
    user.close()


def _messages(document: dict[str, object]) -> float:
    routes = document["routes"]
    assert isinstance(routes, list)
    return sum(r["requests"] for r in routes if r["route"] == "/v1/messages")

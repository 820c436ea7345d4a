"""`compatkit serve` as a real process for the scale-out tests: started on a free port with
the tests' credentials and the emulator as upstream, returned once it answers, stopped with
SIGTERM (killed if it does not stop)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from conformance.emulator.testing import RunningEmulator
from tests.server.conftest import ADMIN_KEY, PROXY_KEY, UPSTREAM_KEYS
from tests.server.state.redis_server import free_port

ROOT = Path(__file__).resolve().parents[3]


def proxy_env(emulator: RunningEmulator, redis_url: str, prefix: str) -> dict[str, str]:
    """The environment of an instance on `redis_url` under `prefix`, upstream the emulator."""
    env = {
        "COMPATKIT_PROXY_KEYS": PROXY_KEY,
        "COMPATKIT_ADMIN_KEY": ADMIN_KEY,
        "COMPATKIT_API_KEYS": ",".join(UPSTREAM_KEYS),
        "COMPATKIT_GEMINI_BASE_URL": emulator.base_url,
        "COMPATKIT_STATE_URL": redis_url,
        "COMPATKIT_STATE_PREFIX": prefix,
    }
    if emulator.ca_path is not None:
        env["COMPATKIT_CA_FILE"] = str(emulator.ca_path)
    return env


def serve(*args: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """`compatkit serve` on a free port, and its URL once it answers a real request."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "compat_cli", "serve", "--port", str(port), *args],
        cwd=ROOT,
        env={**os.environ, **env},
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        if process.poll() is not None:
            raise AssertionError(f"serve exited with {process.returncode}")
        try:
            httpx.get(url + "/healthz", timeout=1)
            return process, url
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise AssertionError("serve never answered")


def stop(process: subprocess.Popen[bytes]) -> int:
    """SIGTERM, then SIGKILL if it has not stopped within 30 s; its exit status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait()

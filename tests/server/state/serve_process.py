"""`compatkit serve` as a real process for the scale-out tests: started on a free port with
the tests' credentials and the emulator as upstream, returned once it answers, stopped with
SIGTERM (killed if it does not stop); and what the tests ask an instance by its URL (a
streamed reply through the official SDK, the admin API, a metric)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anthropic
import httpx

from conformance.emulator.testing import EmulatorProcess, RunningEmulator
from tests.server.conftest import ADMIN_KEY, PROXY_KEY, UPSTREAM_KEYS
from tests.server.state.redis_server import free_port

ROOT = Path(__file__).resolve().parents[3]
MODEL = "claude-sonnet-4-6"  # → gemini-2.5-pro


def proxy_env(
    emulator: RunningEmulator | EmulatorProcess, redis_url: str, prefix: str
) -> dict[str, str]:
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


def serve(
    *args: str, env: dict[str, str], log: Path | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """`compatkit serve` on a free port, and its URL once it answers a real request; its
    stderr (the log) goes to `log` when given."""
    port = free_port()
    with open(log or os.devnull, "wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "compat_cli", "serve", "--port", str(port), *args],
            cwd=ROOT,
            env={**os.environ, **env},
            stderr=stderr,
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


@contextmanager
def running_instances(
    env: dict[str, str], count: int = 2, log_dir: Path | None = None
) -> Iterator[list[str]]:
    """`count` instances with `env` (logs in log_dir/instance<i>.log), stopped at the end."""
    processes: list[subprocess.Popen[bytes]] = []
    try:
        urls = []
        for i in range(count):
            log = log_dir / f"instance{i}.log" if log_dir is not None else None
            process, url = serve("--log-level", "warning", env=env, log=log)
            processes.append(process)
            urls.append(url)
        yield urls
    finally:
        for process in processes:
            stop(process)


def client(url: str, *, timeout: float = 60.0, **flags: bool) -> anthropic.Anthropic:
    """The Anthropic SDK on an instance, no SDK retries, with per-request flags if given."""
    headers = {"x-compatkit-admin-key": ADMIN_KEY}
    if flags:
        headers["x-compatkit-flags"] = ",".join(
            f"{k}={'on' if v else 'off'}" for k, v in flags.items()
        )
    return anthropic.Anthropic(
        base_url=url, api_key=PROXY_KEY, max_retries=0, timeout=timeout, default_headers=headers
    )


def stream_text(url: str, marker: str, *, timeout: float = 60.0) -> str:
    """One streamed reply, read to its end (the SDK raises on an error status or a timeout)."""
    with client(url, timeout=timeout).messages.stream(
        model=MODEL, max_tokens=16, messages=[{"role": "user", "content": marker}]
    ) as stream:
        return stream.get_final_text()


def admin(url: str, method: str, path: str, **kwargs: Any) -> Any:
    """An admin API call; its decoded JSON body."""
    response = httpx.request(
        method, url + "/admin" + path, headers={"x-api-key": ADMIN_KEY}, **kwargs
    )
    return response.raise_for_status().json()


def credentials(url: str) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in admin(url, "GET", "/credentials")["data"]}


def metric(url: str, name: str) -> float:
    """An unlabelled metric's value from GET /metrics."""
    for line in httpx.get(url + "/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not exposed")


def eventually(check: Callable[[], bool], what: str, attempts: int = 200) -> None:
    """Poll `check` a bounded number of times (every 0.05 s); fail naming `what`."""
    for _ in range(attempts):
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"never happened: {what}")

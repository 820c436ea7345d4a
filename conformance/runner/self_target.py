"""`compatkit conformance --self`: our own proxy, `compatkit serve` as a real process, configured
against the run's emulator.

Operations:
    started_proxy(flavor, setup, folder) -> ContextManager[Target]   the proxy for one flavour,
        stopped (SIGTERM, then kill) when the block ends; its log is folder/proxy-<flavor>.log
    SELF_ENVIRONMENT                 the settings it runs with (all four flags on: the
                                     configuration being rolled out; short retry delays so a run
                                     stays within CI's time)

The proxy is started as a process, never imported: the runner grades it black-box, exactly as it
grades any other proxy (conformance never imports server or compat).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from conformance.runner.client import Target
from conformance.runner.upstream import (
    API_KEYS,
    OAUTH_CLIENT_ID,
    OAUTH_CLIENT_SECRET,
    UpstreamSetup,
)

PROXY_KEY = "conformance-proxy-key"
SELF_ENVIRONMENT = {
    "COMPATKIT_PROXY_KEYS": PROXY_KEY,
    "COMPATKIT_STATE_PATH": ":memory:",
    "COMPATKIT_FF_RETRY_POLICY_V2": "on",
    "COMPATKIT_FF_HTTP2_POOL_TUNING": "on",
    "COMPATKIT_FF_CONVERTER_FAST_PATH": "on",
    "COMPATKIT_FF_PREVIEW_CREDENTIAL_SCHEDULER_V2": "on",
    "COMPATKIT_RETRY_BASE_DELAY": "0.05",
    "COMPATKIT_RETRY_MAX_DELAY": "2",
    "COMPATKIT_RETRY_DEADLINE": "20",
    "COMPATKIT_RETRY_MAX_ATTEMPTS": "3",
    "COMPATKIT_RETRY_CAPACITY_COOLDOWN": "1",
    "COMPATKIT_RETRY_QUOTA_COOLDOWN": "1",
    "COMPATKIT_ONBOARD_POLL_INTERVAL": "0.05",
}
_LISTENING = re.compile(r"compatkit proxy listening on (\S+?)\"")
_START_TIMEOUT_S = 60.0


def _flavor_environment(flavor: str, setup: UpstreamSetup) -> dict[str, str]:
    if flavor == "gemini-api":
        return {
            "COMPATKIT_API_KEYS": ",".join(API_KEYS),
            "COMPATKIT_GEMINI_BASE_URL": setup.emulator_url,
        }
    return {
        "COMPATKIT_OAUTH_FILES": ",".join(str(p) for p in setup.oauth_files),
        "COMPATKIT_CODE_ASSIST_BASE_URL": setup.emulator_url,
        "COMPATKIT_OAUTH_TOKEN_URI": setup.token_uri,
        "COMPATKIT_OAUTH_CLIENT_ID": OAUTH_CLIENT_ID,
        "COMPATKIT_OAUTH_CLIENT_SECRET": OAUTH_CLIENT_SECRET,
    }


@contextlib.contextmanager
def started_proxy(flavor: str, setup: UpstreamSetup, folder: Path) -> Iterator[Target]:
    """`compatkit serve --port 0` for `flavor`, ready (it answered /healthz) when yielded."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("COMPATKIT_")}
    environment.update(SELF_ENVIRONMENT)
    environment.update(_flavor_environment(flavor, setup))
    log_path = folder / f"proxy-{flavor}.log"
    command = [sys.executable, "-m", "compat_cli", "serve", "--port", "0", "--log-level", "info"]
    with log_path.open("w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=log, env=environment, cwd=folder)
        try:
            url = _wait_until_listening(process, log_path)
            yield Target(url, PROXY_KEY, flavor)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(15)


def _wait_until_listening(process: subprocess.Popen[bytes], log_path: Path) -> str:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"compatkit serve exited with status {process.returncode}: "
                + log_path.read_text()[-2000:]
            )
        match = _LISTENING.search(log_path.read_text())
        if match:
            url = match.group(1)
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    return url
        time.sleep(0.05)
    raise RuntimeError("compatkit serve did not start in time: " + log_path.read_text()[-2000:])

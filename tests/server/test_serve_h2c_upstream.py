"""`compatkit serve` in front of `compatkit emulate` over cleartext: h2c upstream (issue 11).

Rules checked on real processes (the proxy and the emulator each their own, the official
anthropic SDK streaming through the proxy), read on the wire from the emulator's request log,
which records the HTTP version each request came over:
- with `upstream.http2_prior_knowledge` the pooled arm (`ff_http2_pool_tuning` on) speaks HTTP/2
  with prior knowledge to the http:// upstream, several streams in flight at once;
- the per-request arm stays a fresh HTTP/1.1 connection (the flag's baseline), key or not;
- without the key the pooled arm speaks HTTP/1.1 to an http:// upstream, as before.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import anthropic
import pytest

from conformance.emulator.testing import EmulatorProcess, emulator_process, stop_process_group
from tests.server.conftest import serve_argv

ROOT = Path(__file__).resolve().parents[2]
PROXY_KEY = "h2c-proxy-key"
ADMIN_KEY = "h2c-admin-key"
START_DEADLINE_S = 60.0


@contextmanager
def proxy_process(emulator: EmulatorProcess, env: dict[str, str], log: Path) -> Iterator[str]:
    """`compatkit serve` with `emulator` as its Gemini upstream; yields its URL once it answers."""
    settings = {
        "COMPATKIT_API_KEYS": "gemini-key-a",
        "COMPATKIT_GEMINI_BASE_URL": emulator.base_url,
        "COMPATKIT_PROXY_KEYS": PROXY_KEY,
        "COMPATKIT_ADMIN_KEY": ADMIN_KEY,
        "COMPATKIT_STATE_PATH": ":memory:",
    }
    clean = {k: v for k, v in os.environ.items() if not k.startswith("COMPATKIT_")}
    with log.open("w") as output:
        process = subprocess.Popen(
            serve_argv("--log-level", "info"),
            cwd=ROOT, env={**clean, **settings, **env}, stdout=output, stderr=subprocess.STDOUT,
            text=True, start_new_session=True,
        )  # fmt: skip
        try:
            yield _announced(process, log)
        finally:
            stop_process_group(process)


def _announced(process: subprocess.Popen[str], log: Path) -> str:
    deadline = time.monotonic() + START_DEADLINE_S
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines():
            if line.startswith("{") and "listening on" in line:
                return str(json.loads(line)["message"]).rsplit(" ", 1)[1]
        if process.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError(f"the proxy did not start ({process.poll()}): {log.read_text()[-800:]}")


def stream_text(url: str, pooled: bool) -> str:
    """One streamed answer through the proxy by the anthropic SDK, in the arm asked for (the
    admin's per-request flag override)."""
    client = anthropic.Anthropic(
        base_url=url,
        api_key=PROXY_KEY,
        max_retries=0,
        default_headers={
            "x-compatkit-flags": f"ff_http2_pool_tuning={'on' if pooled else 'off'}",
            "x-compatkit-admin-key": ADMIN_KEY,
        },
    )
    with client.messages.stream(
        model="claude-sonnet-4-6", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        return stream.get_final_text()


def upstream_versions(emulator: EmulatorProcess) -> list[str]:
    """The HTTP version of each generate call the emulator received, in order."""
    return [r["http_version"] for r in emulator.requests() if r["model"] is not None]


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorProcess]:
    with emulator_process() as running:  # granian, plain: HTTP/1.1 and h2c on one listener
        assert running.base_url.startswith("http://")
        yield running


def test_with_prior_knowledge_the_pooled_arm_streams_over_h2c(
    emulator: EmulatorProcess, tmp_path: Path
) -> None:
    env = {"COMPATKIT_HTTP2_PRIOR_KNOWLEDGE": "on"}
    with proxy_process(emulator, env, tmp_path / "proxy.log") as url:
        emulator.reset()
        with ThreadPoolExecutor(4) as pool:
            texts = list(pool.map(lambda _: stream_text(url, pooled=True), range(8)))
        assert all(texts)
        assert upstream_versions(emulator) == ["2"] * 8
        emulator.reset()
        assert stream_text(url, pooled=False)
        assert upstream_versions(emulator) == ["1.1"]  # the baseline arm: HTTP/1.1 regardless


def test_without_prior_knowledge_the_pooled_arm_speaks_http_1_1_to_an_http_upstream(
    emulator: EmulatorProcess, tmp_path: Path
) -> None:
    with proxy_process(emulator, {}, tmp_path / "proxy.log") as url:
        emulator.reset()
        assert stream_text(url, pooled=True)
        assert upstream_versions(emulator) == ["1.1"]

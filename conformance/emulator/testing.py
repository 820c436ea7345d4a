"""A real emulator server for tests: `with running_emulator() as emu: ... emu.base_url ...`.

Operations:
- `running_emulator(scenarios=None, *, tls=False, server="hypercorn", jsonl_path=None)`: start the
  emulator on 127.0.0.1 on a free port in a background thread (its own event loop), yield a
  `RunningEmulator` once it answers a real request over each protocol it serves, stop it on exit.
- `RunningEmulator.requests()` / `.reset()`: the recorded requests (`GET /_emulator/requests`) and
  `POST /_emulator/reset`, read through the app object directly (no HTTP round trip needed).
- `emulator_process(config_path=None, *, server="granian", tls=False)`: the same emulator as a
  separate `compatkit emulate` process (its own core, no shared GIL), for benchmarks and load runs;
  yields an `EmulatorProcess` (once its readiness line came, so it answers) whose `requests()` /
  `reset()` go over HTTP; on exit SIGTERM, then SIGKILL to its whole process group past a deadline,
  so neither it nor its granian worker outlives the block.

`scenarios` is a TOML path, a mapping shaped like the TOML file (e.g.
`{"scenarios": {"default": {"text_tokens": 3}}}`), an `EmulatorConfig`, or None for the packaged
default_scenarios.toml. The server is a real socket server: clients connect over TCP exactly as they
would to Google (HTTP/1.1, h2c with prior knowledge, or TLS + ALPN h2 with `tls=True`; trust
`ca_path`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from conformance.emulator.app import Emulator, create_emulator
from conformance.emulator.readiness import wait_until_answering
from conformance.emulator.scenarios import EmulatorConfig, parse_config
from conformance.emulator.serve import READY_TIMEOUT_S, bind_socket, serve
from conformance.emulator.tls import make_certificates

_START_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class RunningEmulator:
    """A started emulator: where it listens, the CA to trust (TLS only), and the app itself."""

    base_url: str
    app: Emulator
    ca_path: Path | None = None

    def url(self, path: str) -> str:
        return self.base_url + path

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        """The recorded requests, oldest first (same content as `GET /_emulator/requests`)."""
        records: list[dict[str, Any]] = self.app.recorder.snapshot(since)["requests"]
        return records

    def reset(self) -> None:
        """Forget records, counters, buckets and caches (same as `POST /_emulator/reset`)."""
        self.app.reset()


@contextlib.contextmanager
def running_emulator(
    scenarios: EmulatorConfig | Mapping[str, Any] | str | Path | None = None,
    *,
    tls: bool = False,
    server: str = "hypercorn",
    jsonl_path: str | Path | None = None,
) -> Iterator[RunningEmulator]:
    """Run the emulator on 127.0.0.1:<free port> for the duration of the `with` block.

    With `tls=True` HTTP/2 is negotiated by ALPN. Hypercorn's HTTP/2 never resets a stream
    whose app raised, so the `drop` fault leaves such a stream open here; `emulator_process`
    (granian) resets it, as a real server's dropped stream would be.
    """
    config = parse_config(scenarios) if isinstance(scenarios, Mapping) else scenarios
    app = create_emulator(config, jsonl_path=jsonl_path)
    with tempfile.TemporaryDirectory(prefix="compatkit-emulator-") as cert_dir:
        certificates = make_certificates(cert_dir) if tls else None
        sock = bind_socket()
        host, port = sock.getsockname()[:2]
        loop = asyncio.new_event_loop()
        shutdown_holder: list[asyncio.Event] = []
        started = threading.Event()
        failure: list[BaseException] = []

        async def run() -> None:
            shutdown = asyncio.Event()
            shutdown_holder.append(shutdown)
            started.set()
            await serve(app, sock, certificates=certificates, server=server, shutdown=shutdown)

        def thread_main() -> None:
            try:
                loop.run_until_complete(run())
            except BaseException as exc:  # surfaced to the test thread below
                failure.append(exc)
                started.set()
            finally:
                loop.close()

        thread = threading.Thread(target=thread_main, name=f"emulator-{port}", daemon=True)
        thread.start()
        if not started.wait(_START_TIMEOUT_S) or failure:
            raise RuntimeError(f"emulator did not start: {failure[:1]}")
        ca_path = certificates.ca_path if certificates else None
        base_url = f"{'https' if tls else 'http'}://{host}:{port}"
        try:
            wait_until_answering(
                base_url,
                http2=server != "uvicorn",
                ca_path=ca_path,
                deadline_s=_START_TIMEOUT_S,
                gone=lambda: not thread.is_alive(),
            )
            yield RunningEmulator(base_url, app, ca_path)
        finally:
            loop.call_soon_threadsafe(shutdown_holder[0].set)
            thread.join(_STOP_TIMEOUT_S)
            app.recorder.close()


@dataclass(frozen=True)
class EmulatorProcess:
    """A `compatkit emulate` child process: where it listens and the CA to trust (TLS only)."""

    base_url: str
    ca_path: Path | None = None

    def url(self, path: str) -> str:
        return self.base_url + path

    def _client(self) -> httpx.Client:
        verify: Any = ssl.create_default_context(cafile=str(self.ca_path)) if self.ca_path else True
        return httpx.Client(base_url=self.base_url, verify=verify, timeout=30)

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        """The recorded requests (`GET /_emulator/requests?since=N`)."""
        with self._client() as client:
            response = client.get("/_emulator/requests", params={"since": since})
        records: list[dict[str, Any]] = response.json()["requests"]
        return records

    def reset(self) -> None:
        """`POST /_emulator/reset`."""
        with self._client() as client:
            client.post("/_emulator/reset").raise_for_status()


@contextlib.contextmanager
def emulator_process(
    config_path: str | Path | None = None,
    *,
    server: str = "granian",
    tls: bool = False,
    cpu: int | None = None,
) -> Iterator[EmulatorProcess]:
    """Run `compatkit emulate` on a free port (pinned to CPU `cpu` if given) until the block ends."""
    command = [
        sys.executable,
        "-m",
        "conformance.emulator.serve",
        "--port",
        "0",
        "--server",
        server,
    ]
    if config_path is not None:
        command += ["--config", str(config_path)]
    with tempfile.TemporaryDirectory(prefix="compatkit-emulator-") as cert_dir:
        if tls:
            command += ["--tls", "--cert-dir", cert_dir]
        if cpu is not None:
            command = ["taskset", "-c", str(cpu), *command]
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, text=True, start_new_session=True
        )
        try:
            yield EmulatorProcess(*read_announcement(process, _START_TIMEOUT_S + READY_TIMEOUT_S))
        finally:
            stop_process_group(process)


def read_announcement(process: subprocess.Popen[str], timeout_s: float) -> tuple[str, Path | None]:
    """The base URL (and, with TLS, the CA path) from `compatkit emulate`'s readiness lines.

    Raises RuntimeError if the process ends or `timeout_s` passes before they come.
    """
    assert process.stdout is not None
    stdout = process.stdout
    lines: list[str] = []

    def read() -> None:  # a thread, since a pipe's readline cannot time out
        lines.append(stdout.readline())
        if lines[0].startswith("emulator listening on https://"):
            lines.append(stdout.readline())

    reader = threading.Thread(target=read, name="emulator-announcement", daemon=True)
    reader.start()
    reader.join(timeout_s)
    match = re.match(r"emulator listening on (\S+)", lines[0]) if lines else None
    if reader.is_alive() or match is None:
        raise RuntimeError(f"emulator did not announce itself (exit {process.poll()}): {lines}")
    ca_path = Path(lines[1].split(": ", 1)[1].strip()) if len(lines) > 1 else None
    return match.group(1), ca_path


def stop_process_group(process: subprocess.Popen[str], timeout_s: float = _STOP_TIMEOUT_S) -> None:
    """SIGTERM `process`; past `timeout_s`, SIGKILL its process group (it leads one: it was started
    with `start_new_session=True`), so no child of it is left behind either way."""
    process.terminate()
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout_s)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)

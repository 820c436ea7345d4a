"""A real emulator server for tests: `with running_emulator() as emu: ... emu.base_url ...`.

Operations:
- `running_emulator(scenarios=None, *, tls=False, server="hypercorn", jsonl_path=None)`: start the
  emulator on 127.0.0.1 on a free port in a background thread (its own event loop), yield a
  `RunningEmulator`, stop it on exit.
- `RunningEmulator.requests()` / `.reset()`: the recorded requests (`GET /_emulator/requests`) and
  `POST /_emulator/reset`, read through the app object directly (no HTTP round trip needed).

`scenarios` is a TOML path, a mapping shaped like the TOML file (e.g.
`{"scenarios": {"default": {"text_tokens": 3}}}`), an `EmulatorConfig`, or None for the packaged
default_scenarios.toml. The server is a real socket server: clients connect over TCP exactly as they
would to Google (HTTP/1.1, h2c with prior knowledge, or TLS + ALPN h2 with `tls=True`; trust
`ca_path`).
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.emulator.app import Emulator, create_emulator
from conformance.emulator.scenarios import EmulatorConfig, parse_config
from conformance.emulator.serve import bind_socket, serve
from conformance.emulator.tls import make_certificates

_START_TIMEOUT_S = 10.0
_STOP_TIMEOUT_S = 10.0


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
    """Run the emulator on 127.0.0.1:<free port> for the duration of the `with` block."""
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
        scheme = "https" if tls else "http"
        try:
            yield RunningEmulator(
                f"{scheme}://{host}:{port}", app, certificates.ca_path if certificates else None
            )
        finally:
            loop.call_soon_threadsafe(shutdown_holder[0].set)
            thread.join(_STOP_TIMEOUT_S)
            app.recorder.close()

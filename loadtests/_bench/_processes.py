"""The servers a run starts: the emulator and the proxies, as real processes on 127.0.0.1.

Operations
    await start_emulator(workdir, config, *, tls, server, prefix, host) -> Server
                        `compatkit emulate` with the plan's scenarios; ready once it answers a
                        real generateContent call
    await start_proxy(root, workdir, name, config, *, env, check) -> Server
                        `compatkit serve` from the tree `root`; ready once it answers a real
                        /v1/messages request (through the emulator) with a 200
    await server.stop() SIGTERM to its process group, SIGKILL after a grace period
    process_tree(pid) / cpu_seconds(pids) / rss_bytes(pids)     from /proc (loadtests._common,
                        shared with the Locust profiles' soak)
    child_environment(extra) -> dict                            this environment without any
                        COMPATKIT_* variable (a user's own config must not leak into a run)

Every wait has a deadline; a server that exits, or does not get ready in time, is a
BenchError with the tail of its output, and whatever was started is stopped. Processes start
in their own session, so stopping one stops its workers (granian's) too, and nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loadtests._bench._errors import BenchError
from loadtests._bench._toml import toml_document
from loadtests._common._resources import cpu_seconds, process_tree, rss_bytes

__all__ = [
    "Server",
    "child_environment",
    "cpu_seconds",
    "process_tree",
    "rss_bytes",
    "start_emulator",
    "start_proxy",
]

START_TIMEOUT_S = 45.0
STOP_GRACE_S = 5.0

ReadyCheck = Callable[["Server"], Awaitable[str | None]]
"""None once the server answered a real request as it should, else why not (yet)."""


@dataclass
class Server:
    """A started server process."""

    name: str
    url: str
    process: asyncio.subprocess.Process
    output: deque[str] = field(default_factory=lambda: deque(maxlen=20))
    ca_path: Path | None = None
    _drain: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    async def stop(self) -> None:
        """Stop the process group; wait at most the grace period before SIGKILL."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), STOP_GRACE_S)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                await asyncio.wait_for(self.process.wait(), STOP_GRACE_S)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # workers the parent left behind
        if self._drain is not None:
            self._drain.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._drain

    def tail(self) -> str:
        return " | ".join(line for line in self.output if line)[-600:]


def child_environment(extra: Mapping[str, str] = {}) -> dict[str, str]:
    """This process's environment minus COMPATKIT_*, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPATKIT_")}
    env.update(extra)
    return env


async def _spawn(name: str, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> Server:
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=dict(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        raise BenchError(f"{name}: cannot start {argv[0]}: {exc}") from None
    server = Server(name, "", process)
    return server


def _drain(server: Server) -> asyncio.Task[None]:
    async def read() -> None:
        assert server.process.stdout is not None
        async for line in server.process.stdout:
            server.output.append(line.decode("utf-8", "replace").rstrip())

    return asyncio.create_task(read())


async def _wait_ready(server: Server, check: ReadyCheck, deadline: float) -> None:
    reason = "no answer yet"
    while time.monotonic() < deadline:
        if server.process.returncode is not None:
            raise BenchError(
                f"{server.name} exited with status {server.process.returncode} at start: {server.tail()}"
            )
        reason = await check(server) or ""
        if not reason:
            return
        await asyncio.sleep(0.05)
    raise BenchError(
        f"{server.name} was not ready within {START_TIMEOUT_S:g} s ({reason}): {server.tail()}"
    )


async def start_emulator(
    workdir: Path,
    config: Mapping[str, Any],
    check: ReadyCheck,
    *,
    tls: bool,
    server: str,
    prefix: Sequence[str] = (),
    host: str = "127.0.0.1",
) -> Server:
    """`compatkit emulate` on a free port with `config` (the emulator's TOML, as a table)."""
    config_path = workdir / "emulator.toml"
    config_path.write_text(toml_document(config), "utf-8")
    cert_dir = workdir / "emulator-certs"
    argv = [*prefix, sys.executable, "-m", "compat_cli", "emulate", "--config", str(config_path),
            "--host", host, "--port", "0", "--server", server]  # fmt: skip
    if tls:
        argv += ["--tls", "--cert-dir", str(cert_dir)]
    started = await _spawn("the emulator", argv, cwd=_this_tree(), env=child_environment())
    try:
        url = await _announced_url(started, time.monotonic() + START_TIMEOUT_S)
        started.url = url
        started.ca_path = cert_dir / "ca.pem" if tls else None
        started._drain = _drain(started)
        await _wait_ready(started, check, time.monotonic() + START_TIMEOUT_S)
    except BaseException:
        await started.stop()
        raise
    return started


async def _announced_url(server: Server, deadline: float) -> str:
    """The base URL in the emulator's `listening on URL` line."""
    assert server.process.stdout is not None
    pattern = re.compile(r"listening on (\S+)")
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BenchError(
                f"the emulator did not start within {START_TIMEOUT_S:g} s: {server.tail()}"
            )
        try:
            line = await asyncio.wait_for(server.process.stdout.readline(), remaining)
        except TimeoutError:
            continue
        if not line:
            await server.process.wait()
            raise BenchError(
                f"the emulator exited with status {server.process.returncode} at start: {server.tail()}"
            )
        text = line.decode("utf-8", "replace").rstrip()
        server.output.append(text)
        match = pattern.search(text)
        if match:
            return match.group(1)


async def start_proxy(
    root: Path,
    workdir: Path,
    name: str,
    config: Mapping[str, Any],
    check: ReadyCheck,
    *,
    env: Mapping[str, str] = {},
) -> Server:
    """`compatkit serve` of the tree `root` with `config` (its TOML, as a table)."""
    config_path = workdir / f"proxy-{name}.toml"
    config_path.write_text(toml_document(config), "utf-8")
    extra = dict(env)
    extra["PYTHONPATH"] = os.pathsep.join(p for p in (extra.get("PYTHONPATH"), str(root)) if p)
    for attempt in range(3):  # a free port may be taken between the probe and the bind
        port = _free_port()
        argv = [sys.executable, "-m", "compat_cli", "serve", "--config", str(config_path),
                "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]  # fmt: skip
        started = await _spawn(f"the proxy {name!r}", argv, cwd=root, env=child_environment(extra))
        started.url = f"http://127.0.0.1:{port}"
        started._drain = _drain(started)
        try:
            await _wait_ready(started, check, time.monotonic() + START_TIMEOUT_S)
            return started
        except BenchError as exc:
            await started.stop()
            if attempt == 2 or "address already in use" not in str(exc).lower():
                raise
        except BaseException:
            await started.stop()
            raise
    raise AssertionError("unreachable")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _this_tree() -> Path:
    return Path(__file__).resolve().parents[2]

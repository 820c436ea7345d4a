"""Hosting the emulator on granian, `compatkit emulate`'s default server (the app runs in a worker).

Operations:
- `reserve_port(host, port)`: a socket bound to (host, port) that never listens. It holds the port
  (port 0: a free one) while granian's worker binds it too (granian binds with SO_REUSEPORT); as it
  never listens, it accepts nothing, so a client reaches granian's listener or is refused, never a
  placeholder. Raises OSError if another socket already holds the port.
- `serve_granian(host, port, *, config_path, jsonl_path, certificates)`: run granian (one worker,
  HTTP/1.1 + h2c, or TLS with ALPN h2) until SIGINT/SIGTERM.
- `app_from_environment()`: the app factory granian's worker calls (configuration passed through the
  environment, since the worker is a fresh interpreter).

Logs: granian's go to stderr, so stdout carries only `compatkit emulate`'s readiness lines (a
parent that reads those and then stops reading stdout must never block the worker), and the
traceback granian logs for each deliberate `drop` fault is filtered out (`wire.QuietDrops`, as on
Hypercorn). Before this, ~80 drops filled the 64 KiB stdout pipe of `emulator_process`, whose
parent reads only the announcement; the worker then blocked in write() and answered nothing more.

Stopping, in every state (why the worker is spawned, not forked): a forked worker inherits the
parent's Python signal handlers (granian's "interrupt" flag) until its event loop installs its own,
so a SIGTERM in that window was swallowed and granian's parent waited forever for the worker to
stop. A spawned worker keeps the default SIGTERM action until it installs its handlers; granian's
parent kills a worker that has not stopped within `WORKER_STOP_TIMEOUT_S`; and the worker asks Linux
to stop it when its parent dies (PR_SET_PDEATHSIG), so no worker outlives `compatkit emulate`.
"""

from __future__ import annotations

import copy
import ctypes
import logging
import multiprocessing
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

from conformance.emulator.app import create_emulator
from conformance.emulator.tls import Certificates
from conformance.emulator.wire import QuietDrops

CONFIG_ENV = "COMPATKIT_EMULATOR_CONFIG"
JSONL_ENV = "COMPATKIT_EMULATOR_JSONL"
WORKER_STOP_TIMEOUT_S = 5
GRANIAN_LOGGER = "_granian"  # the logger of granian's Python side and of its Rust core
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def reserve_port(host: str, port: int) -> socket.socket:
    """Hold (host, port) for granian without listening on it (see the module docstring)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as exclusive:  # fails if the port is taken
        exclusive.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        exclusive.bind((host, port))
        port = exclusive.getsockname()[1]
    reservation = socket.socket(family, socket.SOCK_STREAM)
    reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    reservation.bind((host, port))
    return reservation


def serve_granian(
    host: str,
    port: int,
    *,
    config_path: str | None,
    jsonl_path: str | None,
    certificates: Certificates | None,
) -> None:
    """Run granian on (host, port) until SIGINT/SIGTERM; exits with status 1 if the worker died."""
    from granian.constants import HTTPModes, Interfaces, Loops, RuntimeModes
    from granian.log import LogLevels
    from granian.server import Server

    os.environ[CONFIG_ENV] = str(Path(config_path).resolve()) if config_path else ""
    os.environ[JSONL_ENV] = str(Path(jsonl_path).resolve()) if jsonl_path else ""
    # granian starts its worker with multiprocessing's default method; this process exists only to
    # host granian, and spawning is what makes a signal during the worker's start-up safe.
    multiprocessing.set_start_method("spawn", force=True)
    server = Server(
        "conformance.emulator.granian_host:app_from_environment",
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=1,
        workers_kill_timeout=WORKER_STOP_TIMEOUT_S,
        runtime_threads=1,
        runtime_mode=RuntimeModes.st,
        loop=Loops.uvloop,
        http=HTTPModes.auto,
        websockets=False,
        factory=True,
        log_level=LogLevels.warning,
        log_dictconfig=_logging_to_stderr(),
        ssl_cert=certificates.cert_path if certificates else None,
        ssl_key=certificates.key_path if certificates else None,
    )
    server.serve()


def _logging_to_stderr() -> dict[str, Any]:
    """granian's logging configuration with every handler on stderr instead of stdout."""
    from granian.log import LOGGING_CONFIG

    handlers = copy.deepcopy(LOGGING_CONFIG["handlers"])
    for handler in handlers.values():
        handler["stream"] = "ext://sys.stderr"
    return {"handlers": handlers}


def app_from_environment() -> Any:
    """The ASGI app granian's worker builds; the worker stops with its parent from here on."""
    _stop_with_parent()
    for handler in logging.getLogger(GRANIAN_LOGGER).handlers:  # granian's core logs on children
        handler.addFilter(QuietDrops())
    return create_emulator(
        os.environ.get(CONFIG_ENV) or None, jsonl_path=os.environ.get(JSONL_ENV) or None
    )


def _stop_with_parent() -> None:
    """Have Linux send this worker SIGTERM when its parent dies (even by SIGKILL)."""
    if not sys.platform.startswith("linux"):
        return
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:  # the parent died before the prctl
        os.kill(os.getpid(), signal.SIGTERM)

"""`compatkit serve --workers N`: N proxy processes on one listening socket, one shared state.

Operations:
    why_not_workers(config, workers) -> str | None     the reason N workers cannot run, or None
    serve_workers(worker_argv, sock, workers, *, env, certified, on_ready) -> int
                                                       the parent: start, watch, stop (exit status)
    inherited_socket(fd) -> socket                     in a worker: the parent's listening socket

Plan: the parent binds the socket, then starts N fresh `compatkit serve --worker-fd FD`
processes sharing it (the kernel hands each connection to one worker that is accepting, so a
worker still starting takes none). Fresh processes, not forks: each imports prometheus-client
with PROMETHEUS_MULTIPROC_DIR set, so every worker's counters and histograms go to files in
one directory and `GET /metrics` on any worker answers the merged figures
(server.metrics.ProxyMetrics.render). Flags, cooldowns and disabled credentials are shared
through the Redis store, which is why N > 1 needs one. The parent announces once the port
answers, forwards SIGTERM/SIGINT by stopping every worker, and stops them all if one dies.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from types import FrameType

from server.config import Config
from server.errors import StartupError
from server.hosting import NotAnswering, base_url, wait_until_answering
from server.metrics import MULTIPROCESS_ENV

log = logging.getLogger("compatkit.server")

_STOP_GRACE_S = 10.0
_PR_SET_PDEATHSIG = 1


def why_not_workers(config: Config, workers: int) -> str | None:
    """Why `workers` processes cannot share this configuration's state, or None if they can."""
    if workers > 1 and config.state_url is None:
        return (
            f"--workers {workers} needs the shared state store ([state] url or "
            "COMPATKIT_STATE_URL=redis://...): with SQLite each worker would keep its own "
            "cooldowns and disabled credentials"
        )
    return None


def inherited_socket(fd: int) -> socket.socket:
    """The listening socket a worker inherited from the parent as file descriptor `fd`
    (StartupError if `fd` is no socket)."""
    try:
        return socket.socket(fileno=fd)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise StartupError(f"--worker-fd {fd} is not an inherited socket ({reason})") from None


def serve_workers(
    worker_argv: Sequence[str],
    sock: socket.socket,
    workers: int,
    *,
    env: Mapping[str, str],
    certified: bool,
    on_ready: Callable[[str], None],
    ready_timeout: float = 60.0,
) -> int:
    """Run `workers` copies of `worker_argv + ["--worker-fd", fd]` on `sock` until SIGTERM or
    SIGINT (0), a worker's death or no answer within `ready_timeout` (1)."""
    metrics_dir = tempfile.mkdtemp(prefix="compatkit-metrics-")
    fd = sock.fileno()
    os.set_inheritable(fd, True)
    child_env = {**os.environ, **env, MULTIPROCESS_ENV: metrics_dir}
    argv = [sys.executable, "-m", "compat_cli", "serve", *worker_argv, "--worker-fd", str(fd)]
    stop = threading.Event()
    previous = {s: signal.signal(s, _setter(stop)) for s in (signal.SIGTERM, signal.SIGINT)}
    processes: list[subprocess.Popen[bytes]] = []
    status = 0
    try:
        processes = [subprocess.Popen(argv, pass_fds=(fd,), env=child_env) for _ in range(workers)]
        url = base_url(sock, certified=certified)
        unanswered = threading.Event()
        announced = threading.Thread(
            target=_announce,
            args=(url, ready_timeout, stop, unanswered, processes, on_ready),
            daemon=True,
        )
        announced.start()
        while not stop.wait(0.2):
            dead = [p for p in processes if p.poll() is not None]
            if dead:
                log.error(
                    "worker %d exited with status %s; stopping", dead[0].pid, dead[0].returncode
                )
                status = 1
                break
        announced.join(1)
        if unanswered.is_set():
            status = 1
    finally:
        _stop_all(processes)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return status


def _die_with_parent() -> None:
    """In a worker, before exec: SIGTERM when the parent dies, even by SIGKILL (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _setter(event: threading.Event) -> Callable[[int, FrameType | None], None]:
    def handle(signum: int, frame: FrameType | None) -> None:
        event.set()

    return handle


def _announce(
    url: str,
    deadline_s: float,
    stop: threading.Event,
    unanswered: threading.Event,
    processes: Sequence[subprocess.Popen[bytes]],
    on_ready: Callable[[str], None],
) -> None:
    try:
        wait_until_answering(
            url + "/healthz",
            deadline_s=deadline_s,
            gone=lambda: stop.is_set() or any(p.poll() is not None for p in processes),
        )
    except NotAnswering:
        unanswered.set()
        stop.set()
        return
    on_ready(url)


def _stop_all(processes: Sequence[subprocess.Popen[bytes]]) -> None:
    """SIGTERM every worker, wait for each, SIGKILL the ones that outlive the grace period."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(_STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

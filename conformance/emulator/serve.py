"""Serving the emulator: `compatkit emulate` and the server plumbing tests reuse.

Operations:
- `main(argv)`: parse the command line, bind, serve until SIGINT/SIGTERM. Exit code 0 on a stop by
  signal (in any state, start-up included), 2 on a bad configuration or an unusable port, 1 if the
  server never answered. Once the server answers a real request over every protocol it serves
  (readiness.py), it prints `emulator listening on <base URL> (<server>)` and, with `--tls`,
  `emulator CA: <path>`: scripts wait on that line, and their first request is answered.
- `serve(app, sock, certificates=..., server=..., shutdown=...)`: run one in-process server on an
  already bound socket until `shutdown` is set.
- `bind_socket(host, port)`: a listening socket (port 0: a free one).

Servers (docs/performance.md has the figures and the reasoning):
- granian (the CLI default): Rust HTTP/1.1, h2c with prior knowledge and TLS + ALPN h2 on one
  listener; ~3-8x hypercorn's throughput on one core, so the emulator is never the bottleneck.
  It runs the app in its own worker process (granian_host.py), so it is for the CLI, not for
  in-process tests.
- hypercorn: the same protocols in pure Python, in-process (what `testing.running_emulator` uses).
- uvicorn (+httptools): HTTP/1.1 only; measured as the classic fast Python HTTP/1.1 listener.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from conformance.emulator.app import create_emulator
from conformance.emulator.granian_host import reserve_port, serve_granian
from conformance.emulator.readiness import NotAnswering, wait_until_answering
from conformance.emulator.scenarios import ConfigError
from conformance.emulator.tls import Certificates, make_certificates
from conformance.emulator.wire import QuietDrops

SERVERS = ("granian", "hypercorn", "uvicorn")
READY_TIMEOUT_S = 60.0  # how long to wait for the server to answer before giving up
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def bind_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening TCP socket (port 0: any free port)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def _error_logger() -> logging.Logger:
    logger = logging.getLogger("conformance.emulator.server")
    if not any(isinstance(f, QuietDrops) for f in logger.filters):
        logger.addFilter(QuietDrops())
    return logger


async def serve(
    app: Any,
    sock: socket.socket,
    *,
    certificates: Certificates | None = None,
    server: str = "hypercorn",
    shutdown: asyncio.Event,
) -> None:
    """Serve `app` on `sock` (this takes ownership of it) until `shutdown` is set."""
    if server == "uvicorn":
        if certificates is not None:
            raise ValueError("the uvicorn listener is plain HTTP/1.1; use hypercorn for TLS")
        await _serve_uvicorn(app, sock, shutdown)
        return
    from hypercorn.asyncio import serve as hypercorn_serve
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"fd://{sock.detach()}"]
    config.errorlog = _error_logger()
    config.accesslog = None
    config.keep_alive_max_requests = 1_000_000
    config.keep_alive_timeout = 75
    config.include_date_header = False
    config.include_server_header = False
    config.graceful_timeout = 1.0
    if certificates is not None:
        config.certfile = str(certificates.cert_path)
        config.keyfile = str(certificates.key_path)
    await hypercorn_serve(app, config, shutdown_trigger=shutdown.wait)


async def _serve_uvicorn(app: Any, sock: socket.socket, shutdown: asyncio.Event) -> None:
    import uvicorn

    config = uvicorn.Config(
        app,
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
        timeout_keep_alive=75,
        server_header=False,
        date_header=False,
    )
    server = uvicorn.Server(config)
    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    stop = asyncio.ensure_future(shutdown.wait())
    await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    await task
    stop.cancel()


def main(argv: Sequence[str] | None = None) -> int:
    """`compatkit emulate`: run the emulator until SIGINT/SIGTERM (exit 0), whatever its state."""
    args = _parser().parse_args(argv)
    try:
        with _stopped_by_signals():
            return _run(args)
    except _Stopped:
        return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="compatkit emulate",
        description="Run the strict Gemini API / Code Assist emulator.",
    )
    parser.add_argument(
        "--config", help="scenario TOML file (default: the packaged default_scenarios.toml)"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089, help="0 picks a free port")
    parser.add_argument(
        "--tls", action="store_true", help="serve HTTPS (ALPN h2) with a fresh test CA"
    )
    parser.add_argument(
        "--cert-dir", help="where to write ca.pem / server.pem / server.key (with --tls)"
    )
    parser.add_argument("--server", choices=SERVERS, default="granian")
    parser.add_argument("--record-jsonl", help="append every request as one JSON line to this file")
    return parser


def _run(args: argparse.Namespace) -> int:
    """Build, bind, start announcing in the background, serve; 2 for a bad configuration."""
    try:
        app = create_emulator(args.config, jsonl_path=args.record_jsonl)
    except (ConfigError, OSError) as exc:
        return _refuse(str(exc))
    if args.tls and args.server == "uvicorn":
        return _refuse("--tls needs --server granian or hypercorn")
    certificates = None
    if args.tls:
        names = ("127.0.0.1", "localhost")  # and the address it listens on, e.g. in a netns
        hosts = names if args.host in (*names, "0.0.0.0", "::") else (*names, args.host)
        certificates = make_certificates(
            args.cert_dir or tempfile.mkdtemp(prefix="compatkit-emulator-"), hosts
        )
    try:
        listener = (reserve_port if args.server == "granian" else bind_socket)(args.host, args.port)
    except OSError as exc:
        return _refuse(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
    host, port = listener.getsockname()[:2]
    announcer = _Announcer(
        f"{'https' if certificates else 'http'}://{_url_host(host)}:{port}",
        args.server,
        certificates,
    )
    announcer.start()
    try:
        if args.server == "granian":
            app.recorder.close()  # the worker builds its own app
            with listener:
                serve_granian(
                    host,
                    port,
                    config_path=args.config,
                    jsonl_path=args.record_jsonl,
                    certificates=certificates,
                )
        else:
            _serve_in_process(app, listener, certificates, args.server)
    except _Stopped:
        pass
    return 1 if announcer.failed.is_set() else 0


def _refuse(reason: str) -> int:
    print(f"compatkit emulate: {reason}", file=sys.stderr)
    return 2


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class _Stopped(Exception):
    """SIGINT or SIGTERM arrived before the server took over the signals."""


@contextlib.contextmanager
def _stopped_by_signals() -> Iterator[None]:
    """Until a server installs its own handlers, SIGINT/SIGTERM unwind start-up as `_Stopped`.

    granian's parent process and the in-process servers' event loop replace these handlers once
    they run; a second signal while unwinding is ignored rather than interrupting the unwinding.
    """

    def stop(signum: int, frame: object) -> None:
        for sig in _STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        raise _Stopped(signum)

    previous = {sig: signal.signal(sig, stop) for sig in _STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _Announcer(threading.Thread):
    """Prints the base URL (and the CA) once the server answers a real request over every
    protocol it serves, so scripts can wait on that line; stops the process if it never does."""

    def __init__(self, base_url: str, server: str, certificates: Certificates | None) -> None:
        super().__init__(name="emulator-announcer", daemon=True)
        self.base_url, self.server, self.certificates = base_url, server, certificates
        self.failed = threading.Event()

    def run(self) -> None:
        ca_path = self.certificates.ca_path if self.certificates else None
        try:
            wait_until_answering(
                self.base_url,
                http2=self.server != "uvicorn",
                ca_path=ca_path,
                deadline_s=READY_TIMEOUT_S,
            )
        except NotAnswering as exc:
            print(f"compatkit emulate: {exc}; stopping", file=sys.stderr, flush=True)
            self.failed.set()
            os.kill(os.getpid(), signal.SIGTERM)
            return
        lines = f"emulator listening on {self.base_url} ({self.server})"
        if ca_path is not None:
            lines += f"\nemulator CA: {ca_path}"
        print(lines, flush=True)


def _serve_in_process(
    app: Any, sock: socket.socket, certificates: Certificates | None, server: str
) -> None:
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    asyncio.run(_run_until_signal(app, sock, certificates, server))


async def _run_until_signal(
    app: Any, sock: socket.socket, certificates: Certificates | None, server: str
) -> None:
    shutdown = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in _STOP_SIGNALS:
        loop.add_signal_handler(sig, shutdown.set)
    await serve(app, sock, certificates=certificates, server=server, shutdown=shutdown)


if __name__ == "__main__":
    raise SystemExit(main())

"""Serving the emulator: `compatkit emulate` and the server plumbing tests reuse.

Operations:
- `main(argv)`: parse the command line, bind, print the base URL (and the CA path with `--tls`),
  serve until SIGINT/SIGTERM. Exit code 0 on a clean stop, 2 on a bad configuration.
- `serve(app, sock, certificates=..., server=..., shutdown=...)`: run one server on an already bound
  socket until `shutdown` is set.

Servers (docs/performance.md has the figures and the reasoning):
- granian (the CLI default): Rust HTTP/1.1, h2c with prior knowledge and TLS + ALPN h2 on one
  listener; ~3-8x hypercorn's throughput on one core, so the emulator is never the bottleneck.
  It runs the app in its own worker process, so it is for the CLI, not for in-process tests.
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
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conformance.emulator.app import create_emulator
from conformance.emulator.scenarios import ConfigError
from conformance.emulator.tls import Certificates, make_certificates
from conformance.emulator.wire import DroppedConnection

SERVERS = ("granian", "hypercorn", "uvicorn")
CONFIG_ENV = "COMPATKIT_EMULATOR_CONFIG"
JSONL_ENV = "COMPATKIT_EMULATOR_JSONL"
_READY_TIMEOUT_S = 30.0


class _QuietDrops(logging.Filter):
    """Hide the traceback a deliberate `drop` fault makes the server log."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, DroppedConnection)


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
    if not any(isinstance(f, _QuietDrops) for f in logger.filters):
        logger.addFilter(_QuietDrops())
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
    """`compatkit emulate`: run the emulator until interrupted."""
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
    args = parser.parse_args(argv)
    try:
        app = create_emulator(args.config, jsonl_path=args.record_jsonl)
    except (ConfigError, OSError) as exc:
        print(f"compatkit emulate: {exc}", file=sys.stderr)
        return 2
    certificates = None
    if args.tls:
        if args.server == "uvicorn":
            print("compatkit emulate: --tls needs --server granian or hypercorn", file=sys.stderr)
            return 2
        cert_dir = args.cert_dir or tempfile.mkdtemp(prefix="compatkit-emulator-")
        certificates = make_certificates(cert_dir)
    sock = bind_socket(args.host, args.port)
    host, port = sock.getsockname()[:2]
    scheme = "https" if certificates else "http"
    announce = f"emulator listening on {scheme}://{host}:{port} ({args.server})"
    if certificates:
        announce += f"\nemulator CA: {certificates.ca_path}"
    threading.Thread(target=_announce_when_ready, args=(host, port, announce), daemon=True).start()
    if args.server == "granian":
        sock.close()  # granian binds by itself; the port was only reserved
        app.recorder.close()
        _serve_granian(args, host, port, certificates)
        return 0
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    asyncio.run(_run_until_signal(app, sock, certificates, args.server))
    return 0


def _announce_when_ready(host: str, port: int, announce: str) -> None:
    """Print the base URL once the port accepts connections, so scripts can wait on that line."""
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
            print(announce, flush=True)
            return
        time.sleep(0.05)


def app_from_environment() -> Any:
    """The ASGI app granian's worker process builds (configuration passed through the environment)."""
    return create_emulator(
        os.environ.get(CONFIG_ENV) or None, jsonl_path=os.environ.get(JSONL_ENV) or None
    )


def _serve_granian(
    args: argparse.Namespace, host: str, port: int, certificates: Certificates | None
) -> None:
    from granian.constants import HTTPModes, Interfaces, Loops, RuntimeModes
    from granian.log import LogLevels
    from granian.server import Server

    os.environ[CONFIG_ENV] = str(Path(args.config).resolve()) if args.config else ""
    os.environ[JSONL_ENV] = str(Path(args.record_jsonl).resolve()) if args.record_jsonl else ""
    server = Server(
        "conformance.emulator.serve:app_from_environment",
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=1,
        runtime_threads=1,
        runtime_mode=RuntimeModes.st,
        loop=Loops.uvloop,
        http=HTTPModes.auto,
        websockets=False,
        factory=True,
        log_level=LogLevels.warning,
        ssl_cert=certificates.cert_path if certificates else None,
        ssl_key=certificates.key_path if certificates else None,
    )
    server.serve()


async def _run_until_signal(
    app: Any, sock: socket.socket, certificates: Certificates | None, server: str
) -> None:
    shutdown = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, shutdown.set)
    await serve(app, sock, certificates=certificates, server=server, shutdown=shutdown)


if __name__ == "__main__":
    raise SystemExit(main())

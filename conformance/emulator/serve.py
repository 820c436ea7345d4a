"""Serving the emulator: `compatkit emulate` and the server plumbing tests reuse.

Operations:
- `main(argv)`: parse the command line, bind, print the base URL (and the CA path with `--tls`),
  serve until SIGINT/SIGTERM. Exit code 0 on a clean stop, 2 on a bad configuration.
- `serve(app, sock, certificates=..., server=..., shutdown=...)`: run one server on an already bound
  socket until `shutdown` is set.

Servers: hypercorn (default) speaks HTTP/1.1, h2c with prior knowledge on the plain listener, and
HTTP/2 over TLS with ALPN; uvicorn (+httptools) speaks HTTP/1.1 only, and is there because it is the
faster HTTP/1.1 listener (docs/performance.md has the figures).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import socket
import sys
import tempfile
from collections.abc import Sequence
from typing import Any

from conformance.emulator.app import DroppedConnection, create_emulator
from conformance.emulator.scenarios import ConfigError
from conformance.emulator.tls import Certificates, make_certificates

SERVERS = ("hypercorn", "uvicorn")


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
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
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
    parser.add_argument("--server", choices=SERVERS, default="hypercorn")
    parser.add_argument("--record-jsonl", help="append every request as one JSON line to this file")
    args = parser.parse_args(argv)
    try:
        app = create_emulator(args.config, jsonl_path=args.record_jsonl)
    except (ConfigError, OSError) as exc:
        print(f"compatkit emulate: {exc}", file=sys.stderr)
        return 2
    certificates = None
    if args.tls:
        cert_dir = args.cert_dir or tempfile.mkdtemp(prefix="compatkit-emulator-")
        certificates = make_certificates(cert_dir)
    sock = bind_socket(args.host, args.port)
    host, port = sock.getsockname()[:2]
    scheme = "https" if certificates else "http"
    print(f"emulator listening on {scheme}://{host}:{port}", flush=True)
    if certificates:
        print(f"emulator CA: {certificates.ca_path}", flush=True)
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    asyncio.run(_run_until_signal(app, sock, certificates, args.server))
    return 0


async def _run_until_signal(
    app: Any, sock: socket.socket, certificates: Certificates | None, server: str
) -> None:
    shutdown = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, shutdown.set)
    await serve(app, sock, certificates=certificates, server=server, shutdown=shutdown)


__all__ = ["SERVERS", "bind_socket", "main", "serve"]

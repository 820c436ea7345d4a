"""`compatkit serve`: run the reference proxy on Hypercorn (HTTP/1.1 and h2c; h2 over TLS).

Operations:
    main(argv, *, fallback_upstream=None) -> int    exit status (2 for a bad configuration,
                                                    1 if the server never answered)

`--workers N` (N > 1, with the Redis state store) serves the port from N processes
(server.workers); the parent logs the listening line once the port answers.

The "compatkit proxy listening on <url>" log line comes once the proxy answers `GET /healthz`
over HTTP/1.1 and HTTP/2 (hosting.wait_until_answering): a script waiting on it can send at once.

With no upstream configured, `fallback_upstream` (a context manager factory yielding a base URL)
provides one for the lifetime of the server: the CLI passes one that starts the emulator in-process,
so `compatkit serve` with no configuration is a working demo. The server package itself never
imports the emulator (docs/design.md#import-rules: only the CLI wires parts).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager

from server.app import create_app
from server.config import ConfigError, UpstreamConfig, load_config
from server.credentials.credential import load_credentials
from server.credentials.errors import CredentialError
from server.hosting import (
    hypercorn_config,
    listening_socket,
    raise_open_file_limit,
    serve_forever,
)
from server.logs import configure_logging
from server.workers import inherited_socket, serve_workers, why_not_workers

log = logging.getLogger("compatkit.server")

FallbackUpstream = Callable[[], AbstractContextManager[str]]
"""Starts a stand-in upstream and yields its base URL (the emulator, wired by the CLI)."""


def main(
    argv: Sequence[str] | None = None, *, fallback_upstream: FallbackUpstream | None = None
) -> int:
    """Parse arguments, load the configuration, serve until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(prog="compatkit serve", description="Run the reference proxy.")
    parser.add_argument("--config", help="TOML file (default: $COMPATKIT_CONFIG, else none)")
    parser.add_argument("--host", help="override server.host")
    parser.add_argument("--port", type=int, help="override server.port (0 picks a free port)")
    parser.add_argument("--certfile", help="serve HTTPS (h2 + http/1.1 by ALPN) with this cert")
    parser.add_argument("--keyfile", help="the certificate's private key")
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes serving the one port (more than 1 needs the Redis state store)",
    )
    parser.add_argument("--worker-fd", type=int, help=argparse.SUPPRESS)  # set by server.workers
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"compatkit serve: {exc}", file=sys.stderr)
        return 2
    if args.host is not None:
        config = dataclasses.replace(config, host=args.host)
    if args.port is not None:
        config = dataclasses.replace(config, port=args.port)
    reason = "--workers must be at least 1" if args.workers < 1 else None
    reason = reason or why_not_workers(config, args.workers)
    if reason is not None:
        print(f"compatkit serve: {reason}", file=sys.stderr)
        return 2
    worker_env: dict[str, str] = {}  # what workers need to know of the parent's emulator
    with contextlib.ExitStack() as stack:
        if config.upstream is None and fallback_upstream is not None:
            base_url = stack.enter_context(fallback_upstream())
            worker_env = {
                "COMPATKIT_API_KEYS": "emulator-key",
                "COMPATKIT_GEMINI_BASE_URL": base_url,
            }
            upstream = UpstreamConfig(
                kind="gemini", api_keys=("emulator-key",), gemini_base_url=base_url
            )
            config = dataclasses.replace(config, upstream=upstream)
            log.info(
                "no upstream configured: serving against the in-process emulator at %s", base_url
            )
        try:
            load_credentials(config.upstream) if config.upstream is not None else None
        except CredentialError as exc:  # fail now, with the reason, not in a startup hook
            print(f"compatkit serve: {exc}", file=sys.stderr)
            return 2
        before, after = raise_open_file_limit()  # each client connection holds a descriptor
        log.info("open files limit (soft RLIMIT_NOFILE): %d, was %d", after, before)
        if args.worker_fd is not None:
            sock = inherited_socket(args.worker_fd)
        else:
            sock = listening_socket(config.host, config.port)
        if args.workers > 1 and args.worker_fd is None:
            return serve_workers(
                _worker_argv(args),
                sock,
                args.workers,
                env=worker_env,
                certified=bool(args.certfile),
                on_ready=lambda url: log.info(
                    "compatkit proxy listening on %s (%d workers)", url, args.workers
                ),
            )
        announce = None if args.worker_fd is not None else _announce_listening
        try:
            app = create_app(config)
            answered = serve_forever(
                app,
                sock,
                hypercorn_config(sock, certfile=args.certfile, keyfile=args.keyfile),
                on_ready=announce,
            )
        except CredentialError as exc:
            print(f"compatkit serve: {exc}", file=sys.stderr)
            return 2
    if not answered:
        print("compatkit serve: the server never answered GET /healthz; stopped", file=sys.stderr)
        return 1
    return 0


def _announce_listening(url: str) -> None:
    log.info("compatkit proxy listening on %s", url)


def _worker_argv(args: argparse.Namespace) -> list[str]:
    """What a worker is started with: the options that shape one server (the port is the fd)."""
    argv = ["--log-level", args.log_level]
    for option, value in (
        ("--config", args.config),
        ("--certfile", args.certfile),
        ("--keyfile", args.keyfile),
    ):
        if value is not None:
            argv += [option, value]
    return argv

"""`compatkit serve`: run the reference proxy on Hypercorn or granian (`--server`, or
`server.server`; HTTP/1.1 and h2c; h2 and HTTP/1.1 by ALPN over TLS).

Operations:
    main(argv, *, fallback_upstream=None) -> int    exit status: 2 for any start-up failure
                                                    (one line on stderr naming it), 1 if the
                                                    server never answered
    MAX_WORKERS                                     the largest `--workers`

Every start-up failure is a ServerError whose message is the reason (a bad command line, the
configuration and its files, the socket, the TLS files, the credentials, the app's start-up
hooks such as opening the state store): never a traceback, never a server that half starts.

`--workers N` (N > 1, with the Redis state store) serves the port from N processes
(server.workers); the parent logs the listening line once the port answers.

The "compatkit proxy listening on <url>" log line comes once the proxy answers `GET /healthz`
over HTTP/1.1 and HTTP/2 (hosting.wait_until_answering): a script waiting on it can send at once.

`--demo` (or `upstream.kind = "emulator"`) serves against `fallback_upstream` (a context manager
factory yielding a base URL) for the lifetime of the server: the CLI passes one that starts the
emulator in-process, offered as DEMO_KEYS (several credentials, so one scripted 429 cools one
of them, not the proxy), with the state in a temporary file unless one is configured. With
neither an upstream nor `--demo`, or no proxy keys without `allow_any_key`, serve refuses to
start (server.config.check_servable). The server package itself never imports the emulator
(docs/design.md#import-rules: only the CLI wires parts).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import NoReturn

from server.app import create_app
from server.config import (
    Config,
    UpstreamConfig,
    check_servable,
    listen_address_overridden,
    load_config,
    server_overridden,
)
from server.credentials.credential import load_credentials
from server.errors import ServerError, StartupError
from server.hosting import (
    hosting,
    listening_socket,
    raise_open_file_limit,
    serve_forever,
)
from server.logs import configure_logging
from server.upstream.transports import ssl_verify
from server.workers import inherited_socket, serve_workers, why_not_workers

log = logging.getLogger("compatkit.server")

FallbackUpstream = Callable[[], AbstractContextManager[str]]
"""Starts a stand-in upstream and yields its base URL (the emulator, wired by the CLI)."""

DEMO_KEYS = ("emulator-key-1", "emulator-key-2", "emulator-key-3")
"""The API keys the demo offers the emulator (which accepts any)."""


MAX_WORKERS = 64


class _Parser(argparse.ArgumentParser):
    """argparse, with a bad command line reported in one line (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def main(
    argv: Sequence[str] | None = None, *, fallback_upstream: FallbackUpstream | None = None
) -> int:
    """Parse arguments, load the configuration, serve until SIGINT/SIGTERM."""
    parser = _Parser(prog="compatkit serve", description="Run the reference proxy.")
    parser.add_argument("--config", help="TOML file (default: $COMPATKIT_CONFIG, else none)")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="serve against the built-in Gemini emulator (made-up answers, any client key)",
    )
    parser.add_argument("--host", help="override server.host")
    parser.add_argument("--port", help="override server.port (0 picks a free port)")
    parser.add_argument("--server", help="override server.server: hypercorn or granian")
    parser.add_argument("--certfile", help="serve HTTPS (h2 + http/1.1 by ALPN) with this cert")
    parser.add_argument("--keyfile", help="the certificate's private key (needed with --certfile)")
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    parser.add_argument(
        "--workers",
        type=_workers,
        default=1,
        help=f"processes serving the one port, 1-{MAX_WORKERS} (more than 1 needs the Redis "
        "state store)",
    )
    parser.add_argument("--worker-fd", type=int, help=argparse.SUPPRESS)  # set by server.workers
    parser.add_argument("--demo-upstream", help=argparse.SUPPRESS)  # a worker: the parent's
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    try:
        return _serve(args, fallback_upstream)
    except ServerError as exc:  # a configuration, a file, a socket, a start-up hook
        print(f"compatkit serve: {_one_line(exc)}", file=sys.stderr)
        return 2


def _serve(args: argparse.Namespace, fallback_upstream: FallbackUpstream | None) -> int:
    """Serve; a ServerError on the way names why it cannot (the checks come before anything
    starts: the configuration, the socket, the TLS files, the credentials)."""
    demo = args.demo or args.demo_upstream is not None
    config = listen_address_overridden(load_config(args.config, demo=demo), args.host, args.port)
    config = server_overridden(config, args.server)
    check_servable(config)
    reason = why_not_workers(config, args.workers)
    if reason is not None:
        raise StartupError(reason)
    if args.worker_fd is not None:
        sock = inherited_socket(args.worker_fd)
    else:
        sock = listening_socket(config.host, config.port)
    served = hosting(sock, server=config.server, certfile=args.certfile, keyfile=args.keyfile)
    with contextlib.ExitStack() as stack:
        demo_argv: list[str] = []  # what workers need to know of the parent's emulator
        if config.demo:
            if args.demo_upstream is not None:
                base_url = args.demo_upstream
            elif fallback_upstream is not None:
                base_url = stack.enter_context(fallback_upstream())
            else:
                raise StartupError("the demo needs the emulator: run compatkit serve --demo")
            demo_argv = ["--demo-upstream", base_url]
            config = _demo_config(config, base_url, stack)
        if config.upstream is not None:  # fail now, with the reason, not in a start-up hook
            load_credentials(config.upstream)
            ssl_verify(config.upstream)  # a ca_file that is not PEM, in the parent of workers too
        where = "--server" if args.server else config.sources.get("server.server", "default")
        log.info("ASGI server: %s (%s)", config.server, where)
        before, after = raise_open_file_limit()  # each client connection holds a descriptor
        log.info("open files limit (soft RLIMIT_NOFILE): %d, was %d", after, before)
        if args.workers > 1 and args.worker_fd is None:
            return serve_workers(
                _worker_argv(args) + demo_argv,
                sock,
                args.workers,
                env={},
                certified=served.tls is not None,
                on_ready=lambda url: log.info(
                    "compatkit proxy listening on %s (%d workers)", url, args.workers
                ),
            )
        announce = None if args.worker_fd is not None else _announce_listening
        answered = serve_forever(create_app(config), served, on_ready=announce)
    if not answered:
        print("compatkit serve: the server never answered GET /healthz; stopped", file=sys.stderr)
        return 1
    return 0


def _demo_config(config: Config, base_url: str, stack: contextlib.ExitStack) -> Config:
    """The demo's configuration: the emulator as a Gemini API upstream with DEMO_KEYS, and
    the state in a temporary file (gone at exit) unless a state path or URL is configured."""
    log.info("demo: serving against the in-process emulator at %s", base_url)
    upstream = UpstreamConfig(kind="gemini", api_keys=DEMO_KEYS, gemini_base_url=base_url)
    config = dataclasses.replace(config, upstream=upstream)
    if "state.path" in config.sources or "state.url" in config.sources:
        return config
    directory = stack.enter_context(tempfile.TemporaryDirectory(prefix="compatkit-demo-"))
    return dataclasses.replace(config, state_path=os.path.join(directory, "state.sqlite3"))


def _workers(text: str) -> int:
    """`--workers`: an integer from 1 to MAX_WORKERS."""
    try:
        workers = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if not 1 <= workers <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"must be from 1 to {MAX_WORKERS}, got {workers}")
    return workers


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _announce_listening(url: str) -> None:
    log.info("compatkit proxy listening on %s", url)


def _worker_argv(args: argparse.Namespace) -> list[str]:
    """What a worker is started with: the options that shape one server (the port is the fd)."""
    argv = ["--log-level", args.log_level]
    for option, value in (
        ("--config", args.config),
        ("--certfile", args.certfile),
        ("--keyfile", args.keyfile),
        ("--server", args.server),
    ):
        if value is not None:
            argv += [option, value]
    return argv

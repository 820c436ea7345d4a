"""`compatkit serve`: run the reference proxy on Hypercorn (HTTP/1.1 and h2c; h2 over TLS).

Operations:
    main(argv, *, fallback_upstream=None) -> int    exit status (2 for a bad configuration,
                                                    1 if the server never answered)

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
from server.hosting import hypercorn_config, listening_socket, serve_forever
from server.logs import configure_logging

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
    with contextlib.ExitStack() as stack:
        if config.upstream is None and fallback_upstream is not None:
            base_url = stack.enter_context(fallback_upstream())
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
        sock = listening_socket(config.host, config.port)
        try:
            app = create_app(config)
            answered = serve_forever(
                app,
                sock,
                hypercorn_config(sock, certfile=args.certfile, keyfile=args.keyfile),
                on_ready=lambda url: log.info("compatkit proxy listening on %s", url),
            )
        except CredentialError as exc:
            print(f"compatkit serve: {exc}", file=sys.stderr)
            return 2
    if not answered:
        print("compatkit serve: the server never answered GET /healthz; stopped", file=sys.stderr)
        return 1
    return 0

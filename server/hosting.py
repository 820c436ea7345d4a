"""Hosting an ASGI app on Hypercorn (server.hypercorn_serving) or granian
(server.granian_serving): in the foreground (`compatkit serve`) or in a thread.

Operations:
    listening_socket(host, port) -> socket        bound and listening; port 0 picks a free one
    tls_files(certfile, keyfile) -> TlsFiles | None
                                                   both TLS files or neither, a PEM certificate
                                                   and its key (checked)
    hosting(sock, *, server, certfile, keyfile) -> Hosting
                                                   how an app is served: which server, on which
                                                   socket, with which TLS files (checked)
    hypercorn_config(sock, *, certfile, keyfile) -> hypercorn Config
    StartupError (server.errors)                   why any of them cannot be, in one line
    serve_forever(app, hosting, *, on_ready)       run until SIGINT/SIGTERM (the CLI); call
                                                   on_ready(url) once the app answers
    ServerThread(app, *, server, ...) as server    run in a background thread, `server.url`;
                                                   started once the app answers a probe;
                                                   used by tests and benchmarks
    wait_until_answering(url, *, deadline_s, http2)
                                                   the probe: `GET url` answered over HTTP/1.1
                                                   and (with http2) HTTP/2
    base_url(sock, *, certified) -> str            `http(s)://host:port` of a socket
    raise_open_file_limit() -> (before, after)     soft RLIMIT_NOFILE raised to the hard limit

Goals: HTTP/1.1 and h2c (prior knowledge; on Hypercorn also by Upgrade) on plain sockets, h2
and HTTP/1.1 by ALPN over TLS when a certificate is given; the socket is created here and
handed to the server by file descriptor, so a caller knows the port before the server starts
and no port is ever raced for. Both servers stop the same way: stop accepting, give requests
in flight GRACEFUL_TIMEOUT_S, then close what is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import resource
import signal
import socket
import ssl
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx
from hypercorn.config import Config as HypercornConfig

from server.config import DEFAULT_SERVER, ServerName
from server.errors import ServerError, StartupError
from server.granian_serving import TlsFiles, serve_granian
from server.hypercorn_serving import serve_hypercorn

GRACEFUL_TIMEOUT_S = 2.0
"""How long requests in flight may run on once the server is told to stop."""


def listening_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A TCP socket bound to (host, port) and listening; port 0 picks a free port.
    StartupError says why it cannot be (the port in use, an address not of this machine)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except (OSError, OverflowError, UnicodeError) as exc:
        sock.close()
        address = f"[{host}]:{port}" if family == socket.AF_INET6 else f"{host}:{port}"
        raise StartupError(f"cannot listen on {address}: {_bind_failure(exc)}") from None
    sock.setblocking(False)
    return sock


def _bind_failure(exc: BaseException) -> str:
    if isinstance(exc, socket.gaierror):
        return f"the host is not an address or a name that resolves ({exc.strerror})"
    reasons = {
        errno.EADDRINUSE: "the port is already in use",
        errno.EADDRNOTAVAIL: "the address is not one of this machine's",
        errno.EACCES: "permission denied (ports below 1024 need privileges)",
    }
    if isinstance(exc, OSError):
        return reasons.get(exc.errno or 0, exc.strerror or str(exc))
    return str(exc)


def hypercorn_config(
    sock: socket.socket, *, certfile: str | None = None, keyfile: str | None = None
) -> HypercornConfig:
    """A Hypercorn config serving on `sock`, quiet, with long-lived streams allowed; TLS
    (h2 and http/1.1 by ALPN) with both `certfile` and `keyfile`, which are checked here
    (StartupError: one without the other, a file that is not a PEM certificate or key)."""
    config = HypercornConfig()
    config.bind = [f"fd://{sock.fileno()}"]
    config.accesslog = None
    config.errorlog = None
    config.keep_alive_timeout = 75
    config.graceful_timeout = GRACEFUL_TIMEOUT_S
    # HTTP/2: many concurrent streams per connection, windows large enough for bursts.
    config.h2_max_concurrent_streams = 256
    config.h2_max_inbound_frame_size = 2**20
    tls = tls_files(certfile, keyfile)
    if tls is None:
        return config
    config.certfile = tls.certfile
    config.keyfile = tls.keyfile
    config.alpn_protocols = ["h2", "http/1.1"]
    return config


def tls_files(certfile: str | None, keyfile: str | None) -> TlsFiles | None:
    """The TLS files, None for neither; StartupError for one without the other, or files that
    are not a PEM certificate and its private key."""
    if certfile is None and keyfile is None:
        return None
    if certfile is None or keyfile is None:
        given, missing = (
            ("--certfile", "--keyfile") if keyfile is None else ("--keyfile", "--certfile")
        )
        raise StartupError(f"{given} needs {missing} too: HTTPS needs the certificate and its key")
    for option, path in (("--certfile", certfile), ("--keyfile", keyfile)):
        _check_regular_file(option, path)
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(certfile, keyfile)
    except (ssl.SSLError, OSError) as exc:
        raise StartupError(
            f"--certfile {certfile} and --keyfile {keyfile} are not a PEM certificate and "
            f"its private key ({_tls_failure(exc)})"
        ) from None
    return TlsFiles(certfile, keyfile)


@dataclass(frozen=True, slots=True)
class Hosting:
    """How an app is served: by `server` on `sock`, over TLS with `tls`."""

    server: ServerName
    sock: socket.socket
    tls: TlsFiles | None
    hypercorn: HypercornConfig | None  # Hypercorn's configuration, when it is the server

    @property
    def url(self) -> str:
        return base_url(self.sock, certified=self.tls is not None)


def hosting(
    sock: socket.socket,
    *,
    server: ServerName = DEFAULT_SERVER,
    certfile: str | None = None,
    keyfile: str | None = None,
) -> Hosting:
    """How to serve on `sock` with `server` (the TLS files checked: StartupError)."""
    tls = tls_files(certfile, keyfile)
    if server == "hypercorn":
        config = hypercorn_config(sock, certfile=certfile, keyfile=keyfile)
        return Hosting(server, sock, tls, config)
    return Hosting(server, sock, tls, None)


def _tls_failure(exc: OSError) -> str:
    reason = getattr(exc, "reason", None)
    if reason == "KEY_VALUES_MISMATCH":
        return "the key is not the certificate's"
    if reason is not None:
        return str(reason)
    if isinstance(exc, ssl.SSLError):  # OpenSSL's "PEM lib": no PEM block could be read
        return "no PEM certificate or key could be read"
    return exc.strerror or str(exc)


def _check_regular_file(option: str, path: str) -> None:
    """StartupError unless `path` is a readable regular file (checked before opening: a FIFO
    nobody writes would block the start)."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise StartupError(f"{option} {path}: {exc.strerror}") from None
    if not stat.S_ISREG(mode):
        raise StartupError(f"{option} {path} is not a regular file")


async def serve_until(app: Any, hosting: Hosting, stop: asyncio.Event) -> None:
    """Serve `app` until `stop` is set."""
    if hosting.hypercorn is not None:
        await serve_hypercorn(app, hosting.hypercorn, shutdown_trigger=stop.wait)
        return
    await serve_granian(
        app,
        hosting.sock,
        tls=hosting.tls,
        shutdown_trigger=stop.wait,
        graceful_timeout=GRACEFUL_TIMEOUT_S,
    )


def serve_forever(
    app: Any,
    hosting: Hosting,
    *,
    on_ready: Callable[[str], None] | None = None,
    ready_timeout: float = 60.0,
) -> bool:
    """Serve in the foreground until SIGINT or SIGTERM.

    `on_ready(url)` is called (from a thread) once the app answers `GET /healthz` over every
    protocol it serves; if it does not within `ready_timeout`, the server stops and this returns
    False.
    """
    answered = threading.Event()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        if on_ready is not None:
            url = hosting.url

            def announce() -> None:
                try:
                    wait_until_answering(url + "/healthz", deadline_s=ready_timeout)
                except NotAnswering:
                    loop.call_soon_threadsafe(stop.set)
                    return
                answered.set()
                on_ready(url)

            threading.Thread(target=announce, name="server-announcer", daemon=True).start()
        await serve_until(app, hosting, stop)

    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())
    return on_ready is None or answered.is_set()


def base_url(sock: socket.socket, *, certified: bool) -> str:
    """`http(s)://host:port` of a listening socket."""
    host, port = sock.getsockname()[:2]
    return f"{'https' if certified else 'http'}://{f'[{host}]' if ':' in host else host}:{port}"


def raise_open_file_limit() -> tuple[int, int]:
    """Raise the soft RLIMIT_NOFILE to the hard limit (each client connection holds a
    descriptor; distributions often start processes at a soft 1024). Returns the soft limit
    before and after; unchanged where the system refuses."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft == hard:
        return soft, soft
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return soft, resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class NotAnswering(ServerError):
    """A server did not answer a probe in time."""


def wait_until_answering(
    url: str, *, deadline_s: float, http2: bool = True, gone: Callable[[], bool] = lambda: False
) -> None:
    """Return once `GET url` is answered over HTTP/1.1 and, with `http2`, over HTTP/2 (h2c with
    prior knowledge, or ALPN h2 over TLS): a listening socket is not a server, Hypercorn answers
    only after the app's start-up hooks ran. Raise NotAnswering past the deadline or once
    `gone()`."""
    deadline = time.monotonic() + deadline_s
    for http2_probe in (False, True) if http2 else (False,):
        # verify=False: a probe of our own socket; the certificate is not what is probed
        with httpx.Client(
            http1=not http2_probe, http2=http2_probe, verify=False, timeout=2.0
        ) as client:
            while True:
                try:
                    client.get(url)
                    break
                except httpx.TransportError as exc:
                    if time.monotonic() > deadline or gone():
                        raise NotAnswering(f"{url} did not answer: {exc!r}") from None
                    time.sleep(0.02)


class ServerThread:
    """An ASGI app served by Hypercorn (or `server`) on 127.0.0.1 in a background thread.

    Use as a context manager; `url` is `http://127.0.0.1:<port>` (https with a certificate).
    """

    def __init__(
        self,
        app: Any,
        *,
        host: str = "127.0.0.1",
        server: ServerName = DEFAULT_SERVER,
        certfile: str | None = None,
        keyfile: str | None = None,
        startup_timeout: float = 20.0,
        probe_path: str | None = "/healthz",
    ) -> None:
        self.app = app
        self._sock = listening_socket(host, 0)
        self._hosting = hosting(self._sock, server=server, certfile=certfile, keyfile=keyfile)
        self.port = int(self._sock.getsockname()[1])
        self.url = self._hosting.url
        self._startup_timeout = startup_timeout
        self._probe_path = probe_path
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"server:{self.port}", daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self._started.set()
            await serve_until(self.app, self._hosting, self._stop)

        try:
            asyncio.run(main())
        except BaseException as exc:  # reported to the thread that waits on us
            self._error = exc
            self._started.set()

    def run_in_loop(self, coroutine: Any) -> Any:
        """Run a coroutine on the server's loop from another thread and return its result."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(30)

    def start(self) -> ServerThread:
        self._thread.start()
        if not self._started.wait(self._startup_timeout) or self._error is not None:
            raise RuntimeError(f"server did not start: {self._error!r}")
        if self._probe_path is not None:
            self._wait_until_serving()
        return self

    def _wait_until_serving(self) -> None:
        # HTTP/1.1 only: one Hypercorn listener serves both protocols, so one answer proves it
        # serves. A prior HTTP/2 exchange warms Hypercorn's h2 path enough to make its KeyError
        # on DATA after an early answer (hypercorn#329, unfixed in 0.18) several times likelier
        # in the tests that answer HTTP/2 requests before reading their body.
        try:
            wait_until_answering(
                self.url + str(self._probe_path),
                deadline_s=self._startup_timeout,
                http2=False,
                gone=lambda: self._error is not None,
            )
        except NotAnswering as exc:
            raise RuntimeError(f"server did not answer: {self._error!r}") from exc

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
        with contextlib.suppress(OSError):  # Hypercorn may have closed the descriptor (granian
            # has its own duplicate)
            self._sock.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

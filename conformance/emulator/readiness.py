"""Readiness: a server is ready once it answers a real request over every transport it serves.

Operations:
- `wait_until_answering(base_url, *, http2=True, ca_path=None, deadline_s=60, gone=...)`: return
  once `GET /_emulator/health` was answered 200 over HTTP/1.1 and (with `http2`) over HTTP/2: h2c
  with prior knowledge on `http://`, ALPN h2 on `https://`, the certificate checked against
  `ca_path`. Raise `NotAnswering` when `deadline_s` passes or `gone()` says the server has stopped.

Why a real request and not a TCP connect: a socket that accepts is not a server that answers.
granian binds in its worker process only after the app has loaded; Hypercorn queues connections
in the listening socket's backlog until its lifespan start-up ran; a TLS listener can accept TCP
and still fail every handshake. Only an answer, over the protocol a client will use, proves that a
client's first request will be answered.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
from pathlib import Path

import httpx

HEALTH_PATH = "/_emulator/health"
_ATTEMPT_TIMEOUT_S = 5.0
_RETRY_PAUSE_S = 0.02


class NotAnswering(RuntimeError):
    """The server did not answer the readiness request in time (or stopped)."""


def wait_until_answering(
    base_url: str,
    *,
    http2: bool = True,
    ca_path: str | Path | None = None,
    deadline_s: float = 60.0,
    gone: Callable[[], bool] = lambda: False,
) -> None:
    """Block until `base_url` answers `GET /_emulator/health` over each protocol it serves."""
    deadline = time.monotonic() + deadline_s
    for http_version in ("HTTP/1.1", "HTTP/2") if http2 else ("HTTP/1.1",):
        with _client(http_version, ca_path) as client:
            last = _until_answered(client, base_url + HEALTH_PATH, http_version, deadline, gone)
        if last is not None:
            raise NotAnswering(
                f"{base_url} did not answer over {http_version} within {deadline_s:g} s ({last})"
            )


def _client(http_version: str, ca_path: str | Path | None) -> httpx.Client:
    verify: ssl.SSLContext | bool = (
        ssl.create_default_context(cafile=str(ca_path)) if ca_path is not None else True
    )
    h2 = http_version == "HTTP/2"  # h2 only: ALPN offers just h2 on TLS, prior knowledge on h2c
    return httpx.Client(http1=not h2, http2=h2, verify=verify, timeout=_ATTEMPT_TIMEOUT_S)


def _until_answered(
    client: httpx.Client, url: str, http_version: str, deadline: float, gone: Callable[[], bool]
) -> str | None:
    """None once answered; otherwise why the last attempt failed, when the deadline passed."""
    while True:
        try:
            response = client.get(
                url, timeout=max(0.1, min(_ATTEMPT_TIMEOUT_S, deadline - time.monotonic()))
            )
            if response.status_code == 200 and response.http_version == http_version:
                return None
            why = f"answered {response.status_code} over {response.http_version}"
        except httpx.TransportError as exc:
            why = f"{type(exc).__name__}: {exc}"
        if gone():
            return f"the server stopped; last attempt: {why}"
        if time.monotonic() >= deadline:
            return why
        time.sleep(_RETRY_PAUSE_S)

"""One request through geventhttpclient, measured as its bytes arrive, reported to Locust.

Operations
    exchange(user, request) -> Exchanged        send, read, measure (ResponseMeter), fire
                                                Locust's request events, record the sample
    Request(label, protocol, path, body, headers, stream, workload, keep_body)
    Exchanged(measured, body)                   the measurements; the body's bytes when asked
    report(events, name, measured, ...)         the request events of one measured reply

The events Locust shows (request type = the metric, name = the route and the workload, so a
table sorted by name puts one request kind's rows together; times in ms)
    E2E   the whole reply (message_stop, [DONE], the end of the body); the one row that counts
          failures, each typed (loadtests/_locust/_failures.py)
    TTFB  the response headers: what Locust itself would report for a stream
    TTFT  the first content delta, ITL each gap between deltas, TPOT per output token after
          the first; only for complete replies (docs/design.md, "Metric names")

Plan
    The request goes through the user's own connection pool (FastHttpUser's geventhttpclient
    client pool, keyed by host), without Locust's session: the session reads an error body
    only as far as it happens to be buffered and reports a stream at its headers
    (docs/reference/benchmarking.md#locust). A stream is read line by line (readline(b"\n")
    returns each line as soon as it lands; read(n) would wait for n bytes, which delays every
    event of an SSE stream), each line stamped with time.perf_counter() when it was read.
    Every failure of the transport becomes the meter's error: a timeout, a refused or broken
    connection, a reply that does not parse. Nothing raises into Locust but a bug.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from geventhttpclient.response import HTTPConnectionClosed, HTTPParseError
from geventhttpclient.url import URL

from loadtests._common import Measured, Protocol, ResponseMeter
from loadtests._locust._failures import failure_for

__all__ = ["Exchanged", "Request", "exchange", "report"]


@dataclass(frozen=True)
class Request:
    """What to send, and how Locust names it."""

    label: str  # the name in Locust's tables
    protocol: Protocol
    path: str
    body: bytes
    headers: dict[str, str]
    stream: bool
    workload: str
    keep_body: bool = False  # the agent reads its reply


@dataclass(frozen=True)
class Exchanged:
    """One request's measurements (and its body, when kept)."""

    measured: Measured
    body: bytes


def exchange(user: Any, request: Request) -> Exchanged:
    """Send `request` as `user` (a CompatkitUser), measure it, report it, record it."""
    url = URL(user.host.rstrip("/") + request.path)
    headers = {**request.headers, "accept-encoding": "identity"}
    kept: list[bytes] = []
    received = 0
    start_wall = time.time()
    sent = time.perf_counter()
    meter = ResponseMeter(request.protocol, sent=sent, stream=request.stream)
    try:
        client = user.client.client.clientpool.get_client(url)
        response = client.request("POST", url.request_uri, body=request.body, headers=headers)
    except TimeoutError as exc:
        meter.fail("timeout", "timeout", f"no response within {user.network_timeout:g} s: {exc}")
    except HTTPParseError as exc:  # an answer that is not HTTP
        meter.fail("protocol", "bad_http", str(exc))
    except (OSError, HTTPConnectionClosed) as exc:
        meter.fail("connect", type(exc).__name__, str(exc))
    else:
        received = _read(response, meter, kept if request.keep_body else None)
    measured = meter.result()
    report(user.environment.events, request.label, measured, start_wall, received)
    user.run_log.record(
        measured, start_wall=start_wall, workload=request.workload, stream=request.stream
    )
    return Exchanged(measured, b"".join(kept))


def _read(response: Any, meter: ResponseMeter, kept: list[bytes] | None) -> int:
    """Feed the meter the response as it arrives (keeping the bytes when `kept` is a list);
    the number of body bytes read."""
    content_type = response.get("content-type") or ""
    meter.headers(response.status_code, str(content_type), time.perf_counter())
    received = 0
    try:
        while True:
            line = response.readline(b"\n") or response.read()  # read(): a last unended line
            now = time.perf_counter()
            if not line:
                break
            received += len(line)
            meter.feed(line, now)
            if kept is not None:
                kept.append(line)
        meter.end(time.perf_counter())
    except TimeoutError as exc:
        meter.fail("timeout", "timeout", f"the reply stalled: {exc}")
    except (HTTPConnectionClosed, HTTPParseError):  # the body ended before its end
        meter.end(time.perf_counter())  # the meter says what is missing (truncated, bad JSON)
    except OSError as exc:  # reset mid-reply
        meter.fail("connect", type(exc).__name__, str(exc))
    finally:
        response.release()
    return received


def report(
    events: Any, name: str, measured: Measured, start_wall: float, received: int = 0
) -> None:
    """Fire the request events of one measured reply (see the module docstring)."""
    error = measured.error
    failure = None if error is None else failure_for(error, measured.status)
    elapsed = measured.e2e if measured.e2e is not None else time.time() - start_wall
    fire = events.request.fire
    common: dict[str, Any] = {
        "name": name,
        "context": {},
        "response": None,
        "start_time": start_wall,
        "url": name,
    }
    fire(request_type="E2E", response_time=elapsed * 1000, response_length=received,
         exception=failure, **common)  # fmt: skip
    if measured.ttfb is not None:
        fire(request_type="TTFB", response_time=measured.ttfb * 1000, response_length=0,
             exception=None, **common)  # fmt: skip
    if failure is not None:
        return
    if measured.ttft is not None:
        fire(request_type="TTFT", response_time=measured.ttft * 1000, response_length=0,
             exception=None, **common)  # fmt: skip
    for gap in measured.itl:
        fire(request_type="ITL", response_time=gap * 1000, response_length=0, exception=None,
             **common)  # fmt: skip
    if measured.tpot is not None:
        fire(request_type="TPOT", response_time=measured.tpot * 1000, response_length=0,
             exception=None, **common)  # fmt: skip

"""The private httpcore API that server.upstream.connections and server.upstream.pool rely
on is still what it was.

A release of httpcore that renames, removes or reshapes one of them fails here, naming the
attribute, instead of silently running the proxy on httpcore's anyio locks or without the
HTTP/2 streams' own waiting (an attribute we replace that httpcore no longer reads is a
change nothing else would notice).

Rules checked:
- the installed httpcore is inside the pin (pyproject.toml: httpcore>=1.0.5,<1.1);
- every name of HTTPCORE_PRIVATE_API exists on a stock instance of its class (or, for the
  HTTP/2 stream-slot semaphore, is made where we intercept it);
- the methods we override or call keep their parameters (the connection's constructor, which
  our pool calls, included), httpcore still calls the ones we override, under the lock we
  watch, and its connections still behave as our pool (server.upstream.pool) assumes.
"""

from __future__ import annotations

import inspect
from typing import Any

import httpcore
import pytest
from httpcore._async.http2 import HTTP2ConnectionByteStream
from httpcore._synchronization import AsyncSemaphore

from server.upstream.connections import HTTPCORE_PRIVATE_API

ORIGIN = httpcore.Origin(b"https", b"upstream.invalid", 443)


def _stock(cls: type[Any]) -> Any:
    """A fresh instance of one of httpcore's classes (no I/O happens on construction)."""
    if cls is httpcore.AsyncHTTPConnection:
        return cls(ORIGIN)
    if cls is AsyncSemaphore:
        return cls(1)
    return cls(ORIGIN, httpcore.AsyncMockStream([]))


def _where(cls: type[Any], name: str) -> str:
    return (
        f"httpcore {httpcore.__version__} changed {cls.__name__}.{name}, which "
        "server.upstream.connections or .pool relies on (see HTTPCORE_PRIVATE_API)"
    )


def test_the_installed_httpcore_is_inside_the_pin() -> None:
    major, minor, patch = (int(part) for part in httpcore.__version__.split(".")[:3])
    assert (major, minor) == (1, 0) and patch >= 5, _where(httpcore.AsyncHTTPConnection, "*")


RELIED_ON = [(cls, name) for cls, names in HTTPCORE_PRIVATE_API.items() for name in names]


@pytest.mark.parametrize(
    ("cls", "name"), RELIED_ON, ids=[f"{cls.__name__}.{name}" for cls, name in RELIED_ON]
)
def test_every_private_name_we_rely_on_is_still_there(cls: type[Any], name: str) -> None:
    if name == "_max_streams_semaphore":  # made when the connection is initialised
        made = "self._max_streams_semaphore = AsyncSemaphore("
        assert made in inspect.getsource(cls.handle_async_request), _where(cls, name)
        return
    assert hasattr(_stock(cls), name), _where(cls, name)


PARAMETERS = {
    (httpcore.AsyncHTTPConnection, "__init__"): [
        "self",
        "origin",
        "ssl_context",
        "keepalive_expiry",
        "http1",
        "http2",
        "retries",
        "local_address",
        "uds",
        "network_backend",
        "socket_options",
    ],
    (httpcore.AsyncHTTPConnection, "_connect"): ["self", "request"],
    (httpcore.AsyncHTTP11Connection, "__init__"): ["self", "origin", "stream", "keepalive_expiry"],
    (httpcore.AsyncHTTP2Connection, "__init__"): ["self", "origin", "stream", "keepalive_expiry"],
    (httpcore.AsyncHTTP2Connection, "_receive_stream_event"): ["self", "request", "stream_id"],
    (httpcore.AsyncHTTP2Connection, "_receive_events"): ["self", "request", "stream_id"],
    (httpcore.AsyncHTTP2Connection, "_wait_for_outgoing_flow"): ["self", "request", "stream_id"],
    (httpcore.AsyncHTTP2Connection, "_read_incoming_data"): ["self", "request"],
    (httpcore.AsyncHTTP11Connection, "_send_event"): ["self", "event", "timeout"],
    (httpcore.AsyncHTTP2Connection, "_send_request_headers"): ["self", "request", "stream_id"],
    (httpcore.AsyncHTTP2Connection, "_send_request_body"): ["self", "request", "stream_id"],
    (httpcore.AsyncHTTP2Connection, "_write_outgoing_data"): ["self", "request"],
    (httpcore.AsyncHTTP2Connection, "_send_connection_init"): ["self", "request"],
    (httpcore.AsyncHTTP2Connection, "_receive_response_body"): ["self", "request", "stream_id"],
}


@pytest.mark.parametrize(
    ("method", "expected"),
    list(PARAMETERS.items()),
    ids=[f"{cls.__name__}.{name}" for cls, name in PARAMETERS],
)
def test_the_methods_we_override_or_call_keep_their_parameters(
    method: tuple[type[Any], str], expected: list[str]
) -> None:
    cls, name = method
    parameters = list(inspect.signature(getattr(cls, name)).parameters)
    assert parameters == expected, _where(cls, name) + f": parameters now {parameters}"


CALLS = [
    # (class, method, what its source must still contain for our override to take effect)
    # server.upstream.pool: a busy HTTP/1.1 connection refuses a second request (a would-be
    # HTTP/2 connection that ALPN made HTTP/1.1), a connection still connecting is available
    # only if it may become HTTP/2, and an idle one with bytes or EOF waiting has expired:
    (httpcore.AsyncHTTP11Connection, "handle_async_request", "raise ConnectionNotAvailable()"),
    (httpcore.AsyncHTTPConnection, "is_available", "if self._connection is None:"),
    (httpcore.AsyncHTTPConnection, "is_available", "self._http2"),
    (httpcore.AsyncHTTP11Connection, "has_expired", 'get_extra_info("is_readable")'),
    (httpcore.AsyncHTTP2Connection, "_receive_response", "self._receive_stream_event("),
    (httpcore.AsyncHTTP2Connection, "_receive_response_body", "self._receive_stream_event("),
    (httpcore.AsyncHTTP2Connection, "_send_stream_data", "self._wait_for_outgoing_flow("),
    (httpcore.AsyncHTTP2Connection, "_receive_events", "async with self._read_lock:"),
    (httpcore.AsyncHTTP2Connection, "_receive_events", "self._read_incoming_data("),
    # a request in one write: HTTP/1.1 sends its parts as h11 events through _send_event,
    # HTTP/2 through the two methods we replace (the first repeats httpcore's header mapping);
    # every HTTP/2 send goes through _write_outgoing_data:
    (httpcore.AsyncHTTP11Connection, "_send_request_headers", "await self._send_event(event"),
    (httpcore.AsyncHTTP11Connection, "_send_request_body", "h11.EndOfMessage(), timeout"),
    (httpcore.AsyncHTTP2Connection, "handle_async_request", "self._send_request_headers("),
    (httpcore.AsyncHTTP2Connection, "handle_async_request", "self._send_request_body("),
    (httpcore.AsyncHTTP2Connection, "_send_request_headers", '(b":authority", authority),'),
    (httpcore.AsyncHTTP2Connection, "_send_request_headers", "(2**24, stream_id=stream_id)"),
    (httpcore.AsyncHTTP2Connection, "_receive_response_body", "self._write_outgoing_data("),
    (httpcore.AsyncHTTP2Connection, "_write_outgoing_data", "self._h2_state.data_to_send()"),
    # our SETTINGS repeat httpcore's (opening every stream's window instead of each one's),
    # and the reply's body is read through the method we replace:
    (httpcore.AsyncHTTP2Connection, "handle_async_request", "self._send_connection_init("),
    (httpcore.AsyncHTTP2Connection, "_send_connection_init", "MAX_CONCURRENT_STREAMS: 100"),
    (
        httpcore.AsyncHTTP2Connection,
        "_send_connection_init",
        "increment_flow_control_window(2**24)",
    ),
    (HTTP2ConnectionByteStream, "__aiter__", "self._connection._receive_response_body("),
    # Connection.handle_async_request repeats httpcore's, choosing our protocol classes:
    (httpcore.AsyncHTTPConnection, "handle_async_request", "async with self._request_lock:"),
    (httpcore.AsyncHTTPConnection, "handle_async_request", "await self._connect(request)"),
    (httpcore.AsyncHTTPConnection, "handle_async_request", 'selected_alpn_protocol() == "h2"'),
    (httpcore.AsyncHTTPConnection, "handle_async_request", "self._http2 and not self._http1"),
    (httpcore.AsyncHTTPConnection, "handle_async_request", "self._connect_failed = True"),
]


@pytest.mark.parametrize(
    ("cls", "name", "needle"),
    CALLS,
    ids=[f"{c.__name__}.{n}-{i}" for i, (c, n, _) in enumerate(CALLS)],
)
def test_httpcore_still_does_what_our_overrides_assume(
    cls: type[Any], name: str, needle: str
) -> None:
    source = inspect.getsource(getattr(cls, name))
    assert needle in source, _where(cls, name) + f": no longer contains {needle!r}"

"""Answers given before the request body was read, on HTTP/1.x and on HTTP/2.

Operations:
    announces_body(scope) -> bool   whether a request has a body (Content-Length > 0, chunked)
    body_pending(scope, body_read) -> bool
                                    an HTTP/2 request whose body has not all arrived
    await drain_request_body(receive, timeout)
                                    read and discard the rest of a request body
    CloseAfterUnreadBody(app, *, body_timeout=60)
                                    ASGI wrapper (the Quart routes): on HTTP/1.x, adds
                                    `connection: close` to a response that starts before the
                                    app has received the whole request body, and to every 413;
                                    on HTTP/2, ends such a response only once the body ended

Goals: a 413 (Content-Length over the limit), a 401 (the key is checked before the body is
read) or a 404 for an unknown admin credential answers without reading the body.
- HTTP/1.x: Hypercorn then cannot reuse the connection and closes it. Saying so in the
  response lets a keep-alive client open a new connection for its next request instead of
  failing on a dropped one (RFC 9112 §9.6). A 413 always closes: whether Quart had already
  buffered the refused body is a matter of timing, and a client that sends too much is told
  the same thing every time (RFC 9110 §15.5.14 allows the close). Requests without a body
  are left alone.
- HTTP/2 forbids connection headers. But Hypercorn (0.18) forgets a stream once its response
  ended, and a DATA frame of the request body arriving after that raises KeyError in its
  connection handler, which drops the whole connection with every stream on it
  (pgjones/hypercorn#329; measured: 12-21 % of early answers to a small body, with httpx's
  HTTP/2 client). So the answer's bytes go out at once and only its end (END_STREAM) waits
  until the request body ended, the client went away, or `body_timeout` passed.

Plan: wrap `receive` to note the last `http.request` message (`more_body` false), and `send`
to add the header to `http.response.start` when that message has not been received yet (or
the status is 413), or on HTTP/2 to hold the response's last message until it has. The
wrapper never reads the body itself: Quart reads every request's body in a task of its own.
The raw ASGI generation routes, whose early answers leave the body unread, drain it with
`drain_request_body` before they end the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

HTTP1_VERSIONS = frozenset({"1.0", "1.1"})
_CLOSE = (b"connection", b"close")
_END = {"type": "http.response.body", "body": b"", "more_body": False}


class CloseAfterUnreadBody:
    """ASGI wrapper for answers that leave request bytes unread: `connection: close` on
    HTTP/1.x, the response's end held until the request's on HTTP/2."""

    def __init__(self, app: Callable[..., Awaitable[None]], *, body_timeout: float = 60.0) -> None:
        self.app = app
        self.body_timeout = body_timeout

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or not announces_body(scope):
            await self.app(scope, receive, send)
            return
        body_done = asyncio.Event()

        async def tracked_receive() -> dict[str, Any]:
            message: dict[str, Any] = await receive()
            if message["type"] == "http.disconnect" or not message.get("more_body", False):
                body_done.set()
            return message

        if scope.get("http_version") in HTTP1_VERSIONS:

            async def marked_send(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start" and (
                    not body_done.is_set() or message["status"] == 413
                ):
                    headers = list(message.get("headers", ()))
                    if not any(name.lower() == b"connection" for name, _ in headers):
                        message = {**message, "headers": [*headers, _CLOSE]}
                await send(message)

            await self.app(scope, tracked_receive, marked_send)
            return

        async def held_send(message: dict[str, Any]) -> None:
            if (
                message["type"] == "http.response.body"
                and not message.get("more_body", False)
                and not body_done.is_set()
            ):
                await send({**message, "more_body": True})  # the answer's bytes go out now
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(body_done.wait(), self.body_timeout)
                message = _END
            await send(message)

        await self.app(scope, tracked_receive, held_send)


def body_pending(scope: dict[str, Any], body_read: bool) -> bool:
    """Whether an HTTP/2 (or later) request's announced body has not all been received."""
    return (
        not body_read and scope.get("http_version") not in HTTP1_VERSIONS and announces_body(scope)
    )


async def drain_request_body(receive: Any, timeout: float) -> None:
    """Read and discard the rest of a request body: until its last message, a disconnect,
    or `timeout` seconds."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect" or not message.get("more_body", False):
                    return


def announces_body(scope: dict[str, Any]) -> bool:
    """Whether the request announces a body (a non-zero Content-Length or chunked)."""
    for name, value in scope.get("headers", ()):
        lowered = name.lower()
        if lowered == b"transfer-encoding":
            return True
        if lowered == b"content-length":
            return bool(value.strip() != b"0")
    return False

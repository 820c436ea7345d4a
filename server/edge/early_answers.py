"""HTTP/1.x keep-alive after an answer given before the request body was read.

Operations:
    announces_body(scope) -> bool   whether a request has a body (Content-Length > 0, chunked)
    CloseAfterUnreadBody(app)   ASGI wrapper: adds `connection: close` to a response that
                                starts before the app has received the whole request body,
                                and to every 413

Goals: a 413 (Content-Length over the limit), a 401 (the key is checked before the body is
read) or a 404 for an unknown admin credential answers without reading the body; Hypercorn
then cannot reuse the connection and closes it. Saying so in the response lets a keep-alive
client open a new connection for its next request instead of failing on a dropped one
(RFC 9112 §9.6). HTTP/2 forbids connection headers and resets only the one stream, so the
wrapper leaves HTTP/2 alone; so it does for requests without a body. A 413 always closes:
whether Quart had already buffered the refused body is a matter of timing, and a client
that sends too much is told the same thing every time (RFC 9110 §15.5.14 allows the close).

Plan: wrap `receive` to note the last `http.request` message (`more_body` false), and `send`
to add the header to `http.response.start` when that message has not been received yet
(or the status is 413).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

HTTP1_VERSIONS = frozenset({"1.0", "1.1"})
_CLOSE = (b"connection", b"close")


class CloseAfterUnreadBody:
    """ASGI wrapper: `connection: close` on HTTP/1.x answers that leave request bytes unread."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if (
            scope.get("type") != "http"
            or scope.get("http_version") not in HTTP1_VERSIONS
            or not announces_body(scope)
        ):
            await self.app(scope, receive, send)
            return
        body_read = False

        async def tracked_receive() -> dict[str, Any]:
            nonlocal body_read
            message: dict[str, Any] = await receive()
            if message["type"] == "http.request" and not message.get("more_body", False):
                body_read = True
            return message

        async def marked_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and (
                not body_read or message["status"] == 413
            ):
                headers = list(message.get("headers", ()))
                if not any(name.lower() == b"connection" for name, _ in headers):
                    message = {**message, "headers": [*headers, _CLOSE]}
            await send(message)

        await self.app(scope, tracked_receive, marked_send)


def announces_body(scope: dict[str, Any]) -> bool:
    """Whether the request announces a body (a non-zero Content-Length or chunked)."""
    for name, value in scope.get("headers", ()):
        lowered = name.lower()
        if lowered == b"transfer-encoding":
            return True
        if lowered == b"content-length":
            return bool(value.strip() != b"0")
    return False

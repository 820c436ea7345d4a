"""`x-compatkit-upstream: emulator` on every answer of a proxy serving the demo emulator.

Operations:
    DemoMarker(app)     ASGI wrapper: adds DEMO_HEADER to each `http.response.start`

Plan: outermost on the app (raw generation routes and Quart alike), so no answer made up by
the emulator can pass for Gemini's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

DEMO_HEADER = (b"x-compatkit-upstream", b"emulator")


class DemoMarker:
    """Marks every HTTP answer as coming from the demo emulator."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return

        async def marked_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), DEMO_HEADER]}
            await send(message)

        await self.app(scope, receive, marked_send)

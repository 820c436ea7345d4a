"""The root of the panel's errors: `PanelError`, and `Refusal`, a request answered with a page."""

from __future__ import annotations

from server.errors import ServerError


class PanelError(ServerError):
    """Something the control panel refuses or cannot do."""


class Refusal(PanelError):
    """A request the panel answers with an error page: its status and a reason to show."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

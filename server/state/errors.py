"""The root of the state package's errors: `StoreError`."""

from __future__ import annotations

from server.errors import ServerError


class StoreError(ServerError):
    """The state store cannot do what was asked (e.g. used before `open()`)."""

"""The state store a proxy opens: `open_store(path) -> StateStore`.

Kept apart from the interface (server.state.store) so each implementation imports the
interface and only this module imports the implementations.
"""

from __future__ import annotations

from server.state.sqlite import SQLiteStore
from server.state.store import StateStore


def open_store(path: str) -> StateStore:
    """The default store for `path`: a SQLite file, or `:memory:` for a throwaway one.

    Call `await store.open()` before use and `await store.close()` at shutdown.
    """
    return SQLiteStore(path)

"""The state store a proxy opens: `open_store(path, url=None, prefix=...) -> StateStore`.

Kept apart from the interface (server.state.store) so each implementation imports the
interface and only this module imports the implementations.
"""

from __future__ import annotations

from server.state.redis import RedisStore
from server.state.sqlite import SQLiteStore
from server.state.store import StateStore

DEFAULT_PREFIX = "compatkit:"


def open_store(path: str, *, url: str | None = None, prefix: str = DEFAULT_PREFIX) -> StateStore:
    """The store for a proxy: Redis at `url` (shared by every instance using the same URL and
    prefix) when given, else a SQLite file at `path` (`:memory:` for a throwaway one).

    Call `await store.open()` before use and `await store.close()` at shutdown.
    """
    if url is not None:
        return RedisStore(url, prefix=prefix)
    return SQLiteStore(path)

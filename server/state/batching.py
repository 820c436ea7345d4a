"""Writes issued in the same event-loop iteration, gathered into one batch.

Operations:
    Batcher(write_batch)                 write_batch(items) is awaited once per batch
        await .add(item)                 returns once the batch holding `item` is written
        await .drain()                   waits for the batch in progress, if any

Goals: a busy proxy pays one store round trip (one thread hop for SQLite, one pipeline for
Redis) per batch of outcomes, not one per upstream call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

_Item = TypeVar("_Item")


class Batcher(Generic[_Item]):
    """Gathers items added during one loop iteration and writes them together."""

    def __init__(self, write_batch: Callable[[list[_Item]], Awaitable[None]]) -> None:
        self._write_batch = write_batch
        self._items: list[_Item] = []
        self._batch: asyncio.Future[None] | None = None

    async def add(self, item: _Item) -> None:
        """Queue `item`; return once its batch is written (its error, if any, is raised)."""
        self._items.append(item)
        if self._batch is None:
            self._batch = asyncio.ensure_future(self._write())
        await asyncio.shield(self._batch)

    async def drain(self) -> None:
        """Wait until the batch in progress is written."""
        if self._batch is not None:
            await asyncio.shield(self._batch)

    async def _write(self) -> None:
        await asyncio.sleep(0)  # let the callers of this loop iteration join the batch
        batch, self._items = self._items, []
        self._batch = None
        await self._write_batch(batch)

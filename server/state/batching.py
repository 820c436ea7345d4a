"""Store writes gathered into batches: those of one loop iteration, or, written behind, those
of a whole window.

Operations:
    Batcher(write_batch, window=WRITE_BEHIND_WINDOW)
                                 write_batch(items) is awaited once per batch
        await .add(item)         written with this loop iteration's batch; returns once it is
                                 (its error, if any, is raised)
        .add_later(item)         written behind: with the next batch, at most `window`
                                 seconds from now; returns at once (a failed batch is logged)
        await .drain()           writes what is queued now and waits for every batch in flight

Goals: a busy proxy pays one store round trip (one thread hop and one transaction for SQLite,
one pipeline for Redis) per window of outcomes, not one per upstream call, and the request
path never waits for the store (issue 11). The price is the crash-loss window: what was
queued by `add_later` and not yet written is lost if the process dies without closing its
store (a kill -9, a power cut), at most `window` seconds of it plus the batch being written.
A graceful shutdown drains it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

WRITE_BEHIND_WINDOW = 0.5
"""Seconds an outcome queued by `add_later` waits at most before its batch is written."""

_Item = TypeVar("_Item")


class Batcher(Generic[_Item]):
    """Gathers items and writes them together (see the module docstring)."""

    def __init__(
        self,
        write_batch: Callable[[list[_Item]], Awaitable[None]],
        *,
        window: float = WRITE_BEHIND_WINDOW,
    ) -> None:
        self._write_batch = write_batch
        self._window = window
        self._items: list[_Item] = []
        self._batch: asyncio.Future[None] | None = None  # gathering this iteration's items
        self._timer: asyncio.TimerHandle | None = None  # the window of written-behind items
        self._in_flight: set[asyncio.Future[None]] = set()

    async def add(self, item: _Item) -> None:
        """Queue `item`; return once its batch is written (its error, if any, is raised)."""
        self._items.append(item)
        await asyncio.shield(self._start())

    def add_later(self, item: _Item) -> None:
        """Queue `item` to be written within `window` seconds; return at once."""
        self._items.append(item)
        if self._batch is None and self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._window, self._start)

    async def drain(self) -> None:
        """Write what is queued now; wait until every batch in flight is written."""
        while self._items or self._in_flight:
            if self._items:
                self._start()
            await asyncio.gather(*list(self._in_flight), return_exceptions=True)

    def _start(self) -> asyncio.Future[None]:
        """The batch that will take the queued items (started now if none is gathering)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._batch is None:
            batch = self._batch = asyncio.ensure_future(self._write())
            self._in_flight.add(batch)
            batch.add_done_callback(self._written)
        return self._batch

    async def _write(self) -> None:
        await asyncio.sleep(0)  # let the callers of this loop iteration join the batch
        batch, self._items = self._items, []
        self._batch = None
        await self._write_batch(batch)

    def _written(self, batch: asyncio.Future[None]) -> None:
        self._in_flight.discard(batch)
        if not batch.cancelled() and batch.exception() is not None:
            log.error("state store write failed: %s", batch.exception())

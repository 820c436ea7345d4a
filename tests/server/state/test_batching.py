"""Batches of store writes (server.state.batching.Batcher).

Rules checked:
- items added in one loop iteration are written together, and `add` returns once written;
- items added later (`add_later`) wait for the window: every one of a window is written in
  one batch, nothing before `drain` when the window is long, all of it at `drain`;
- a failed batch of items written behind is logged, and the batcher goes on.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from server.state.batching import Batcher


class _Writes:
    def __init__(self, fail: bool = False) -> None:
        self.batches: list[list[int]] = []
        self.fail = fail
        self.written = asyncio.Event()

    async def __call__(self, batch: list[int]) -> None:
        await asyncio.sleep(0)
        if self.fail:
            self.fail = False
            raise OSError("disk full")
        self.batches.append(batch)
        self.written.set()


async def test_items_added_in_one_loop_iteration_are_written_together() -> None:
    writes = _Writes()
    batcher = Batcher(writes)
    await asyncio.gather(*(batcher.add(i) for i in range(20)))
    assert writes.batches == [list(range(20))]


async def test_items_written_behind_wait_for_drain_when_the_window_is_long() -> None:
    writes = _Writes()
    batcher = Batcher(writes, window=3600.0)
    for i in range(5):
        batcher.add_later(i)
        await asyncio.sleep(0)  # separate loop iterations
    for _ in range(10):
        await asyncio.sleep(0)
    assert writes.batches == []
    await batcher.drain()
    assert writes.batches == [[0, 1, 2, 3, 4]]


async def test_items_written_behind_are_written_in_one_batch_when_the_window_ends() -> None:
    writes = _Writes()
    batcher = Batcher(writes, window=0.01)
    for i in range(5):
        batcher.add_later(i)
    await writes.written.wait()
    assert writes.batches == [[0, 1, 2, 3, 4]]


async def test_a_failed_batch_written_behind_is_logged_and_the_next_one_is_written(
    caplog: pytest.LogCaptureFixture,
) -> None:
    writes = _Writes(fail=True)
    batcher = Batcher(writes, window=3600.0)
    batcher.add_later(1)
    with caplog.at_level(logging.ERROR, logger="server.state.batching"):
        await batcher.drain()
    assert "state store write failed: disk full" in caplog.text
    batcher.add_later(2)
    await batcher.drain()
    assert writes.batches == [[2]]

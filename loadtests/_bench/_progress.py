"""Progress of a run: a rich progress bar on a terminal, plain lines otherwise (CI logs).

Operations
    progress = make_progress(stream=sys.stderr, quiet=False)
    progress.start(total, title)    the number of requests the run will send
    progress.advance()              one request answered (or failed)
    progress.note(line)             a block finished, a server started: one line
    progress.stop()

`Progress` is a protocol so callers (the gate) can pass their own, or `Silent()`.
"""

from __future__ import annotations

import sys
from typing import Protocol, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress

__all__ = ["Lines", "Progress", "Rich", "Silent", "make_progress"]


class Progress(Protocol):
    def start(self, total: int, title: str) -> None: ...
    def advance(self) -> None: ...
    def note(self, line: str) -> None: ...
    def stop(self) -> None: ...


class Silent:
    def start(self, total: int, title: str) -> None:
        pass

    def advance(self) -> None:
        pass

    def note(self, line: str) -> None:
        pass

    def stop(self) -> None:
        pass


class Lines:
    """One line per note, flushed at once (nothing per request: CI logs stay short)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def start(self, total: int, title: str) -> None:
        self.note(f"{title}: {total} requests")

    def advance(self) -> None:
        pass

    def note(self, line: str) -> None:
        print(f"bench: {line}", file=self._stream, flush=True)

    def stop(self) -> None:
        pass


class Rich:
    """A live bar with the notes printed above it."""

    def __init__(self, stream: TextIO) -> None:
        self._progress = RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(file=stream),
            transient=True,
        )
        self._task: int | None = None

    def start(self, total: int, title: str) -> None:
        self._progress.start()
        self._task = self._progress.add_task(title, total=total)

    def advance(self) -> None:
        if self._task is not None:
            self._progress.advance(self._task)  # type: ignore[arg-type]

    def note(self, line: str) -> None:
        self._progress.console.print(line, highlight=False, markup=False)

    def stop(self) -> None:
        self._progress.stop()


def make_progress(stream: TextIO = sys.stderr, *, quiet: bool = False) -> Progress:
    """Rich on a terminal, plain lines elsewhere, nothing when quiet."""
    if quiet:
        return Silent()
    return Rich(stream) if stream.isatty() else Lines(stream)

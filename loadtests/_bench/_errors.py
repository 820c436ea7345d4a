"""The runner's one error: a run that cannot go on (a bad plan, a server that will not start,
a URL nobody answers). Its message is one line for a person; the CLI prints it and exits 2."""

from __future__ import annotations

__all__ = ["BenchError"]


class BenchError(Exception):
    """The run cannot go on; the message says why, in one line."""

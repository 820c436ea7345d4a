"""What processes use, from /proc: a process and its descendants, their CPU time and memory.

Operations
    process_tree(pid) -> [pid, ...]     `pid` and its descendants
    cpu_seconds(pids) -> float          user + system CPU seconds so far
    rss_bytes(pids) -> int              resident memory now

Shared by the bench runner (a proxy's CPU and RSS per block) and the Locust profiles' soak
(a local proxy's RSS drift). Linux only; a process that exited counts 0.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path

__all__ = ["cpu_seconds", "process_tree", "rss_bytes"]

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (children found by scanning /proc for their parent)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int(_stat_fields(int(entry.name))[1])
        except (OSError, ValueError, IndexError):
            continue
        parents.setdefault(ppid, []).append(int(entry.name))
    tree, stack = [], [pid]
    while stack:
        current = stack.pop()
        tree.append(current)
        stack.extend(parents.get(current, []))
    return tree


def _stat_fields(pid: int) -> list[str]:
    """/proc/PID/stat after the command name: state, ppid, ... (field 3 onwards)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU seconds of these processes so far (those that exited count 0)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = _stat_fields(pid)
            total += int(fields[11]) + int(fields[12])
    return total / _TICKS


def rss_bytes(pids: Sequence[int]) -> int:
    """Resident memory of these processes now."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE
    return total

"""The run's environment, as the result file records it: machine, load, Python, packages, trees.

Operations
    machine() -> dict                     hostname, platform, CPU model, cores, memory
    load_average() -> [1, 5, 15 min]
    packages() -> {name: version}         the distributions that shape the measurement
    tree(root) -> {root, commit, dirty}   the git commit a source tree is at (None outside git)
    python() -> str

Shared by the bench runner and the Locust exporter: synchronous, free of asyncio; reads /proc and runs
`git` with a deadline.
"""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["load_average", "machine", "packages", "python", "tree"]

_PACKAGES = (
    "compatkit", "httptools", "uvloop", "granian", "hypercorn", "quart", "httpx", "httpcore",
    "h2", "orjson", "numpy", "locust",
)  # fmt: skip


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "cores": os.cpu_count() or 1,
    }
    model = _proc_value("/proc/cpuinfo", "model name")
    if model:
        info["cpu_model"] = model
    memory = _proc_value("/proc/meminfo", "MemTotal")
    if memory and memory.split()[0].isdigit():
        info["memory_bytes"] = int(memory.split()[0]) * 1024
    return info


def _proc_value(path: str, key: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            name, _, value = line.partition(":")
            if name.strip() == key:
                return value.strip()
    except OSError:
        return None
    return None


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def python() -> str:
    return f"{platform.python_implementation()} {sys.version.split()[0]}"


def packages() -> dict[str, str]:
    found = {}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def tree(root: Path) -> dict[str, Any]:
    """The tree's git commit and whether it has uncommitted changes."""
    info: dict[str, Any] = {"root": str(root), "commit": None}
    commit = _git(root, "rev-parse", "HEAD")
    if commit:
        info["commit"] = commit
        status = _git(root, "status", "--porcelain", "--untracked-files=no")
        info["dirty"] = bool(status)
    return info


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None

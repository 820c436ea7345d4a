"""An emulated network delay between the proxies and the emulator (Linux, root, tc netem).

Operations
    netem_unavailable() -> str | None       None when this machine can do it, else why not
                                            (tried for real: a namespace, a veth pair, a netem
                                            qdisc, all removed again)
    with delayed_network(delay_ms) as net:  a namespace with the emulator's end of a veth pair,
        net.prefix, net.emulator_host       `delay_ms` one way in each direction (RTT 2x; 0: no
                                            netem, the namespace alone); everything is removed
                                            on exit

Why: on loopback a TCP and TLS handshake costs microseconds, so a connection pool's saved
round trips barely show; against Google they cost tens of milliseconds. The namespace and
the interfaces are named after this process's id, so parallel runs never collide, and only
what this run created is removed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["DelayedNetwork", "delayed_network", "netem_unavailable"]


@dataclass(frozen=True)
class DelayedNetwork:
    namespace: str
    emulator_host: str  # the emulator's address, inside the namespace

    @property
    def prefix(self) -> list[str]:
        """The command prefix that runs a program inside the namespace."""
        return ["ip", "netns", "exec", self.namespace]


def _run(*argv: str) -> str | None:
    """None on success, else the command's error (one line)."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        return lines[-1] if lines else f"exit status {done.returncode}"
    return None


def netem_unavailable() -> str | None:
    """Why no delay can be emulated here (None: it can)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "not root"
    if shutil.which("ip") is None or shutil.which("tc") is None:
        return "the ip and tc commands are missing"
    try:
        with delayed_network(1.0, probe=True):
            return None
    except OSError as exc:
        return str(exc)


@contextlib.contextmanager
def delayed_network(delay_ms: float, *, probe: bool = False) -> Iterator[DelayedNetwork]:
    """The namespace and the delayed veth pair; OSError says which step failed."""
    tag = f"{os.getpid() % 100_000}{'p' if probe else ''}"
    namespace, host_end, ns_end = f"ckbench{tag}", f"ckh{tag}", f"ckn{tag}"
    subnet = 10 + os.getpid() % 200
    host_ip, ns_ip = f"10.213.{subnet}.1", f"10.213.{subnet}.2"
    steps = [
        ("ip", "netns", "add", namespace),
        ("ip", "link", "add", host_end, "type", "veth", "peer", "name", ns_end),
        ("ip", "link", "set", ns_end, "netns", namespace),
        ("ip", "addr", "add", f"{host_ip}/30", "dev", host_end),
        ("ip", "link", "set", host_end, "up"),
        ("ip", "netns", "exec", namespace, "ip", "addr", "add", f"{ns_ip}/30", "dev", ns_end),
        ("ip", "netns", "exec", namespace, "ip", "link", "set", ns_end, "up"),
        ("ip", "netns", "exec", namespace, "ip", "link", "set", "lo", "up"),
    ]
    if delay_ms > 0:
        steps += [
            ("tc", "qdisc", "add", "dev", host_end, "root", "netem", "delay", f"{delay_ms}ms"),
            ("ip", "netns", "exec", namespace, "tc", "qdisc", "add", "dev", ns_end, "root",
             "netem", "delay", f"{delay_ms}ms"),
        ]  # fmt: skip
    try:
        for step in steps:
            error = _run(*step)
            if error is not None:
                raise OSError(f"{' '.join(step[:4])}...: {error}")
        yield DelayedNetwork(namespace, ns_ip)
    finally:
        _run("ip", "link", "del", host_end)
        _run("ip", "netns", "del", namespace)

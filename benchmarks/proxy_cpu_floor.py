"""Where the proxy's CPU goes: CPU per request of the `compatkit serve` process for requests
that stop at successive depths (Quart + Hypercorn alone, a route that answers without going
upstream, a proxied request in each pool arm), against the TLS emulator.

    .venv/bin/python -m benchmarks.proxy_cpu_floor [--requests 1000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from benchmarks.proxy_overhead import (
    ADMIN_KEY,
    PROXY_KEY,
    anthropic_body,
    cpu_seconds,
    emulator_process,
    proxy_process,
)


def per_request(pid: int, send: Callable[[], object], n: int) -> tuple[float, float]:
    """(wall ms, proxy CPU ms) per request, after a warm-up."""
    for _ in range(50):
        send()
    cpu_before, started = cpu_seconds(pid), time.perf_counter()
    for _ in range(n):
        send()
    wall = (time.perf_counter() - started) * 1000 / n
    return wall, (cpu_seconds(pid) - cpu_before) * 1000 / n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="compatkit-floor-") as workdir,
        emulator_process(50, Path(workdir)) as (emulator_url, ca),
        proxy_process(emulator_url, ca) as (url, pid),
        httpx.Client() as client,
    ):
        key = {"x-api-key": PROXY_KEY}
        cases: list[tuple[str, Callable[[], object]]] = [
            ("GET /healthz", lambda: client.get(url + "/healthz").read()),
            (
                "404 unknown model",
                lambda: client.post(url + "/v1/messages", json={"model": "x"}, headers=key).read(),
            ),
        ]
        for arm in ("off", "on"):
            headers = {
                **key,
                "x-compatkit-flags": f"ff_http2_pool_tuning={arm}",
                "x-compatkit-admin-key": ADMIN_KEY,
            }
            body = anthropic_body("small", False)
            cases.append(
                (
                    f"non-stream, pool tuning {arm}",
                    lambda h=headers, b=body: client.post(
                        url + "/v1/messages", json=b, headers=h
                    ).read(),  # type: ignore[misc]
                )
            )
        for label, send in cases:
            wall, cpu = per_request(pid, send, args.requests)
            print(f"{label:<30} wall {wall:7.3f} ms   proxy CPU {cpu:7.3f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

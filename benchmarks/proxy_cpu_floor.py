"""Where the proxy's CPU goes: CPU per request of the `compatkit serve` process for requests
that stop at successive depths (Quart + Hypercorn alone, a route that answers without going
upstream, a proxied request in each pool arm), against the TLS emulator.

    .venv/bin/python -m benchmarks.proxy_cpu_floor [--requests 1000]

The emulator and the proxy are started by the bench runner's process helpers
(loadtests._bench), the requests sent one at a time by its measuring client.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from pathlib import Path

import uvloop

from loadtests._bench._emulator import EmulatorLink, emulator_config
from loadtests._bench._http import HttpClient
from loadtests._bench._plan import load_plan
from loadtests._bench._processes import Server, cpu_seconds, start_emulator, start_proxy
from loadtests._bench._runner import ADMIN_KEY, PROXY_KEY, THIS_TREE, _proxy_ready
from loadtests._common import request_body, request_headers, workload

PLAN = Path(__file__).with_name("plans") / "overhead_sequential.toml"


async def per_request(
    client: HttpClient, pid: int, request: dict[str, object], n: int
) -> tuple[float, float]:
    """(wall ms, proxy CPU ms) per request, after a warm-up."""
    for _ in range(50):
        await client.fetch(**request)  # type: ignore[arg-type]
    cpu_before, started = cpu_seconds([pid]), time.perf_counter()
    for _ in range(n):
        await client.fetch(**request)  # type: ignore[arg-type]
    wall = (time.perf_counter() - started) * 1000 / n
    return wall, (cpu_seconds([pid]) - cpu_before) * 1000 / n


async def measure(requests: int) -> None:
    plan = load_plan(PLAN)
    key = plan.proxy.api_keys[0]
    with tempfile.TemporaryDirectory(prefix="compatkit-floor-") as workdir:
        async with contextlib.AsyncExitStack() as stack:

            async def emulator_ready(server: Server) -> str | None:
                link = EmulatorLink(server, key)
                stack.push_async_callback(link.close)
                return await link.ready(server.url)

            emulator = await start_emulator(
                Path(workdir),
                emulator_config(plan, 1000),
                emulator_ready,
                tls=True,
                server="granian",
            )
            stack.push_async_callback(emulator.stop)
            config = {
                "server": {"proxy_keys": [PROXY_KEY], "admin_key": ADMIN_KEY},
                "upstream": {"kind": "gemini", "api_keys": [key], "gemini_base_url": emulator.url,
                             "ca_file": str(emulator.ca_path)},
                "state": {"path": ":memory:"},
            }  # fmt: skip
            proxy = await start_proxy(THIS_TREE, Path(workdir), "floor", config, _proxy_ready)
            stack.push_async_callback(proxy.stop)
            client = HttpClient(proxy.url)
            stack.push_async_callback(client.close)
            headers = request_headers(workload("small_chat_json"), PROXY_KEY)
            cases: list[tuple[str, dict[str, object]]] = [
                ("GET /healthz", {"path": "/healthz"}),
                ("404 unknown model", {"path": "/v1/messages", "method": "POST", "headers": headers,
                                       "body": b'{"model": "x"}'}),
            ]  # fmt: skip
            body = request_body(workload("small_chat_json"), scenario="small")
            for arm in ("off", "on"):
                flags = {"x-compatkit-flags": f"ff_http2_pool_tuning={arm}",
                         "x-compatkit-admin-key": ADMIN_KEY}  # fmt: skip
                cases.append((f"non-stream, pool tuning {arm}", {
                    "path": "/v1/messages", "method": "POST", "headers": {**headers, **flags},
                    "body": body}))  # fmt: skip
            for label, request in cases:
                wall, cpu = await per_request(client, proxy.pid, request, requests)
                print(f"{label:<30} wall {wall:7.3f} ms   proxy CPU {cpu:7.3f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args(argv)
    uvloop.run(measure(args.requests))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

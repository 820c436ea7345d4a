"""The bench runner's own cost: its measuring client against an in-process no-op server.

    flock /tmp/compatkit-bench.lock .venv/bin/python benchmarks/runner_client.py \
        [--rate 200] [--seconds 10] [--rounds 3] [--json FILE]

A server in the same process and event loop answers every POST at once with a canned
Anthropic stream (message_start, 12 text deltas, message_delta, message_stop: 1.9 KB), so
whatever latency is measured is the client's own (plus the loopback socket). Two clients, in
ABBA blocks of `--seconds` at `--rate` streams per second (seeded Poisson, open loop), same
schedule, both feeding the same `ResponseMeter`:
    runner   loadtests._bench's client (asyncio Protocol + httptools) through `open_loop`
    aiohttp  aiohttp.ClientSession (the reference's suggestion; the same llhttp parser)
Reported per client: E2E p50 / p99 (send → message_stop: the client's added latency), the
send lag p99, and the process's CPU share over the block (client + this trivial server: an
upper bound of the client's own). Targets (issue 8): added latency p50 <= 0.2 ms and CPU
<= 50 % of a core at 200 streams/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
from pathlib import Path
from typing import Any

import aiohttp
import uvloop

from loadtests._bench._drive import Job, Outcome, Target, open_loop
from loadtests._bench._http import HttpClient
from loadtests._bench._schedule import arrivals
from loadtests._common import ResponseMeter, percentile, request_body, workload

_EVENTS: list[tuple[str, dict[str, Any]]] = [
    ("message_start", {"type": "message_start", "message": {
        "id": "msg_1", "type": "message", "role": "assistant", "content": [], "model": "m",
        "stop_reason": None, "usage": {"input_tokens": 9, "output_tokens": 1}}}),
    ("content_block_start", {"type": "content_block_start", "index": 0,
                             "content_block": {"type": "text", "text": ""}}),
    *[("content_block_delta", {"type": "content_block_delta", "index": 0,
                               "delta": {"type": "text_delta", "text": f"token {i} "}})
      for i in range(12)],
    ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                       "usage": {"output_tokens": 12}}),
    ("message_stop", {"type": "message_stop"}),
]  # fmt: skip
_BODY = b"".join(f"event: {n}\ndata: {json.dumps(d)}\n\n".encode() for n, d in _EVENTS)
_RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
    + f"content-length: {len(_BODY)}\r\n\r\n".encode()
    + _BODY
)


class _NoOpServer(asyncio.Protocol):
    """Answers each complete request (head + content-length body) with the canned stream."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport: Any = transport
        self._buffer = b""

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while (end := self._buffer.find(b"\r\n\r\n")) >= 0:
            head = self._buffer[:end].lower()
            at = head.find(b"content-length:")
            length = int(head[at + 15 :].split(b"\r\n")[0]) if at >= 0 else 0
            if len(self._buffer) < end + 4 + length:
                return
            self._buffer = self._buffer[end + 4 + length :]
            self._transport.write(_RESPONSE)


async def _runner_block(url: str, times: list[float]) -> list[Outcome]:
    client = HttpClient(url)
    kind = workload("small_chat")
    target = Target("runner", client, {})
    body = request_body(kind)
    jobs = [Job(target, kind, kind.path, body, {"x-api-key": "k"}, t) for t in times]
    try:
        return await open_loop(jobs, timeout_s=10, max_in_flight=1024, on_done=lambda _: None)
    finally:
        await client.close()


async def _aiohttp_block(url: str, times: list[float]) -> list[tuple[float, ResponseMeter]]:
    body = request_body(workload("small_chat"))
    results: list[tuple[float, ResponseMeter]] = []
    connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=60)
    async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as session:

        async def one(intended: float) -> None:
            delay = intended - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sent = time.perf_counter()
            meter = ResponseMeter("anthropic", sent=sent, stream=True)
            headers = {"content-type": "application/json", "x-api-key": "k"}
            async with session.post(url + "/v1/messages", data=body, headers=headers) as reply:
                meter.headers(
                    reply.status, reply.headers.get("content-type", ""), time.perf_counter()
                )
                async for chunk in reply.content.iter_any():
                    meter.feed(chunk, time.perf_counter())
            meter.end(time.perf_counter())
            results.append((sent - intended, meter))

        start = time.perf_counter()
        await asyncio.gather(*[one(start + t) for t in times])
    return results


async def _measure(args: argparse.Namespace) -> dict[str, list[dict[str, float]]]:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_NoOpServer, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    n = int(args.rate * args.seconds)
    blocks: dict[str, list[dict[str, float]]] = {"runner": [], "aiohttp": []}
    await _runner_block(url, arrivals(200, args.rate, "poisson", random.Random(0)))  # warm-up
    await _aiohttp_block(url, arrivals(200, args.rate, "poisson", random.Random(0)))
    for round_ in range(args.rounds):
        times = arrivals(n, args.rate, "poisson", random.Random(round_))
        order = ["runner", "aiohttp"] if round_ % 2 == 0 else ["aiohttp", "runner"]
        for name in order:
            cpu, wall = time.process_time(), time.perf_counter()
            if name == "runner":
                pairs = [(o.lag, o.measured) for o in await _runner_block(url, times)]
            else:
                pairs = [(lag, meter.result()) for lag, meter in await _aiohttp_block(url, times)]
            share = (time.process_time() - cpu) / (time.perf_counter() - wall)
            e2e = [m.e2e * 1000 for _, m in pairs if m.e2e is not None and m.error is None]
            assert len(e2e) == n, f"{name}: {n - len(e2e)} requests failed"
            blocks[name].append({
                "e2e_p50_ms": percentile(e2e, 50) or 0.0,
                "e2e_p99_ms": percentile(e2e, 99) or 0.0,
                "lag_p99_ms": percentile([lag * 1000 for lag, _ in pairs], 99) or 0.0,
                "cpu_share": share,
            })  # fmt: skip
    server.close()
    return blocks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200.0, help="streams per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of one block")
    parser.add_argument("--rounds", type=int, default=3, help="ABBA rounds (two blocks each)")
    parser.add_argument("--json", type=Path, help="also write the per-block figures here")
    args = parser.parse_args()
    blocks = uvloop.run(_measure(args))
    print(f"{args.rate:g} streams/s, {args.rounds} rounds of {args.seconds:g} s per client")
    print(f"{'client':<10}{'E2E p50 ms':>12}{'E2E p99 ms':>12}{'lag p99 ms':>12}{'CPU share':>11}")
    medians = {}
    for name, rows in blocks.items():
        medians[name] = {key: statistics.median(row[key] for row in rows) for key in rows[0]}
        m = medians[name]
        print(f"{name:<10}{m['e2e_p50_ms']:>12.3f}{m['e2e_p99_ms']:>12.3f}"
              f"{m['lag_p99_ms']:>12.3f}{m['cpu_share']:>11.1%}")  # fmt: skip
    ratio = medians["runner"]["e2e_p50_ms"] / medians["aiohttp"]["e2e_p50_ms"]
    print(f"runner / aiohttp E2E p50: {ratio:.2f}")
    if args.json:
        args.json.write_text(json.dumps(blocks, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Proxy overhead against the emulator: the proxy's added latency, measured side by side.

    .venv/bin/python benchmarks/proxy_overhead.py [--sequential 300] [--rounds 10]
        [--concurrency 64] [--chunks 50] [--itl-ms 20] [--steady-seconds 3.0] [--skip-burst]
        [--json results.json] [--baseline-root DIR]

Three targets, interleaved request by request (sequential) or block by block (burst, steady),
in one run against one emulator served over TLS (HTTP/2 by ALPN):
    direct   the client talks to the emulator itself (pooled HTTP/2 client, the baseline)
    h1       the client talks to the proxy, `ff_http2_pool_tuning=off` (new HTTP/1.1 client
             per upstream request)
    h2pool   the same proxy, `ff_http2_pool_tuning=on` (one pooled HTTP/2 client)
The arm is chosen per request with the admin-authorised `x-compatkit-flags` header, so both
arms share one proxy process. The emulator and the proxy each run in their own process
(`compatkit emulate`, `compatkit serve`), the client in this one, so no two of them share a
GIL. Overhead = a percentile of the proxied metric minus the same percentile measured
directly (DESIGN.md). Metrics: TTFT for streams (request sent → first text delta), E2E for
non-stream replies.

Three runs:
    sequential  one request at a time, non-stream (E2E) then stream (TTFT): the overhead of
                one request on an idle proxy.
    burst       per round and target, `--concurrency` streams sent at the same instant, each
                `--chunks` chunks with no delay between them. This is a synchronized arrival
                and a flood of chunks, so it measures how the burst queues more than the
                proxy's overhead: a stress figure, not the target's.
    steady      per round and target, a block of `--steady-seconds` with `--concurrency`
                streams in flight at all times: each client starts after a random offset
                within one stream's duration (staggered starts, the same offsets for every
                target of a round), then runs streams back to back. Chunks are paced
                (`--itl-ms` between chunks, so a stream lasts about chunks × itl). This is
                the overhead figure that "p99 ≤ 10 ms added TTFT at 64 concurrent streams"
                is judged on; its report shows the concurrency really achieved.

`--baseline-root DIR` (a checkout of an earlier commit, e.g. `git worktree add /tmp/base HEAD`)
starts a second proxy from that tree and adds its two arms, `base_h1` and `base_h2pool`,
to the same interleaving: a code change is then measured against the code before it in one
run, with `h2pool ÷ base_h2pool` (and `h1 ÷ base_h1`) as the paired ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvloop

from server.upstream.network import pool_transport

ROOT = Path(__file__).resolve().parents[1]
PROXY_KEY = "bench-proxy-key"
ADMIN_KEY = "bench-admin-key"
UPSTREAM_KEY = "bench-upstream-key"
MODEL = "claude-haiku-4-5"  # → gemini-2.5-flash by the default model map
UPSTREAM_MODEL = "gemini-2.5-flash"
TARGETS = ("direct", "h1", "h2pool")
BASELINE_TARGETS = ("base_h1", "base_h2pool")
ARM_FLAGS = {
    "h1": "ff_http2_pool_tuning=off",
    "h2pool": "ff_http2_pool_tuning=on",
    "base_h1": "ff_http2_pool_tuning=off",
    "base_h2pool": "ff_http2_pool_tuning=on",
}

SCENARIOS_TOML = """
default_scenario = "small"
[scenarios.small]
text_tokens = 12
chunk_tokens = 4
[scenarios.long]
text_tokens = {chunks}
chunk_tokens = 1
[scenarios.paced]
text_tokens = {chunks}
chunk_tokens = 1
[scenarios.paced.latency]
chunk_gap_ms = {itl_ms}
"""


# --- processes ----------------------------------------------------------------------------


def _read_until(process: subprocess.Popen[str], pattern: str, timeout: float = 30) -> str:
    """The first group of `pattern` in the process's output lines."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    regex = re.compile(pattern)
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"process exited before printing {pattern!r}")
        match = regex.search(line)
        if match:
            return match.group(1)
    raise RuntimeError(f"timed out waiting for {pattern!r}")


def _drain(process: subprocess.Popen[str]) -> None:
    assert process.stdout is not None
    for _ in process.stdout:
        pass


@contextmanager
def emulator_process(
    chunks: int, workdir: Path, itl_ms: float = 20.0
) -> Iterator[tuple[str, Path]]:
    """`compatkit emulate --tls` with the benchmark scenarios (`long`: `chunks` chunks at once;
    `paced`: `chunks` chunks `itl_ms` apart); yields (base URL, CA path)."""
    config = workdir / "scenarios.toml"
    config.write_text(SCENARIOS_TOML.format(chunks=chunks, itl_ms=itl_ms))
    process = subprocess.Popen(
        [sys.executable, "-m", "compat_cli", "emulate", "--tls", "--port", "0",
         "--config", str(config), "--cert-dir", str(workdir / "certs")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        url = _read_until(process, r"listening on (\S+)")
        ca = Path(_read_until(process, r"emulator CA: (\S+)"))
        threading.Thread(target=_drain, args=(process,), daemon=True).start()
        yield url, ca
    finally:
        process.terminate()
        process.wait(10)


@contextmanager
def proxy_process(upstream_url: str, ca: Path, root: Path = ROOT) -> Iterator[tuple[str, int]]:
    """`compatkit serve` (the code in `root`) in front of the emulator; yields its base URL
    and process id."""
    env = {
        **os.environ,
        "COMPATKIT_PROXY_KEYS": PROXY_KEY,
        "COMPATKIT_ADMIN_KEY": ADMIN_KEY,
        "COMPATKIT_API_KEYS": UPSTREAM_KEY,
        "COMPATKIT_GEMINI_BASE_URL": upstream_url,
        "COMPATKIT_CA_FILE": str(ca),
        "COMPATKIT_STATE_PATH": ":memory:",
    }
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "compat_cli", "serve", "--port", str(port), "--log-level", "warning"],
        cwd=root, env={**env, "PYTHONPATH": str(root)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(process, url)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(10)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_ready(process: subprocess.Popen[str], url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            raise RuntimeError("the proxy exited at start")
        time.sleep(0.05)
    raise RuntimeError("the proxy did not become ready")


# --- one measured request ------------------------------------------------------------------


@dataclass
class Clients:
    """The measuring client's connection pools (one per server, so no pool holds another's
    idle connections) and where the servers are."""

    proxy: httpx.AsyncClient
    direct: httpx.AsyncClient
    proxy_url: str
    emulator_url: str
    proxy_pid: int
    base_url: str | None = None  # the baseline tree's proxy (--baseline-root)
    base_pid: int | None = None
    base_proxy: httpx.AsyncClient | None = None

    @property
    def targets(self) -> tuple[str, ...]:
        return TARGETS + (BASELINE_TARGETS if self.base_url is not None else ())

    def proxy_of(self, target: str) -> tuple[str, int]:
        """(base URL, pid) of the proxy process that serves `target`."""
        if target.startswith("base_"):
            assert self.base_url is not None and self.base_pid is not None
            return self.base_url, self.base_pid
        return self.proxy_url, self.proxy_pid

    def client_of(self, target: str) -> httpx.AsyncClient:
        if target == "direct":
            return self.direct
        if target.startswith("base_"):
            assert self.base_proxy is not None
            return self.base_proxy
        return self.proxy


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; 1/CLK_TCK resolution)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def anthropic_body(scenario: str, stream: bool) -> dict[str, Any]:
    return {
        "model": MODEL,
        "max_tokens": 256,
        "stream": stream,
        "messages": [{"role": "user", "content": f"[scenario:{scenario}] Tell me something."}],
    }


def gemini_body(scenario: str) -> dict[str, Any]:
    text = f"[scenario:{scenario}] Tell me something."
    return {
        "contents": [{"role": "user", "parts": [{"text": text}]}],
        "generationConfig": {"maxOutputTokens": 256},
    }


async def measure(clients: Clients, target: str, scenario: str, stream: bool) -> float:
    """Seconds to the first text (stream) or to the end of the body (non-stream)."""
    if target == "direct":
        method = "streamGenerateContent?alt=sse" if stream else "generateContent"
        url = f"{clients.emulator_url}/v1beta/models/{UPSTREAM_MODEL}:{method}"
        client, body = clients.client_of(target), gemini_body(scenario)
        headers = {"x-goog-api-key": UPSTREAM_KEY}
        marker = b'"text"'
    else:
        url = clients.proxy_of(target)[0] + "/v1/messages"
        client, body = clients.client_of(target), anthropic_body(scenario, stream)
        headers = {
            "x-api-key": PROXY_KEY,
            "x-compatkit-flags": ARM_FLAGS[target],
            "x-compatkit-admin-key": ADMIN_KEY,
        }
        marker = b"event: content_block_delta"
    started = time.perf_counter()
    async with client.stream("POST", url, json=body, headers=headers) as response:
        if response.status_code != 200:
            raise RuntimeError(f"{target}: HTTP {response.status_code}: {await response.aread()!r}")
        if not stream:
            await response.aread()
            return time.perf_counter() - started
        first: float | None = None
        async for chunk in response.aiter_raw():
            if first is None and marker in chunk:
                first = time.perf_counter() - started
        if first is None:
            raise RuntimeError(f"{target}: no text in the stream")
        return first


# --- runs ------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


async def sequential(
    clients: Clients, n: int, stream: bool, rng: random.Random
) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Latency samples per target, and the proxy's CPU seconds spent per target."""
    targets = clients.targets
    samples: dict[str, list[float]] = {t: [] for t in targets}
    cpu = dict.fromkeys(targets, 0.0)
    for target in targets:  # warm-up: connections, caches
        for _ in range(5):
            await measure(clients, target, "small", stream)
    for _ in range(n):
        order = list(targets)
        rng.shuffle(order)
        for target in order:
            pid = clients.proxy_of(target)[1]
            before = cpu_seconds(pid)
            samples[target].append(await measure(clients, target, "small", stream))
            cpu[target] += cpu_seconds(pid) - before
    return samples, cpu


@contextmanager
def client_cpu_share(shares: list[float]) -> Iterator[None]:
    """Append this process's CPU share over the block (CPU seconds ÷ wall seconds) to
    `shares`: near 1.0 the measuring client itself is the bottleneck (one core)."""
    cpu, wall = time.process_time(), time.perf_counter()
    yield
    shares.append((time.process_time() - cpu) / (time.perf_counter() - wall))


async def burst(
    clients: Clients, rounds: int, concurrency: int, rng: random.Random
) -> tuple[dict[str, list[float]], dict[str, float], dict[str, float]]:
    """TTFT samples per target of `concurrency` unpaced streams sent at the same instant, the
    proxy's CPU seconds, and the client's highest CPU share of a block; round 0 warms up and
    is discarded."""
    targets = clients.targets
    samples: dict[str, list[float]] = {t: [] for t in targets}
    cpu = dict.fromkeys(targets, 0.0)
    client_shares: dict[str, list[float]] = {t: [] for t in targets}
    for round_number in range(rounds + 1):
        order = list(targets)
        rng.shuffle(order)
        for target in order:
            pid = clients.proxy_of(target)[1]
            before = cpu_seconds(pid)
            with client_cpu_share(client_shares[target]):
                results = await asyncio.gather(
                    *[measure(clients, target, "long", True) for _ in range(concurrency)]
                )
            if round_number > 0:  # round 0 warms up
                samples[target].extend(results)
                cpu[target] += cpu_seconds(pid) - before
    return samples, cpu, {t: max(shares[1:]) for t, shares in client_shares.items()}


@dataclass
class Stream:
    """One stream of a steady block; times in seconds from the block's start."""

    started: float
    ended: float
    ttft: float


async def steady_client(
    clients: Clients, target: str, offset: float, block_start: float, seconds: float
) -> list[Stream]:
    """One closed-loop client of a steady block: sleeps `offset`, then runs paced streams back
    to back; a stream that starts before `seconds` into the block runs to its end."""
    await asyncio.sleep(offset)
    streams: list[Stream] = []
    while (started := time.perf_counter() - block_start) < seconds:
        ttft = await measure(clients, target, "paced", True)
        streams.append(Stream(started, time.perf_counter() - block_start, ttft))
    return streams


def in_flight(streams: list[Stream], window_start: float, window_end: float) -> float:
    """Mean number of streams in flight over [window_start, window_end]: the time each stream
    spent inside the window, summed, divided by the window's length."""
    busy = sum(
        max(0.0, min(stream.ended, window_end) - max(stream.started, window_start))
        for stream in streams
    )
    return busy / (window_end - window_start)


async def steady(
    clients: Clients,
    rounds: int,
    concurrency: int,
    seconds: float,
    rng: random.Random,
    *,
    stream_seconds: float,
) -> tuple[dict[str, list[float]], dict[str, float], dict[str, float], dict[str, float]]:
    """TTFT samples per target with `concurrency` paced streams in flight at all times, the
    proxy's CPU seconds, the mean concurrency achieved per target, and the client's highest
    CPU share of a block (as in `burst`).

    Per round, the targets in a shuffled order, one block of `seconds` each: `concurrency`
    clients (`steady_client`), client i starting after offsets[i], drawn uniformly within one
    stream's nominal duration (`stream_seconds` = chunks × itl) once per round, so every target
    of a round sees the same schedule. Each client's first stream is discarded: it is the
    staggered ramp-up, and once every client has finished it the load is steady. The proxy's
    CPU of a block is divided by every stream completed in it (discarded ones included) and
    counted for the kept ones, so `summarise` reports CPU per stream. The achieved concurrency
    is `in_flight` over the steady part of the block, [stream_seconds, seconds], averaged over
    rounds. Round 0 warms up and is discarded.
    """
    targets = clients.targets
    samples: dict[str, list[float]] = {t: [] for t in targets}
    cpu = dict.fromkeys(targets, 0.0)
    achieved: dict[str, list[float]] = {t: [] for t in targets}
    client_shares: dict[str, list[float]] = {t: [] for t in targets}
    for round_number in range(rounds + 1):
        offsets = [rng.uniform(0, stream_seconds) for _ in range(concurrency)]
        order = list(targets)
        rng.shuffle(order)
        for target in order:
            pid = clients.proxy_of(target)[1]
            before = cpu_seconds(pid)
            block_start = time.perf_counter()
            with client_cpu_share(client_shares[target]):
                per_client = await asyncio.gather(
                    *[steady_client(clients, target, o, block_start, seconds) for o in offsets]
                )
            block_cpu = cpu_seconds(pid) - before
            if round_number == 0:  # round 0 warms up
                continue
            completed = [stream for streams in per_client for stream in streams]
            kept = [stream for streams in per_client for stream in streams[1:]]
            samples[target].extend(stream.ttft for stream in kept)
            cpu[target] += block_cpu * len(kept) / len(completed)
            achieved[target].append(in_flight(completed, stream_seconds, seconds))
    mean_achieved = {t: sum(values) / len(values) for t, values in achieved.items()}
    return samples, cpu, mean_achieved, {t: max(v[1:]) for t, v in client_shares.items()}


def summarise(
    measured: tuple[dict[str, list[float]], dict[str, float]],
    achieved_concurrency: dict[str, float] | None = None,
    client_cpu: dict[str, float] | None = None,
) -> dict[str, Any]:
    """p50/p99 per target (ms), the proxy's CPU ms per request, and each proxy arm's
    overhead over direct; with the steady run's `achieved_concurrency` and the concurrent
    runs' `client_cpu` (highest share of a block), those too per target."""
    samples, cpu = measured
    summary: dict[str, Any] = {}
    for target, values in samples.items():
        summary[target] = {
            "n": len(values),
            "p50_ms": percentile(values, 50) * 1000,
            "p99_ms": percentile(values, 99) * 1000,
            "proxy_cpu_ms_per_request": cpu[target] * 1000 / len(values),
        }
        if achieved_concurrency is not None:
            summary[target]["achieved_concurrency"] = achieved_concurrency[target]
        if client_cpu is not None:
            summary[target]["client_cpu_share"] = client_cpu[target]
    arms = [target for target in samples if target != "direct"]
    for arm in arms:
        summary[f"overhead_{arm}"] = {
            "p50_ms": summary[arm]["p50_ms"] - summary["direct"]["p50_ms"],
            "p99_ms": summary[arm]["p99_ms"] - summary["direct"]["p99_ms"],
        }
    summary["h1_over_h2pool_p50"] = summary["h1"]["p50_ms"] / summary["h2pool"]["p50_ms"]
    for arm in ("h1", "h2pool"):
        if f"base_{arm}" in samples:  # this tree ÷ the baseline tree, per percentile
            summary[f"{arm}_over_base_{arm}"] = {
                q: summary[arm][q] / summary[f"base_{arm}"][q] for q in ("p50_ms", "p99_ms")
            }
    return summary


async def run(
    args: argparse.Namespace,
    proxies: list[tuple[str, int]],
    emulator_url: str,
    ca: Path,
) -> dict[str, Any]:
    """`proxies`: this tree's proxy, then the baseline tree's when there is one."""
    rng = random.Random(args.seed)
    verify = ssl.create_default_context(cafile=str(ca))
    async with contextlib.AsyncExitStack() as stack:
        proxy = await stack.enter_async_context(measuring_client(args.concurrency, http2=False))
        direct = await stack.enter_async_context(
            measuring_client(args.concurrency, http2=True, verify=verify)
        )
        (proxy_url, proxy_pid), *baseline = proxies
        clients = Clients(proxy, direct, proxy_url, emulator_url, proxy_pid)
        if baseline:
            clients.base_url, clients.base_pid = baseline[0]
            clients.base_proxy = await stack.enter_async_context(
                measuring_client(args.concurrency, http2=False)
            )
        results = {
            "sequential_non_stream_e2e": summarise(
                await sequential(clients, args.sequential, False, rng)
            ),
            "sequential_stream_ttft": summarise(
                await sequential(clients, args.sequential, True, rng)
            ),
        }
        shape = f"{args.concurrency}x{args.chunks}"
        if not args.skip_burst:
            samples, cpu, client_cpu = await burst(clients, args.rounds, args.concurrency, rng)
            results[f"burst_{shape}_ttft"] = summarise((samples, cpu), None, client_cpu)
        samples, cpu, achieved, client_cpu = await steady(
            clients,
            args.rounds,
            args.concurrency,
            args.steady_seconds,
            rng,
            stream_seconds=paced_stream_seconds(args),
        )
        results[f"steady_{shape}_ttft"] = summarise((samples, cpu), achieved, client_cpu)
        return results


def measuring_client(
    concurrency: int, *, http2: bool, verify: ssl.SSLContext | bool = True
) -> httpx.AsyncClient:
    """The client that measures, on the same transport as the proxy's upstream client (the
    loop's own sockets, asyncio locks; `server.upstream.network`). With httpx's default
    (anyio) transport the client's pool checks every idle connection with a syscall on each
    request (encode/httpx#3215) and at 64 streams the client saturated its core and measured
    itself: TTFT p99 of seconds in blocks where its CPU share reached 1.0."""
    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency)
    transport = pool_transport(http2=http2, limits=limits, verify=verify)
    return httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(60.0))


def paced_stream_seconds(args: argparse.Namespace) -> float:
    """The nominal duration of one paced stream: chunks × the gap between chunks."""
    return args.chunks * args.itl_ms / 1000


CLIENT_SATURATED = 0.85
"""A block where the measuring client used more of its core than this measured the client
too (benchmarking.md §4.9.7): its figures are reported as inconclusive."""


def report(results: dict[str, Any]) -> str:
    """The results as a table; `in flight` is the steady run's achieved mean concurrency,
    `client CPU` the measuring client's highest share of one core in a block."""
    header = f"{'run':<30}{'target':<22}{'p50 ms':>9}{'p99 ms':>9}{'proxy CPU ms':>14}"
    lines = [header + f"{'in flight':>11}{'client CPU':>12}"]
    saturated: list[str] = []
    for name, summary in results.items():
        arms = [t for t in (*TARGETS, *BASELINE_TARGETS) if t in summary and t != "direct"]
        for target in ("direct", *arms, *[f"overhead_{arm}" for arm in arms]):
            row = summary[target]
            cpu = row.get("proxy_cpu_ms_per_request")
            cpu_text = f"{cpu:>14.3f}" if cpu is not None and target != "direct" else " " * 14
            concurrency = row.get("achieved_concurrency")
            in_flight_text = f"{concurrency:>11.1f}" if concurrency is not None else " " * 11
            share = row.get("client_cpu_share")
            share_text = f"{share:>12.0%}" if share is not None else ""
            if share is not None and share > CLIENT_SATURATED:
                saturated.append(f"{name} {target}")
            line = f"{name:<30}{target:<22}{row['p50_ms']:>9.3f}{row['p99_ms']:>9.3f}"
            lines.append((line + cpu_text + in_flight_text + share_text).rstrip())
        lines.append(f"{name:<30}{'h1/h2pool p50':<22}{summary['h1_over_h2pool_p50']:>9.2f}")
        for arm in ("h1", "h2pool"):
            ratio = summary.get(f"{arm}_over_base_{arm}")
            if ratio is not None:
                label = f"{arm}/base_{arm}"
                lines.append(f"{name:<30}{label:<22}{ratio['p50_ms']:>9.2f}{ratio['p99_ms']:>9.2f}")
    if saturated:
        lines.append(
            f"INCONCLUSIVE (the client used over {CLIENT_SATURATED:.0%} of a core in a block): "
            + ", ".join(saturated)
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sequential", type=int, default=300, help="requests per target per mode")
    parser.add_argument("--rounds", type=int, default=10, help="burst and steady rounds")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--chunks", type=int, default=50, help="chunks per concurrent stream")
    parser.add_argument(
        "--itl-ms", type=float, default=20.0, help="gap between chunks of a steady stream"
    )
    parser.add_argument(
        "--steady-seconds", type=float, default=3.0, help="length of one steady block"
    )
    parser.add_argument("--skip-burst", action="store_true", help="leave the burst run out")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--baseline-root", type=Path, help="also measure the proxy of this tree")
    args = parser.parse_args(argv)
    if args.steady_seconds <= paced_stream_seconds(args):
        parser.error("--steady-seconds must exceed one stream's duration, chunks × itl")
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="compatkit-bench-")))
        emulator_url, ca = stack.enter_context(emulator_process(args.chunks, workdir, args.itl_ms))
        proxies = [stack.enter_context(proxy_process(emulator_url, ca))]
        if args.baseline_root is not None:
            root = args.baseline_root.resolve()
            proxies.append(stack.enter_context(proxy_process(emulator_url, ca, root)))
        results = uvloop.run(run(args, proxies, emulator_url, ca))
    print(report(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

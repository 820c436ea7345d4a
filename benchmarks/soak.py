"""A bounded soak of `compatkit serve` (issue 17): RSS and descriptor growth under mixed load.

    flock /tmp/compatkit-bench.lock .venv/bin/python -m benchmarks.soak \
        [--seconds 90] [--streams 50] [--hang-ups 0.05] [--max-rss-growth 10] [--json FILE]
    (CI's bounded run: --seconds 60; the recorded long run: --seconds 1800; a short variant
    runs in the suite: benchmarks/test_soak.py)

`--streams` clients (asyncio, one HTTP/1.1 connection each, httpx) send Anthropic Messages to
one `compatkit serve` process (shipped defaults, 2 upstream keys) in front of the emulator as
its own process (granian), back to back for `--seconds`:
    normal   ~75 %  a streamed short chat (default scenario) or, one in four, a JSON body;
                    each must be a 200 that ends as it should (message_stop / stop_reason)
    fault    ~20 %  an emulator fault that leaves credentials in rotation: a stream dropped
                    after 2 chunks, a malformed chunk, 20 % flaky 503s, a 500, a malformed
                    function call, a blocked prompt; any answer is fine, a hang is not
    hang-up  `--hang-ups`  a long stream the client abandons after its first bytes
Every second the proxy's RSS and open descriptors are sampled (/proc). Reported: the
requests by kind and outcome (a fault's by scenario and status), RSS after the warm-up (the
first fifth) and at the end (growth in %), descriptors idle before the load, at the end of the
load, and after it settled (polled until back to the idle count, at most 30 s), and the
verdict: exit status 1, with the reasons, if a normal request failed, a fault request got no
answer (a transport error: beyond what its scenario does, which is answered by the proxy as an
error or a stream's error event), a hang-up got no first bytes, RSS grew more than
`--max-rss-growth` % after the warm-up, or the descriptors did not return to the idle count.
Figures taken while other work runs are directional.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from benchmarks.retry_interplay import PROXY_KEY, proxy_process
from conformance.emulator.testing import emulator_process
from loadtests._common._resources import rss_bytes

ROOT = Path(__file__).resolve().parents[1]
FAULTS = (
    "drop_after_2",
    "malformed_chunk",
    "flaky",
    "internal_error",
    "malformed_function_call",
    "blocked_prompt",
)
"""Emulator scenarios whose faults do not cool a credential down (a 429 or 503 with a long
RetryInfo would, and then normal requests fail for the scenario's sake, not the proxy's)."""
SETTLE_CAP_S = 30.0


@dataclass
class Tally:
    """What the clients saw, by kind; the failures of normal requests, with their reason."""

    outcomes: Counter[str] = field(default_factory=Counter)
    normal_failures: list[str] = field(default_factory=list)
    faults_unanswered: list[str] = field(default_factory=list)


async def one_request(client: httpx.AsyncClient, rng: random.Random, hang_ups: float) -> str:
    """One request of a kind drawn by `rng`; its outcome as `kind:result`."""
    draw = rng.random()
    if draw < hang_ups:
        body = _body("long_text", stream=True)
        try:
            async with client.stream("POST", "/v1/messages", json=body) as response:
                async for _ in response.aiter_raw():
                    break  # leaving the block closes the connection mid-stream
        except httpx.TransportError as exc:
            raise NormalFailure(f"hang-up request, before its first bytes: {exc!r}") from exc
        return "hang_up:left"
    if draw < hang_ups + 0.20:
        scenario = rng.choice(FAULTS)
        stream = rng.random() < 0.75
        try:
            async with client.stream("POST", "/v1/messages", json=_body(scenario, stream)) as r:
                await r.aread()
            return f"fault:{scenario}:{r.status_code}"
        except httpx.TransportError as exc:
            raise FaultUnanswered(f"fault {scenario}, stream={stream}: {exc!r}") from exc
    stream = rng.random() < 0.75
    try:
        async with client.stream("POST", "/v1/messages", json=_body("default", stream)) as r:
            text = (await r.aread()).decode("utf-8", "replace")
    except httpx.TransportError as exc:
        raise NormalFailure(f"normal request, stream={stream}: {exc!r}") from exc
    response = r
    ended = "event: message_stop" in text if stream else '"stop_reason":"end_turn"' in text
    if response.status_code != 200 or not ended:
        raise NormalFailure(f"{response.status_code} stream={stream}: {text[-200:]!r}")
    return "normal:ok"


class NormalFailure(Exception):
    """A request with no fault in it did not end as it should."""


class FaultUnanswered(Exception):
    """A fault request ended in a transport error: the proxy left it unanswered."""


def _body(scenario: str, stream: bool) -> dict[str, object]:
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 256,
        "stream": stream,
        "messages": [{"role": "user", "content": f"[scenario:{scenario}] hello"}],
    }


async def client_loop(url: str, seed: int, until: float, hang_ups: float, tally: Tally) -> None:
    rng = random.Random(seed)
    headers = {"x-api-key": PROXY_KEY, "anthropic-version": "2023-06-01"}
    timeout = httpx.Timeout(60.0)
    while time.monotonic() < until:
        # a fresh client after a hang-up: the abandoned connection is not reused
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=timeout) as client:
            while time.monotonic() < until:
                try:
                    outcome = await one_request(client, rng, hang_ups)
                except NormalFailure as exc:
                    tally.normal_failures.append(str(exc))
                    outcome = "normal:failed"
                except FaultUnanswered as exc:
                    tally.faults_unanswered.append(str(exc))
                    outcome = "fault:unanswered"
                except httpx.TransportError as exc:
                    tally.normal_failures.append(repr(exc))
                    outcome = "normal:failed"
                tally.outcomes[outcome] += 1
                if outcome == "hang_up:left":
                    break


def descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def proxy_pid(port: int) -> int:
    """The `compatkit serve` process listening on `port` (a child of this one)."""
    inode = _listening_inode(port)
    for pid in (int(p) for p in os.listdir("/proc") if p.isdigit()):
        try:
            links = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
        except OSError:
            continue
        if f"socket:[{inode}]" in links:
            return pid
    raise RuntimeError(f"no process listens on {port}")


def _listening_inode(port: int) -> str:
    with open("/proc/net/tcp") as table:
        for line in list(table)[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":
                return fields[9]
    raise RuntimeError(f"nothing listens on {port}")


@dataclass(frozen=True)
class Load:
    """How hard to soak: `streams` clients for `seconds`, `hang_ups` the share of abandoned streams."""

    seconds: float = 90.0
    streams: int = 50
    hang_ups: float = 0.05


async def soak(url: str, pid: int, load: Load) -> dict[str, object]:
    """Run `load` against the proxy at `url` (process `pid`); the figures of the module docstring."""
    idle_fds = descriptors(pid)
    started = time.monotonic()
    until = started + load.seconds
    tally = Tally()
    samples: list[tuple[float, int, int, float]] = []
    clients = [
        asyncio.create_task(client_loop(url, seed, until, load.hang_ups, tally))
        for seed in range(load.streams)
    ]
    while not all(c.done() for c in clients):
        now = time.monotonic() - started
        samples.append((now, rss_bytes([pid]), descriptors(pid), os.getloadavg()[0]))
        await asyncio.sleep(1.0)
    await asyncio.gather(*clients)
    end_fds = descriptors(pid)
    deadline = time.monotonic() + SETTLE_CAP_S
    while descriptors(pid) > idle_fds and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    warm = [rss for t, rss, _, _ in samples if t >= load.seconds / 5] or [samples[-1][1]]
    loads = sorted(sample[3] for sample in samples)
    return {
        "seconds": load.seconds,
        "streams": load.streams,
        "requests": sum(tally.outcomes.values()),
        "outcomes": dict(sorted(tally.outcomes.items())),
        "normal_failures": tally.normal_failures[:10],
        "normal_failure_count": len(tally.normal_failures),
        "faults_unanswered": tally.faults_unanswered[:10],
        "faults_unanswered_count": len(tally.faults_unanswered),
        "rss_mb_after_warmup": round(warm[0] / 2**20, 1),
        "rss_mb_peak": round(max(rss for _, rss, _, _ in samples) / 2**20, 1),
        "rss_mb_end": round(samples[-1][1] / 2**20, 1),
        "rss_growth_pct": round(100 * (samples[-1][1] - warm[0]) / warm[0], 1),
        "fds_idle_before": idle_fds,
        "fds_peak": max(fds for _, _, fds, _ in samples),
        "fds_end_of_load": end_fds,
        "fds_settled": descriptors(pid),
        "settled_within_s": round(time.monotonic() - (deadline - SETTLE_CAP_S), 1),
        "load_average_min_median_max": [
            round(x, 2) for x in (loads[0], loads[len(loads) // 2], loads[-1])
        ],
    }


def verdict(figures: dict[str, Any], max_rss_growth_pct: float) -> list[str]:
    """Why the soak failed (empty: it passed)."""
    reasons = []
    if figures["normal_failure_count"]:
        reasons.append(f"{figures['normal_failure_count']} normal requests failed")
    if figures["faults_unanswered_count"]:
        reasons.append(f"{figures['faults_unanswered_count']} fault requests got no answer")
    if figures["rss_growth_pct"] > max_rss_growth_pct:
        reasons.append(f"RSS grew {figures['rss_growth_pct']} % after the warm-up")
    if figures["fds_settled"] > figures["fds_idle_before"]:
        reasons.append(
            f"{figures['fds_settled']} descriptors {SETTLE_CAP_S:.0f} s after the load, "
            f"{figures['fds_idle_before']} before it"
        )
    return reasons


def run_soak(load: Load) -> dict[str, Any]:
    """`load` against a fresh `compatkit serve` (2 keys) in front of a fresh emulator process."""
    with emulator_process() as emulator, proxy_process(ROOT, emulator.base_url, 2) as url:
        pid = proxy_pid(int(url.rsplit(":", 1)[1]))
        return asyncio.run(soak(url, pid, load))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=90.0)
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--hang-ups", type=float, default=0.05, help="share of requests")
    parser.add_argument("--max-rss-growth", type=float, default=10.0, help="%% after warm-up")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    figures = run_soak(Load(args.seconds, args.streams, args.hang_ups))
    figures["load_average_before_after"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    figures["failed_because"] = verdict(figures, args.max_rss_growth)
    print(json.dumps(figures, indent=2))
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", "utf-8")
    return 1 if figures["failed_because"] else 0


if __name__ == "__main__":
    sys.exit(main())

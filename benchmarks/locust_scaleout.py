"""Locust master and workers against two proxy instances sharing one Redis (issue 14).

    flock /tmp/compatkit-bench.lock .venv/bin/python -m benchmarks.locust_scaleout \
        [--seconds 5] [--users 16] [--workers 2] [--max-in-flight 8] [--out DIR]

Starts on 127.0.0.1, and stops at the end in every case: a real redis-server, `compatkit
emulate`, two `compatkit serve` instances on that Redis (the same three credentials, with
upstream.max_in_flight: every credential lease goes through Redis), a round-robin TCP relay in
front of them (tests.server.state.tcp_relay: the load balancer; each Locust user keeps its
connection, so users spread over both instances) and `locust -f loadtests --headless` as a
master with N local workers, `-t` seconds against the relay: the run stops by itself.

Prints the requests each instance counted (its GET /metrics), and from the master's result
file (results-v1, every worker's samples): requests, failures, requests per second, TTFT and
E2E p50 / p99, and the most leases Redis held on one credential (sampled every 10 ms).
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import redis

import result_format
from conformance.emulator.testing import emulator_process, stop_process_group
from loadtests._common import percentile
from tests.loadtests.locust.stack import (
    PROXY_KEY,
    free_port,
    locust_command,
    locust_process,
    run_locust,
)
from tests.server.state.redis_server import RedisServer
from tests.server.state.serve_process import proxy_env, running_instances
from tests.server.state.tcp_relay import Relay

PREFIX = "locust:"


@dataclass(frozen=True)
class Figures:
    """What one run measured."""

    locust_status: int
    requests: int
    failures: int
    seconds: float
    per_instance: tuple[float, ...]
    ttft_ms: tuple[float | None, float | None]  # p50, p99
    e2e_ms: tuple[float | None, float | None]
    most_leases: int  # the most live leases Redis held on one credential at a sample
    locust_output: str

    def lines(self) -> list[str]:
        def ms(pair: tuple[float | None, float | None]) -> str:
            return " / ".join("-" if v is None else f"{v:.1f}" for v in pair)

        return [
            f"locust exit status {self.locust_status}; {self.requests} requests, "
            f"{self.failures} failed, {self.requests / self.seconds:.1f} requests/s",
            "requests per instance (its /metrics): "
            + ", ".join(f"{n:.0f}" for n in self.per_instance),
            f"TTFT p50 / p99 {ms(self.ttft_ms)} ms; E2E p50 / p99 {ms(self.e2e_ms)} ms",
            f"most leases on one credential in Redis: {self.most_leases}",
        ]


def served(url: str) -> float:
    """Generation requests an instance counted (every status)."""
    total = 0.0
    for line in httpx.get(url + "/metrics").text.splitlines():
        if line.startswith("compatkit_requests_total{") and '"/v1/' in line:
            total += float(line.split()[-1])
    return total


@contextlib.contextmanager
def lease_sampler(redis_url: str) -> Iterator[list[int]]:
    """The largest live lease count of any credential, sampled until the block ends."""
    peak = [0]
    done = threading.Event()
    client = redis.Redis.from_url(redis_url)

    def sample() -> None:
        while not done.wait(0.01):
            now = repr(time.time())
            for key in client.scan_iter(PREFIX + "lease:*"):
                peak[0] = max(peak[0], int(client.zcount(key, f"({now}", "+inf")))

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        done.set()
        thread.join()
        client.close()


def run(seconds: int, users: int, workers: int, max_in_flight: int, workdir: Path) -> Figures:
    """One bounded run of the whole stack (see the module docstring)."""
    with (
        RedisServer(workdir) as redis_server,
        emulator_process() as emulator,
    ):
        env = {
            **proxy_env(emulator, redis_server.url, PREFIX),
            "COMPATKIT_PROXY_KEYS": PROXY_KEY,
            "COMPATKIT_MAX_IN_FLIGHT": str(max_in_flight),
        }
        with running_instances(env, log_dir=workdir) as urls:
            ports = [int(url.rsplit(":", 1)[1]) for url in urls]
            master_port = free_port()
            command = locust_command("--worker", "--master-port", str(master_port))
            locust_workers = [locust_process(command, workdir) for _ in range(workers)]
            try:
                with Relay(*ports) as relay, lease_sampler(redis_server.url) as peak:
                    locust = run_locust(
                        workdir, f"http://127.0.0.1:{relay.port}",
                        "--master", "--master-bind-port", str(master_port),
                        "--expect-workers", str(workers), "--expect-workers-max-wait", "60",
                        "-u", str(users), "-r", str(users), "-t", f"{seconds}s",
                        "--compatkit-mix", "anthropic=1,openai=1",
                        timeout_s=seconds + 120,
                    )  # fmt: skip
            finally:
                for worker in locust_workers:
                    with contextlib.suppress(Exception):
                        worker.wait(timeout=20)  # the master tells them to quit
                    stop_process_group(worker)
            per_instance = tuple(served(url) for url in urls)
    samples = [s for b in result_format.load(workdir / "results.json")["blocks"]
               for s in b["samples"]]  # fmt: skip
    ok = [s for s in samples if s["error"] is None]
    ttft = [s["ttft_ms"] for s in ok if s.get("ttft_ms") is not None]
    e2e = [s["e2e_ms"] for s in ok if s.get("e2e_ms") is not None]
    return Figures(
        locust_status=locust.status,
        requests=len(samples),
        failures=len(samples) - len(ok),
        seconds=float(seconds),
        per_instance=per_instance,
        ttft_ms=(percentile(ttft, 50), percentile(ttft, 99)),
        e2e_ms=(percentile(e2e, 50), percentile(e2e, 99)),
        most_leases=peak[0],
        locust_output=locust.output,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5, help="Locust's -t (default 5)")
    parser.add_argument("--users", type=int, default=16, help="Locust users (default 16)")
    parser.add_argument("--workers", type=int, default=2, help="Locust workers (default 2)")
    parser.add_argument(
        "--max-in-flight", type=int, default=8, help="upstream.max_in_flight (default 8)"
    )
    parser.add_argument("--out", type=Path, help="where logs and the result file go")
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="compatkit-locust-scaleout-"))
    out.mkdir(parents=True, exist_ok=True)
    figures = run(args.seconds, args.users, args.workers, args.max_in_flight, out)
    print("\n".join([*figures.lines(), f"(results: {out / 'results.json'})"]))
    return 0 if figures.locust_status == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""Retries multiplied: the proxy's retries and a default SDK client's, against a long 429.

    .venv/bin/python benchmarks/retry_interplay.py [--keys 1] [--scenario rate_limited]
        [--baseline-root DIR] [--json results.json]

One `[scenario:rate_limited]` request (the emulator answers every call 429
RESOURCE_EXHAUSTED with a 26 s RetryInfo) from a default `anthropic.Anthropic()` client: its
own retries (2, honouring `retry-after` up to 60 s) on top of the proxy's. Measured per arm of
`ff_retry_policy_v2` (chosen per request with the admin-authorised `x-compatkit-flags`
header): the wall time until the SDK raises `RateLimitError`, the client's attempts, and the
upstream calls the emulator saw. The proxy runs with the shipped retry defaults (v1: 5
attempts 1 s apart; v2: 12 s cap, 60 s deadline) and `--keys` upstream keys (1 is the demo
mode's).

`--baseline-root DIR` (a checkout of an earlier commit, e.g. `git worktree add /tmp/base
<commit>`) adds the proxy of that tree, so before and after are measured in one run. Every
target has its own emulator and proxy and they all run at once: the time is the clients'
sleeps, not CPU, so running them side by side changes nothing but the wall clock of the run
(about 65 s). Figures are the whole story of one request each, not a distribution: run it
again to see they repeat.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import anthropic
import httpx

from conformance.emulator.testing import RunningEmulator, running_emulator

ROOT = Path(__file__).resolve().parents[1]

PROXY_KEY = "bench-proxy-key"
ADMIN_KEY = "bench-admin-key"
ARMS = {"v1": "ff_retry_policy_v2=off", "v2": "ff_retry_policy_v2=on"}


@dataclass
class Outcome:
    """What one client request cost: the tree and arm it ran on, and the figures."""

    tree: str
    arm: str
    seconds: float
    client_attempts: int
    upstream_calls: int
    error: str


@contextmanager
def proxy_process(root: Path, upstream_url: str, keys: int) -> Iterator[str]:
    """`compatkit serve` from the tree at `root`, shipped defaults, in front of `upstream_url`."""
    env = {
        **os.environ,
        "PYTHONPATH": str(root),
        "COMPATKIT_PROXY_KEYS": PROXY_KEY,
        "COMPATKIT_ADMIN_KEY": ADMIN_KEY,
        "COMPATKIT_API_KEYS": ",".join(f"emulator-key-{i}" for i in range(keys)),
        "COMPATKIT_GEMINI_BASE_URL": upstream_url,
        "COMPATKIT_STATE_PATH": ":memory:",
    }
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "compat_cli", "serve", "--port", str(port), "--log-level", "error"],
        cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the proxy of {root} did not start")
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def one_request(
    tree: str, arm: str, scenario: str, proxy_url: str, emulator: RunningEmulator
) -> Outcome:
    """A default SDK client's request, until it gives up; what it cost."""
    attempts = 0

    def count(request: httpx.Request) -> None:
        nonlocal attempts
        attempts += 1

    client = anthropic.Anthropic(
        base_url=proxy_url,
        api_key=PROXY_KEY,
        default_headers={"x-compatkit-flags": ARMS[arm], "x-compatkit-admin-key": ADMIN_KEY},
        http_client=anthropic.DefaultHttpxClient(event_hooks={"request": [count]}),
    )
    before = len(emulator.requests())
    started = time.monotonic()
    error = "none"
    try:
        client.messages.create(
            model="claude-sonnet-4-5",
            max_tokens=64,
            messages=[{"role": "user", "content": f"[scenario:{scenario}] hello"}],
        )
    except anthropic.APIStatusError as exc:
        error = f"{exc.status_code} {type(exc).__name__}"
    seconds = time.monotonic() - started
    return Outcome(tree, arm, seconds, attempts, len(emulator.requests()) - before, error)


def measure(
    tree: str, root: Path, arm: str, scenario: str, keys: int, results: list[Outcome]
) -> None:
    with running_emulator() as emulator, proxy_process(root, emulator.base_url, keys) as url:
        results.append(one_request(tree, arm, scenario, url, emulator))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=1, help="upstream API keys (default 1)")
    parser.add_argument("--scenario", default="rate_limited", help="emulator scenario")
    parser.add_argument("--baseline-root", type=Path, help="also measure the proxy of this tree")
    parser.add_argument("--json", type=Path, help="write the outcomes here")
    args = parser.parse_args()
    trees = {"this": ROOT}
    if args.baseline_root is not None:
        trees["baseline"] = args.baseline_root.resolve()
    print(f"load average before: {os.getloadavg()[0]:.2f}", flush=True)
    results: list[Outcome] = []
    threads = [
        threading.Thread(target=measure, args=(tree, root, arm, args.scenario, args.keys, results))
        for tree, root in trees.items()
        for arm in ARMS
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print(f"\n[scenario:{args.scenario}], {args.keys} key(s), a default anthropic.Anthropic()")
    print(f"{'tree':<10}{'arm':<5}{'seconds':>9}{'client attempts':>17}{'upstream calls':>16}")
    for r in sorted(results, key=lambda r: (r.arm, r.tree != "baseline")):
        figures = f"{r.seconds:>9.1f}{r.client_attempts:>17}{r.upstream_calls:>16}"
        print(f"{r.tree:<10}{r.arm:<5}{figures}  {r.error}")
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2))


if __name__ == "__main__":
    main()

"""How many streams per second one Locust core sustains with compatkit's users (issue 9).

    flock /tmp/compatkit-bench.lock .venv/bin/python benchmarks/locust_capacity.py \
        [--seconds 20] [--users 32,1500] [--json FILE]

A canned Anthropic stream server in its own process (asyncio + uvloop: message_start, 12
text deltas, message_delta, message_stop, 1.9 KB, answered at once) stands in for the proxy,
so the only work measured is Locust's. Two arms per user count, one after the other:
    compatkit   `locust -f loadtests --headless --compatkit-mix anthropic=1` (the streaming
                user, 0.5-1.5 s think time): each reply metered as it arrives, reported as
                E2E/TTFB/TTFT/ITL/TPOT rows, raw samples kept (--compatkit-results)
    plain       the baseline: a bare FastHttpUser posting the same body with Locust's own
                client (the body read whole, one POST row), the same think time
Per arm: streams completed per second, Locust's CPU share (user + system seconds of its
process over its wall time, start-up included; 1.0 = one core), streams per CPU-second (what
one worker core sustains), and whether Locust's CPU warning (> 90 %) fired. 32 users is the
default load of docs/locust.md; the larger count saturates the core.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.runner_client import _NoOpServer  # noqa: E402  (the same canned stream)


def serve(port_file: Path) -> None:
    """Answer every request on a free port with the canned stream (runner_client's no-op
    server, in a process of its own here); write the port to `port_file`."""
    import uvloop

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # a connection per Locust user
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_NoOpServer, "127.0.0.1", 0, backlog=1024)
        port_file.write_text(str(server.sockets[0].getsockname()[1]))
        async with server:
            await server.serve_forever()

    uvloop.run(main())


PLAIN_LOCUSTFILE = """
from locust import FastHttpUser, between, task
from loadtests._common import request_body, request_headers, workload

_CHAT = workload("small_chat")
_BODY, _HEADERS = request_body(_CHAT), request_headers(_CHAT, "sk-bench")


class PlainStreamingUser(FastHttpUser):
    wait_time = between(0.5, 1.5)

    @task
    def small_chat(self) -> None:
        self.client.post("/v1/messages", data=_BODY, headers=_HEADERS)
"""


def measure(url: str, arm: str, users: int, seconds: int, workdir: Path) -> dict[str, Any]:
    """One headless Locust run of `arm`; its streams, CPU and warnings."""
    stats = workdir / f"{arm}-{users}"
    if arm == "compatkit":
        target = [str(ROOT / "loadtests"), "--compatkit-mix", "anthropic=1",
                  "--compatkit-results", str(workdir / f"results-{users}.json")]  # fmt: skip
        row = "E2E"
    else:
        (workdir / "plain_locustfile.py").write_text(PLAIN_LOCUSTFILE)
        target, row = [str(workdir / "plain_locustfile.py")], "POST"
    command = [sys.executable, "-m", "locust", "-f", *target, "--headless", "-u", str(users),
               "-r", str(max(8, users // 4)), "-t", f"{seconds}s", "--host", url,
               "--json-file", str(stats), "--loglevel", "WARNING"]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)  # fmt: skip
    output, _ = process.communicate(timeout=seconds + 120)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    entries = json.loads(stats.with_suffix(".json").read_text())
    streams = sum(e["num_requests"] for e in entries if e["method"] == row)
    failures = sum(e["num_failures"] for e in entries if e["method"] == row)
    return {
        "arm": arm,
        "users": users,
        "exit_code": process.returncode,
        "streams": streams,
        "failures": failures,
        "streams_per_s": round(streams / seconds, 1),
        "cpu_share": round(cpu / wall, 3),
        "streams_per_cpu_s": round(streams / cpu, 1) if cpu else None,
        "cpu_warning": "CPU usage above" in output or "CPU usage was too high" in output,
        "load_average": [round(v, 2) for v in os.getloadavg()],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--users", default="32,1500", help="user counts, comma-separated")
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--serve", help=argparse.SUPPRESS)  # the server's own process
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve))
        return 0
    with tempfile.TemporaryDirectory(prefix="compatkit-locust-capacity-") as tmp:
        workdir, port_file = Path(tmp), Path(tmp) / "port"
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(port_file)])
        try:
            deadline = time.monotonic() + 30
            while not port_file.exists() or not port_file.read_text():
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the canned server did not start")
                time.sleep(0.05)
            url = f"http://127.0.0.1:{port_file.read_text()}"
            figures = []
            print(f"load average before: {os.getloadavg()}")
            for users in (int(u) for u in args.users.split(",")):
                for arm in ("compatkit", "plain"):
                    figures.append(measure(url, arm, users, args.seconds, workdir))
                    print(json.dumps(figures[-1]), flush=True)
        finally:
            server.terminate()
            server.wait(10)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Throughput of the emulator on ONE server core: non-stream requests/s and 20-chunk streams/s.

Usage: .venv/bin/python benchmarks/emulator_throughput.py [--rounds 3] [--seconds 8]
       [--servers granian,hypercorn,uvicorn]

Needs `wrk` (HTTP/1.1) and `h2load` (h2c prior knowledge), Debian packages `wrk` and
`nghttp2-client`; not run in CI. The emulator is pinned to core 1 and the load generator to core 0
with taskset; zero scripted latency. Each (server, protocol, shape) is measured `rounds` times,
interleaved, and the median is printed as a markdown table (for docs/performance.md).
The machine is shared: record the load average printed with the table.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BODY = b'{"contents":[{"role":"user","parts":[{"text":"hello there, how are you?"}]}]}'
MODEL_PATH = "/v1beta/models/gemini-2.5-flash"
SHAPES = {
    "non-stream": (f"{MODEL_PATH}:generateContent", "default"),
    "stream-20": (f"{MODEL_PATH}:streamGenerateContent?alt=sse", "bench_stream_20"),
}
CONNECTIONS = 16
H2_STREAMS_PER_CONNECTION = 10
SERVER_CORE, LOAD_CORE = "1", "0"


def start_server(server: str) -> tuple[subprocess.Popen[str], str]:
    command = [
        "taskset", "-c", SERVER_CORE, sys.executable, "-m", "conformance.emulator.serve",
        "--server", server, "--port", "0",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    match = re.match(r"emulator listening on (\S+)", process.stdout.readline())
    if match is None:
        process.kill()
        raise RuntimeError(f"{server} did not start")
    return process, match.group(1)


def wrk(url: str, scenario: str, seconds: int, script_dir: Path) -> float:
    script = script_dir / f"{scenario}.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = '{BODY.decode()}'\n"
        'wrk.headers["content-type"] = "application/json"\n'
        'wrk.headers["x-goog-api-key"] = "bench"\n'
        f'wrk.headers["x-emulator-scenario"] = "{scenario}"\n'
    )
    output = _run(["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "-s", str(script), url])
    if "Non-2xx" in output:
        raise RuntimeError(f"wrk saw errors:\n{output}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]


def h2load(url: str, scenario: str, seconds: int, script_dir: Path) -> float:
    body = script_dir / "body.json"
    body.write_bytes(BODY)
    output = _run(
        [
            "h2load", "-c", str(CONNECTIONS), "-m", str(H2_STREAMS_PER_CONNECTION),
            "-D", str(seconds), "-d", str(body),
            "-H", "content-type: application/json", "-H", "x-goog-api-key: bench",
            "-H", f"x-emulator-scenario: {scenario}", url,
        ]
    )  # fmt: skip
    failed = re.search(r"(\d+) failed", output)
    if failed is None or failed.group(1) != "0":
        raise RuntimeError(f"h2load saw errors:\n{output}")
    return float(re.search(r"finished in [\d.]+m?s, ([\d.]+) req/s", output).group(1))  # type: ignore[union-attr]


def _run(command: list[str]) -> str:
    return subprocess.run(
        ["taskset", "-c", LOAD_CORE, *command], capture_output=True, text=True, check=True
    ).stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--servers", default="granian,hypercorn,uvicorn")
    args = parser.parse_args()
    for tool in ("wrk", "h2load", "taskset"):
        if shutil.which(tool) is None:
            print(f"missing {tool}: apt-get install -y wrk nghttp2-client", file=sys.stderr)
            return 2
    servers = args.servers.split(",")
    results: dict[tuple[str, str, str], list[float]] = {}
    scratch = Path(os.environ.get("TMPDIR", "/tmp")) / "emulator-throughput"
    scratch.mkdir(exist_ok=True)
    load_before = os.getloadavg()
    for _ in range(args.rounds):
        for server in servers:
            process, base_url = start_server(server)
            try:
                for shape, (path, scenario) in SHAPES.items():
                    results.setdefault((server, "HTTP/1.1", shape), []).append(
                        wrk(base_url + path, scenario, args.seconds, scratch)
                    )
                    if server != "uvicorn":  # uvicorn has no HTTP/2
                        results.setdefault((server, "h2c", shape), []).append(
                            h2load(base_url + path, scenario, args.seconds, scratch)
                        )
            finally:
                process.terminate()
                process.wait(timeout=30)
    print(f"load average before {load_before}, after {os.getloadavg()}; {args.rounds} rounds")
    print("| server | protocol | shape | median req/s | rounds |")
    print("|---|---|---|---:|---|")
    for (server, protocol, shape), values in results.items():
        rounds = ", ".join(f"{v:.0f}" for v in values)
        print(f"| {server} | {protocol} | {shape} | {statistics.median(values):.0f} | {rounds} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
